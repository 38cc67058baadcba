"""Grafana dashboards as code: ``boards/`` has one module per dashboard, one small function per
panel; ``common.py`` the house style; ``python -m grafana`` writes ``dashboards/*.json``
(deterministic; a test regenerates and compares)."""
