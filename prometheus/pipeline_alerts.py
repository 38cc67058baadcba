"""Prometheus alerting rules on kpiwatch itself: a KPI monitor that is broken must say so, or
its silence reads as "all is well". Generated into ``prometheus/rules/pipeline.yml``.

Each rule watches one way the numbers stop being real, from the pipeline-health metrics
(metrics/catalog.py); the runbook sections are in docs/runbooks.md:

- ``KpiwatchWorkerDown``: Prometheus cannot scrape a worker (crashed, stuck, unreachable).
- ``KpiwatchInputSilent``: no event for ``INPUT_SILENT``: the shop's tracking or the producer
  broke (or the shop is closed: raise it for a shop with quiet nights). The KPI windows still
  settle, as zeros (streams/kpis/engine.py), so the dashboards show the drop too.
- ``KpiwatchSettlingStalled``: the settled windows lag the wall clock by more than
  ``SETTLING_STALLED``: the workers fall behind, or a partition has no worker. Windows settle
  the allowed lateness (default 5 min) after their end, and go on settling when input stops,
  so a lag of half an hour means stuck. A backfill of history fires it while it runs.
- ``KpiwatchNotificationsStuck``: notifications wait in a target's outbox for ``OUTBOX_STUCK``
  (Slack down or refusing: ``kpiwatch alerts list`` and the outbox's dead list say which).
"""

from __future__ import annotations

RUNBOOKS = "https://github.com/kpiwatch/kpiwatch/blob/main/docs/runbooks.md"
DASHBOARD = "kpiwatch-pipeline"
INPUT_SILENT_S = 15 * 60
SETTLING_STALLED_S = 30 * 60
OUTBOX_STUCK = "10m"


def pipeline_groups(grafana_url: str) -> list[dict]:
    def rule(name: str, expr: str, for_: str, severity: str, summary: str, description: str,
             anchor: str) -> dict:
        return {"alert": name, "expr": expr, "for": for_,
                "labels": {"severity": severity, "dashboard": DASHBOARD},
                "annotations": {"summary": summary, "description": description,
                                "runbook_url": f"{RUNBOOKS}#{anchor}",
                                "dashboard_url": f"{grafana_url}/d/{DASHBOARD}?from=now-6h&to=now"}}

    return [{"name": "kpiwatch-pipeline", "rules": [
        rule("KpiwatchWorkerDown", 'up{job="kpiwatch"} == 0', "2m", "critical",
             "kpiwatch worker {{ $labels.instance }} is down",
             "Prometheus has not scraped {{ $labels.instance }} for 2 minutes: its partitions' "
             "KPIs are missing until another worker takes them over.", "worker-down"),
        rule("KpiwatchInputSilent",
             "time() - max(max by (partition) (kpiwatch_last_event_timestamp_seconds))"
             f" > {INPUT_SILENT_S}", "5m", "critical",
             "No shop event for {{ $value | humanizeDuration }}",
             "The newest event kpiwatch has seen is {{ $value | humanizeDuration }} old: "
             "tracking or the event producer stopped, or it sends only messages that carry no "
             "KPI (kpiwatch_ignored_events_total) or are invalid (kpiwatch_invalid_events_total)"
             " (or the shop is closed).", "input-silent"),
        rule("KpiwatchSettlingStalled",
             "time() - min(max by (partition) (kpiwatch_settled_through_timestamp_seconds))"
             f" > {SETTLING_STALLED_S}", "5m", "warning",
             "KPI windows stopped settling ({{ $value | humanizeDuration }} behind)",
             "The slowest partition's last settled minute is {{ $value | humanizeDuration }} "
             "old: workers are behind or a partition has no worker. Alerts judge settled "
             "windows only, so none can fire meanwhile.", "settling-stalled"),
        rule("KpiwatchNotificationsStuck", "max by (target) (kpiwatch_outbox_depth) > 0",
             OUTBOX_STUCK, "warning",
             "Alert notifications to {{ $labels.target }} are not going out",
             "{{ $value }} notifications have waited in the outbox of {{ $labels.target }} for "
             f"{OUTBOX_STUCK} or more: the target is down or refusing them.",
             "notifications-stuck"),
    ]}]
