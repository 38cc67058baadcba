"""Every topic kpiwatch reads or writes, declared once.

``internal=True`` makes the worker create a topic that does not exist yet (with
``KPIWATCH_TOPIC_PARTITIONS`` partitions); an existing topic is used as it is.

    input topics ──ingest──► validated (by user key) ──dedup──► canonical events (by user key)
         └───────────────────► dead letters (keyed by source topic:partition)

Validated and canonical topics have the same partition count and key, so an event keeps its
partition number from one to the other: that is what lets each stage guard its state with the
previous stage's offsets.
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
validated_topic = _topic(f"{settings.app_id}-validated")
canonical_topic = _topic(settings.topic_canonical)
dead_letter_topic = _topic(settings.topic_dead_letter)


def all_topic_names() -> list[str]:
    return [name for topic in (input_topics, validated_topic, canonical_topic, dead_letter_topic)
            for name in topic.topics]
