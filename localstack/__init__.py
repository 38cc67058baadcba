"""Local Kafka, Redis and Prometheus for tests, the demo and benchmarks (no Docker needed)."""

from localstack.stack import LocalStack

__all__ = ["LocalStack"]
