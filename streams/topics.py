"""Every topic kpiwatch reads or writes, declared once.

``internal=True`` makes the worker create a topic that does not exist yet (with
``KPIWATCH_TOPIC_PARTITIONS`` partitions); an existing topic is used as it is.
"""

from __future__ import annotations

from streams.app import app, settings


def _raw_topic(*names: str):
    # Raw input as the shop produces it: bytes that may be anything (validated at the edge).
    return app.topic(
        *names,
        value_serializer="raw",
        key_serializer="raw",
        partitions=settings.topic_partitions,
        internal=True,
    )


input_topics = _raw_topic(*settings.input_topics)
