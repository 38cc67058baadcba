"""Imports every module that registers agents, tables or pages on the app."""

from alerts import runner  # noqa: F401  (publish, evaluate, deliver; validates the rules)
from kpiwatch import commands  # noqa: F401
from metrics import endpoint, health  # noqa: F401
from streams import ingest, pipeline_health, spend_feed  # noqa: F401
from streams.app import app
from streams.kpis import agent  # noqa: F401

__all__ = ["app"]
