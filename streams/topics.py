"""Every topic kpiwatch reads or writes, declared once.

``internal=True`` makes the worker create a topic that does not exist yet (with
``KPIWATCH_TOPIC_PARTITIONS`` partitions); an existing topic is used as it is.

    input topics ──ingest──► canonical events (batches, partitioned by user key) ──► KPI engine
         └───────────────────► dead letters (keyed by source topic:partition)

The canonical topic carries batches of validated events (streams/batches.py): one message per
destination partition per poll of the input, so Faust's per-message work is paid per batch.
"""

from __future__ import annotations

from streams.app import app, settings


def _topic(*names: str):
    return app.topic(
        *names,
        value_serializer="raw",
        key_serializer="raw",
        partitions=settings.topic_partitions,
        internal=True,
    )


# Raw input as the shop produces it: bytes that may be anything (validated in streams/ingest.py).
input_topics = _topic(*settings.input_topics)
canonical_topic = _topic(settings.topic_canonical)
dead_letter_topic = _topic(settings.topic_dead_letter)


def all_topic_names() -> list[str]:
    return [name for topic in (input_topics, canonical_topic, dead_letter_topic)
            for name in topic.topics]
