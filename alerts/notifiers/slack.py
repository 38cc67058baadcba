"""Slack incoming webhook: one Block Kit message per notification.

What an on-call person needs first is at the top: severity and KPI (header), the one-line
summary, the value against its benchmark and against one week earlier, the window, which
dimension values moved ("paid_search -62%, others normal"), then buttons to the dashboard and
the runbook. The top-level ``text`` is what Slack shows in notifications and previews.

Slack's limits are respected by construction (``fit``): at most 50 blocks, 3000 characters
per section text, 2000 per field, 150 per header, 75 per button label. Longer text is cut
with an ellipsis rather than rejected by Slack with ``invalid_blocks``, which would lose it.
"""

from __future__ import annotations

from datetime import datetime

from alerts.kpi_values import format_kpi
from alerts.notification import Contributor, Notification
from alerts.notifiers.base import HttpNotifier

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_FALLBACK_TEXT = 3000  # Slack truncates ``text`` at 40,000; a notification needs far less
MAX_CONTRIBUTORS = 10

HEADER_ICON = {"critical": "\U0001f534", "warning": "\U0001f7e0", "info": "\U0001f535"}


class SlackNotifier(HttpNotifier):
    # Slack: "no more than one message per second" per webhook; the outbox paces to this.
    min_interval = 1.0

    def render(self, notification: Notification) -> dict:
        return render(notification)


def render(n: Notification) -> dict:
    if n.kind == "digest":
        return render_digest(n)
    blocks = [
        {"type": "header", "text": plain(header(n), MAX_HEADER_TEXT)},
        {"type": "section", "text": mrkdwn(escape(n.summary or fallback_text(n)))},
        {"type": "section", "fields": [mrkdwn(f, MAX_FIELD_TEXT) for f in fields(n)]},
    ]
    if n.contributors:
        blocks.append({"type": "section",
                       "text": mrkdwn(f"*Contributing*\n{contributors_line(n.contributors, n.kpi)}")})
    buttons = [button(label, url) for label, url in
               (("Dashboard", n.dashboard_url), ("Runbook", n.runbook_url)) if is_link(url)]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    blocks.append({"type": "context", "elements": [mrkdwn(
        f"rule `{escape(n.rule)}` · incident `{escape(n.incident_id)}` · {escape(n.created_at)}")]})
    return {"text": clip(fallback_text(n), MAX_FALLBACK_TEXT), "blocks": fit(blocks)}


def render_digest(n: Notification) -> dict:
    lines = "\n".join(escape(line) for line in n.details) or "no goals"
    blocks = [{"type": "header", "text": plain(n.summary, MAX_HEADER_TEXT)},
              {"type": "section", "text": mrkdwn(lines)}]
    if is_link(n.dashboard_url):
        blocks.append({"type": "actions", "elements": [button("Dashboard", n.dashboard_url)]})
    blocks.append({"type": "context", "elements": [mrkdwn(f"`{escape(n.rule)}` \u00b7 "
                                                          f"{escape(n.created_at)}")]})
    return {"text": clip(fallback_text(n), MAX_FALLBACK_TEXT), "blocks": fit(blocks)}


def header(n: Notification) -> str:
    if n.kind == "resolved":
        back = "back on track" if n.subject != "benchmark" else "back to normal"
        return f"\u2705 RESOLVED: {kpi_title(n.kpi)} {back} \u00b7 {where(n.dimension)}"
    prefix = {"reminder": "still firing: ", "test": "test: "}.get(n.kind, "")
    return (f"{HEADER_ICON.get(n.severity, '')} {n.severity.upper()}: {prefix}{kpi_title(n.kpi)}"
            f" {n.condition} {n.subject} \u00b7 {where(n.dimension)}").strip()


def fallback_text(n: Notification) -> str:
    if n.kind == "digest":
        return "\n".join([n.summary, *n.details])
    state = {"firing": n.severity.upper(), "reminder": f"{n.severity.upper()} (still firing)",
             "resolved": "RESOLVED", "test": "TEST"}[n.kind]
    text = (f"[{state}] {n.kpi} on {where(n.dimension)}: {fmt(n.kpi, n.value)}"
            f" vs {n.subject} {fmt(n.kpi, n.benchmark)}")
    return f"{text}. {n.summary}" if n.summary else text


def fields(n: Notification) -> list[str]:
    value = f"*Value*\n{fmt(n.kpi, n.value)}"
    value += (f" ({n.subject} {fmt(n.kpi, n.benchmark)}, recovered)" if n.kind == "resolved"
              else f" ({n.condition} {n.subject} {fmt(n.kpi, n.benchmark)})")
    if n.details:
        week = "*Goal*\n" + "\n".join(escape(d) for d in n.details)
    elif n.week_ago is None:
        week = "*vs one week earlier*\nno history"
    else:
        week = (f"*vs one week earlier*\n{fmt_change(change(n.value, n.week_ago))}"
                f" (was {fmt(n.kpi, n.week_ago)})")
    return [value, week, f"*Window*\n{n.window_size}: {window_range(n.window_start, n.window_end)}",
            f"*Where*\n{escape(where(n.dimension))}"]


def contributors_line(contributors: list[Contributor], kpi: str) -> str:
    shown = [f"*{escape(c.label)}* {fmt_change(c.change) if c.change is not None else 'no history'}"
             + (f" ({fmt(kpi, c.value)})" if c.value is not None else "")
             for c in contributors[:MAX_CONTRIBUTORS]]
    more = len(contributors) - MAX_CONTRIBUTORS
    line = ", ".join(shown) + (f", and {more} more" if more > 0 else "")
    return f"{line}, others normal"


def kpi_title(kpi: str) -> str:
    return kpi.replace("_", " ")


def where(dimension: dict[str, str]) -> str:
    if not dimension:
        return "whole shop"
    return ", ".join(f"{key}={value}" for key, value in sorted(dimension.items()))


fmt = format_kpi  # one formatter for Slack, the CLI and status (alerts/kpi_values.py)


def change(value: float | None, before: float | None) -> float | None:
    if value is None or not before:
        return None
    return value / before - 1


def fmt_change(relative: float | None) -> str:
    return "n/a" if relative is None else f"{relative * 100:+.0f}%"


def window_range(start: str, end: str) -> str:
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        return f"{start} to {end}"
    if first.date() == last.date():
        return f"{first:%Y-%m-%d %H:%M}\u2013{last:%H:%M} UTC"
    return f"{first:%Y-%m-%d %H:%M} \u2013 {last:%Y-%m-%d %H:%M} UTC"


def is_link(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url) <= 3000


def escape(text: str) -> str:
    """Slack mrkdwn control characters (api.slack.com: "Escaping text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def plain(text: str, limit: int = MAX_SECTION_TEXT) -> dict:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def button(label: str, url: str) -> dict:
    return {"type": "button", "text": plain(label, MAX_BUTTON_TEXT), "url": url}


def fit(blocks: list[dict]) -> list[dict]:
    """At most 50 blocks: keep the first 48, say how many were left out, keep the last (links)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    left_out = len(blocks) - (MAX_BLOCKS - 1)
    return [*blocks[: MAX_BLOCKS - 2],
            {"type": "context", "elements": [mrkdwn(f"\u2026 {left_out} more blocks left out")]},
            blocks[-1]]
