"""Prometheus rules as code: the recording rules for the KPI ratios (``kpis.py``) and the alerting
rules generated from ``alerts/rules.yaml`` (``alert_rules.py``). ``python -m prometheus`` writes
``prometheus/rules/*.yml``; a test fails when the committed files drift from their sources.
"""
