"""Ingestion: raw input bytes become canonical events or dead letters. Nothing stops the stream.

Stateless: each message is parsed (models.parse_message, the one place input is validated),
its events go to the validated topic keyed by user key so that all of a user's events meet in
one partition, and its rejections go to the dead-letter topic with the reason. Deduplication
needs that keying, so it happens one stage later (streams/dedup.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from models import ParseLimits, RejectReason, encode_canonical, parse_message
from streams.app import app, settings
from streams.dead_letters import DeadLetter
from streams.topics import dead_letter_topic, input_topics, validated_topic

log = logging.getLogger(__name__)

SOURCE_TOPIC_HEADER = "kpiwatch-source-topic"
SOURCE_PARTITION_HEADER = "kpiwatch-source-partition"
# The input message's Kafka timestamp (ms), carried to the KPI engine for the
# event-to-metric latency (kpiwatch_event_to_metric_latency_seconds).
INPUT_TIME_HEADER = "kpiwatch-input-time"

limits = ParseLimits(
    max_event_bytes=settings.max_event_bytes,
    future_skew=settings.future_skew,
    replay_horizon=settings.replay_horizon,
)


def record_time(timestamp: float | None) -> datetime:
    """The time a message is judged against: its Kafka timestamp, so a replay judges alike."""
    if timestamp and timestamp > 0:
        return datetime.fromtimestamp(timestamp, UTC)
    return datetime.now(UTC)


@app.agent(input_topics, concurrency=1)
async def ingest(stream):
    async for event in stream.events():
        message = event.message
        try:
            received = record_time(message.timestamp)
            input_time = b"%d" % (received.timestamp() * 1000)
            outcome = parse_message(message.value or b"", now=received, limits=limits)
            rejections = [(r.reason.value, r.detail) for r in outcome.rejections]
            for canonical in outcome.events:
                await validated_topic.send(
                    key=canonical.user_key.encode(),
                    value=encode_canonical(canonical),
                    headers={SOURCE_TOPIC_HEADER: message.topic.encode(),
                             SOURCE_PARTITION_HEADER: str(message.partition).encode(),
                             INPUT_TIME_HEADER: input_time},
                )
        except Exception as error:  # noqa: BLE001 - an agent that raises drops the event
            log.exception("ingest: unexpected error at %s[%d]@%d",
                          message.topic, message.partition, message.offset)
            rejections = [(RejectReason.PARSER_ERROR.value, f"{type(error).__name__}: {error}")]
        for index, (reason, detail) in enumerate(rejections):
            letter = DeadLetter(reason, message.topic, message.partition, message.offset,
                                index, detail)
            await dead_letter_topic.send(
                key=letter.key, value=message.value or b"", headers=letter.headers()
            )
