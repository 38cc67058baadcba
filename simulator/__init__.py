"""kpiwatch's traffic simulator: a seeded, reproducible online shop whose visitors send
the events kpiwatch monitors, with incidents staged on demand.

    from simulator import ShopSimulator, parse_incident
    simulator = ShopSimulator(seed=1, message_format="mixed",
                              incidents=[parse_incident("checkout-slowdown@5m+10m")])
    for stream, key, value, event_time in simulator.generate(start, timedelta(hours=1), 20):
        ...

- `ShopSimulator.generate` yields `SimulatedMessage(stream, key, value, event_time)` in
  event-time order; `labelled` adds the truth (the `SimulatedEvent`, any `Defect`).
- `ShopSimulator.with_spend` adds the paid campaigns' ad spend rows (`simulator.ad_spend`),
  `simulator.costs` the products' unit costs for gross margin.
- Besides the shopping funnel the visitors walk the user journey (invitations and referred
  signups, features, NPS and CSAT surveys, comparisons, demo requests): `simulator.journey`
  names its features and surveys, as `python -m simulator features` and `surveys` print
  them for KPIWATCH_FEATURES and KPIWATCH_SURVEYS.
- `simulator.sinks.jsonl` writes and reads JSONL files; `simulator.sinks.kafka.produce`
  sends to Kafka, paced by event time.
- `python -m simulator --help` is the command line.

The core (generator, sessions, formats) is pure Python with no Kafka and no wall clock.
"""

from simulator.ad_spend import AD_SPEND_STREAM, LabelledSpend
from simulator.defects import EXPECTED_REASON, Defect
from simulator.events import LabelledMessage, SimulatedEvent, SimulatedMessage
from simulator.formats.names import FORMAT_CHOICES, SHAPE_CHOICES, MessageFormat, MessageShape
from simulator.generator import ShopSimulator
from simulator.incidents import (
    Incident,
    IncidentKind,
    IncidentSpecError,
    parse_duration,
    parse_incident,
)
from simulator.profile import ShopProfile, Timing

__all__ = [
    "AD_SPEND_STREAM",
    "EXPECTED_REASON",
    "FORMAT_CHOICES",
    "SHAPE_CHOICES",
    "Defect",
    "Incident",
    "IncidentKind",
    "IncidentSpecError",
    "LabelledMessage",
    "LabelledSpend",
    "MessageFormat",
    "MessageShape",
    "ShopProfile",
    "ShopSimulator",
    "SimulatedEvent",
    "SimulatedMessage",
    "Timing",
    "parse_duration",
    "parse_incident",
]
