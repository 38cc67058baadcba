"""Local Kafka, Redis and Prometheus for tests, the demo and benchmarks (no Docker needed)."""

from devstack.stack import DevStack

__all__ = ["DevStack"]
