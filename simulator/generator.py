"""The traffic generator: a seeded, reproducible shop whose visitors produce the
messages of the three input streams, in event-time order.

    simulator = ShopSimulator(seed=1, message_format="mixed",
                              incidents=[parse_incident("payment-outage@10m+5m:method=paypal")])
    for stream, key, value, event_time in simulator.generate(start, timedelta(hours=1), 20):
        ...

The same arguments give the same messages, byte for byte. Nothing here touches Kafka or
the wall clock: sinks (`simulator.sinks`) write or produce the messages and pace them.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import orjson

from simulator.ad_spend import LabelledSpend, interleave, span_starts
from simulator.defects import choose_defect, corrupt
from simulator.diurnal import DiurnalShape
from simulator.encoding import encode_payload
from simulator.events import LabelledMessage, SimulatedMessage
from simulator.formats import spec_shape
from simulator.formats.names import FORMAT_CHOICES, SHAPE_CHOICES, MessageFormat, MessageShape
from simulator.incidents import Incident, IncidentKind, IncidentTimeline
from simulator.profile import ShopProfile
from simulator.run import SimulationRun, run_tag


@dataclass(frozen=True)
class ShopSimulator:
    """A simulated shop.

    `message_format` is "canonical", "segment", "ga4", or "mixed" (each visitor keeps one
    of the three). `incidents` are staged relative to each run's start. `timezone` is the
    shop's local time, which the daily traffic shape follows; `diurnal=False` keeps the
    rate flat all day. `shape` "spec" sends Segment and GA4 messages as real sources do
    (`simulator.formats.spec_shape`); it changes the messages, not the traffic: the same
    events, with the same ids, as the default "kpiwatch" shape of the same seed.
    """

    seed: int = 1
    message_format: str = "canonical"
    incidents: tuple[Incident, ...] = ()
    profile: ShopProfile = field(default_factory=ShopProfile)
    timezone: tzinfo = UTC
    diurnal: bool = True
    shape: str = MessageShape.KPIWATCH

    def __post_init__(self) -> None:
        if self.message_format not in FORMAT_CHOICES:
            raise ValueError(
                f"message_format must be one of {', '.join(FORMAT_CHOICES)}, "
                f"not {self.message_format!r}"
            )
        if self.shape not in SHAPE_CHOICES:
            raise ValueError(
                f"shape must be one of {', '.join(SHAPE_CHOICES)}, not {self.shape!r}"
            )
        object.__setattr__(self, "incidents", tuple(self.incidents))

    def generate(
        self,
        start: datetime,
        duration: timedelta | None,
        rate_per_second: float,
        spend_span: timedelta | None = None,
    ) -> Iterator[SimulatedMessage]:
        """The messages of `duration` of traffic (None: endless) from `start`, as
        (stream, key, value, event_time), in event-time order.

        `rate_per_second` is the average event rate over a day; the daily shape and
        traffic spikes move it up and down. Sessions still running at the end are cut.
        With `spend_span` the ad spend rows of each span come too (`with_spend`).
        """
        if spend_span is not None:
            for item in self.with_spend(start, duration, rate_per_second, spend_span):
                yield item.message
            return
        for labelled in self.labelled(start, duration, rate_per_second):
            yield labelled.message

    def with_spend(
        self,
        start: datetime,
        duration: timedelta | None,
        rate_per_second: float,
        span: timedelta = timedelta(minutes=5),
    ) -> Iterator[LabelledMessage | LabelledSpend]:
        """`labelled`, with the ad spend rows of every `span` (whole minutes, aligned to
        the clock) from the first span boundary after `start`: one row per ad account and
        campaign with clicks in the span, each before the span's first event, on stream
        `ad_spend`, keyed by its spend id (`simulator.ad_spend`). The events are the same
        as without spend."""
        span_starts(start, span)  # a wrong span fails here, not at the first boundary
        yield from interleave(
            self.labelled(start, duration, rate_per_second),
            start.astimezone(UTC).replace(microsecond=start.microsecond // 1000 * 1000),
            span,
            IncidentTimeline(self.incidents),
        )

    def labelled(
        self, start: datetime, duration: timedelta | None, rate_per_second: float
    ) -> Iterator[LabelledMessage]:
        """`generate`, with each message's event and defect: the truth to check the
        ingestion and the KPIs against."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be more than 0, not {rate_per_second}")
        if duration is not None and duration < timedelta(0):
            raise ValueError(f"duration must not be negative, not {duration}")
        start = start.astimezone(UTC)
        start = start.replace(microsecond=start.microsecond // 1000 * 1000)
        formats = (
            tuple(MessageFormat)
            if self.message_format == "mixed"
            else (MessageFormat(self.message_format),)
        )
        diurnal = (
            DiurnalShape(self.profile.hourly_traffic, self.timezone)
            if self.diurnal
            else DiurnalShape.flat(self.timezone)
        )
        timeline = IncidentTimeline(self.incidents)
        run = SimulationRun(
            seed=self.seed,
            start=start,
            duration=duration,
            rate_per_second=rate_per_second,
            formats=formats,
            profile=self.profile,
            timeline=timeline,
            diurnal=diurnal,
            run_tag=run_tag(
                self.seed,
                start,
                duration,
                rate_per_second,
                self.message_format,
                self.incidents,
                self.profile,
                str(self.timezone),
                self.diurnal,
            ),
        )
        # Defects draw from their own generator, so a bad-events incident spoils messages
        # of exactly the traffic the same run would have without it.
        defect_rng = random.Random(f"{self.seed}:defects")
        start_seconds = start.timestamp()
        spoils = timeline.stages(IncidentKind.BAD_EVENTS)
        # The shape is not part of the run tag: both shapes of a seed carry the same ids.
        outbox = spec_shape.SpecOutbox() if self.shape == MessageShape.SPEC else None
        for event in run.events():
            payload = encode_payload(event)
            if outbox is not None:
                shaped = spec_shape.reshape(payload, event)
                payload = shaped.main
            defect = None
            share = (
                timeline.bad_share(event.event_time.timestamp() - start_seconds) if spoils else 0.0
            )
            if share and defect_rng.random() < share:
                defect = choose_defect(event.type, defect_rng)
                value = corrupt(payload, defect, defect_rng)
            else:
                value = orjson.dumps(payload)
            if outbox is not None:
                yield from outbox.send(event, shaped, value, defect)
                continue
            message = SimulatedMessage(
                event.stream, event.anonymous_id.encode(), value, event.event_time
            )
            yield LabelledMessage(message, event, defect)
        if outbox is not None:
            yield from outbox.close()
