"""What a notification says: value vs benchmark, week-ago value, window, top contributors,
runbook and a dashboard link at the incident's time range.

Contributors answer "where": for a KPI with a channel breakdown, each channel's change vs the
same window one week earlier, worst first, e.g. "paid_search -62%, others normal". A change
within ``NORMAL_CHANGE`` of last week counts as normal.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from alerts.benchmarks import Judgement
from alerts.kpi_values import dimension_key, format_kpi, kpi_value
from alerts.notification import Contributor, Kind, Notification
from alerts.rules import KPIS, Rule
from models.channels import Channel
from streams.windows import iso

NORMAL_CHANGE = 0.10
TOP_CONTRIBUTORS = 3


def contributors(rule: Rule, values: Counter, week_ago: Counter | None) -> list[Contributor]:
    """Channels by change vs one week earlier, worst (in the rule's direction) first."""
    if "channel" not in KPIS[rule.kpi]["dimensions"] or not week_ago:
        return []
    out = []
    for channel in Channel:
        now = kpi_value(values, rule.kpi, {"channel": channel})
        before = kpi_value(week_ago, rule.kpi, {"channel": channel})
        if now is None or not before:
            continue
        out.append(Contributor(label=str(channel), change=now / before - 1, value=now))
    sign = 1 if rule.condition == "below" else -1
    out.sort(key=lambda c: sign * c.change)
    return out[:TOP_CONTRIBUTORS]


def contributor_text(rule: Rule, found: list[Contributor]) -> str:
    if not found:
        return ""
    sign = 1 if rule.condition == "below" else -1
    moved = [c for c in found if sign * c.change < -NORMAL_CHANGE]
    if not moved:
        return "all channels within 10% of last week"
    text = ", ".join(f"{c.label} {c.change:+.0%}" for c in moved)
    return text + (", others normal" if len(moved) < len(Channel) else "")


def dashboard_url(grafana_url: str, rule: Rule, dimension: dict[str, str], from_ms: int,
                  to_ms: int) -> str:
    url = f"{grafana_url.rstrip('/')}/d/{rule.dashboard}?from={from_ms}&to={to_ms}"
    return url + "".join(f"&var-{k}={v}" for k, v in sorted(dimension.items()))


def compose(rule: Rule, kind: Kind, judgement: Judgement, incident: str, reminders: int,
            incident_start_ms: int, values: Counter, week_ago: Counter | None,
            grafana_url: str, now: datetime | None = None) -> Notification:
    window = judgement.window
    where = dimension_key(judgement.dimension)
    value = format_kpi(rule.kpi, judgement.value)
    threshold = format_kpi(rule.kpi, judgement.threshold)
    scope = "" if where == "all" else f" for {where}"
    found = contributors(rule, values, week_ago) if kind != "resolved" else []
    if kind == "resolved":
        summary = f"Resolved: {rule.kpi}{scope} is back at {value} (benchmark {threshold})"
    else:
        summary = (f"{rule.kpi}{scope} is {value}, {rule.condition} its benchmark {threshold}"
                   f" ({rule.for_windows} x {rule.window} window"
                   f"{'s' if rule.for_windows > 1 else ''})")
        if kind == "reminder":
            summary = f"Still firing: {summary}"
    extra = contributor_text(rule, found)
    if extra:
        summary += f"; {extra}"
    # A little context before the incident and up to the window just judged.
    before = (window.end_ms - window.start_ms) * 2
    return Notification(
        id=f"{incident}:{kind}:{reminders if kind == 'reminder' else 0}",
        incident_id=incident, kind=kind, rule=rule.name, severity=rule.severity, kpi=rule.kpi,
        dimension=dict(judgement.dimension), value=judgement.value,
        benchmark=judgement.threshold, condition=rule.condition, week_ago=judgement.week_ago,
        window_size=window.size, window_start=iso(window.start_ms), window_end=iso(window.end_ms),
        summary=summary, contributors=found, runbook_url=rule.runbook_url,
        dashboard_url=dashboard_url(grafana_url, rule, judgement.dimension,
                                    incident_start_ms - before, window.end_ms),
        created_at=(now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    )
