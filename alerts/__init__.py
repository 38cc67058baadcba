"""Alerting: rules judged on settled windows, state in Redis, delivery through an outbox.

Where things live:
- rules.py, rules.yaml: the rules as data (validated at worker startup).
- publisher.py -> window_store.py: each worker publishes its partitions' settled windows to
  Redis; a window is complete once every partition settled it.
- kpi_values.py, benchmarks.py, state_machine.py: pure judgement of one window (unit-tested).
- evaluator.py: judges each rule x dimension x complete window once across workers, using
  state_store.py (incidents, timelines, acks, silences) and compose.py (what a message says).
- outbox.py, notifiers/: delivery (Slack, webhook, Alertmanager, console).
- runner.py: wires it all into every worker; fail_open.py: the path for when Redis is down.
- The on-call CLI is kpiwatch/alerts_cli.py (``kpiwatch alerts --help``).
"""
