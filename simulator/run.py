"""One simulation run: the seeded state and the event-time loop that interleaves every
session's events.

Each session is a script (a generator in `simulator.sessions`) that yields its next
event with the offset, in seconds from the run's start, at which it happens. The loop
keeps the scripts in a heap by the time of their pending event, starts new sessions at
Poisson arrival times, and hands out events strictly in event-time order. A script only
decides its next step when its previous event has been emitted, so an incident that
starts mid-session changes the rest of that session.
"""

import hashlib
import heapq
import itertools
import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from models.channels import Channel
from simulator.agents import BOTS, BROWSERS
from simulator.catalog import Catalog
from simulator.diurnal import DiurnalShape
from simulator.events import SimulatedEvent
from simulator.formats.names import MessageFormat
from simulator.incidents import IncidentKind, IncidentTimeline
from simulator.profile import ShopProfile, Timing
from simulator.sources import SOURCES, TrafficSource
from simulator.visitors import Cart, Visit, Visitor, VisitorPool

DIRECT_SOURCE = SOURCES[Channel.DIRECT][0][0]

Script = Iterator[tuple[float, SimulatedEvent]]
"""A session script: yields (offset in seconds, event), offsets never decreasing."""


class Weighted:
    """A weighted choice prepared once, drawn many times."""

    def __init__(self, weights: dict[Any, float]) -> None:
        self.choices = tuple(weights)
        self.cumulative = tuple(itertools.accumulate(weights.values()))

    def draw(self, rng: random.Random) -> Any:
        return rng.choices(self.choices, cum_weights=self.cumulative)[0]


class SimulationRun:
    """The state of one call to `ShopSimulator.generate`: everything random comes from
    `rng`, seeded once, so a run is a pure function of its inputs."""

    def __init__(
        self,
        *,
        seed: int,
        start: datetime,
        duration: timedelta | None,
        rate_per_second: float,
        formats: tuple[MessageFormat, ...],
        profile: ShopProfile,
        timeline: IncidentTimeline,
        diurnal: DiurnalShape,
        run_tag: str,
    ) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.end = math.inf if duration is None else duration.total_seconds()
        self.rate_per_second = rate_per_second
        self.profile = profile
        self.timeline = timeline
        self.diurnal = diurnal
        self.run_tag = run_tag
        # The shop and its known visitors depend on the seed only, so runs with the same
        # seed share customers, as one shop's days do.
        self.catalog = Catalog(self.rng)
        self.formats = Weighted({message_format: 1.0 for message_format in formats})
        self.channels = Weighted(profile.channel_shares)
        self.devices = Weighted(profile.device_shares)
        self.payment_methods = Weighted(profile.payment_shares)
        self.sources = {channel: Weighted(dict(sources)) for channel, sources in SOURCES.items()}
        self._wastes = timeline.stages(IncidentKind.CAMPAIGN_WASTE)
        shares_total = sum(profile.channel_shares.values())
        self._channel_share = {
            channel: share / shares_total for channel, share in profile.channel_shares.items()
        }
        self.pool = VisitorPool(profile.largest_visitor_pool)
        self._counters: dict[str, Iterator[int]] = {}
        self._heap: list[tuple[float, int, Script, SimulatedEvent]] = []
        self._sequence = itertools.count()
        for _ in range(profile.known_visitors):
            self.pool.remember(self._known_visitor(), self.rng)

    def events(self) -> Iterator[SimulatedEvent]:
        """Every event of the run, in event-time order; events at or after the end are
        cut, so sessions still running at the end stop there."""
        from simulator.sessions import start_session

        heap = self._heap
        # Sessions start before the run too, so that it opens on a shop in full swing
        # rather than an empty one; their events before the start are not emitted.
        next_arrival = -self.profile.warm_up_seconds
        next_arrival += self._arrival_gap(next_arrival)
        while True:
            if heap and heap[0][0] < next_arrival:
                offset, _, script, event = heapq.heappop(heap)
                if offset >= self.end:
                    return
                if offset >= 0:
                    yield event
                self.schedule(script)
            else:
                if next_arrival >= self.end:
                    return
                self.schedule(start_session(self, next_arrival))
                next_arrival += self._arrival_gap(next_arrival)

    def schedule(self, script: Script) -> None:
        """Ask `script` for its next event and queue it; a finished script is dropped."""
        step = next(script, None)
        if step is not None:
            heapq.heappush(self._heap, (step[0], next(self._sequence), script, step[1]))

    def new_id(self, kind: str) -> str:
        """An id unique to this run and kind ("evt", "sess", "cart", "ord")."""
        counter = self._counters.setdefault(kind, itertools.count(1))
        return f"{kind}-{self.run_tag}-{next(counter):x}"

    def moment(self, offset: float) -> datetime:
        # Millisecond precision: what trackers send, and exact in every format.
        return self.start + timedelta(milliseconds=round(offset * 1000))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def delay(self, timing: Timing, factor: float = 1.0) -> float:
        return self.rng.lognormvariate(math.log(timing.median), timing.spread) * factor

    def event(
        self, visit: Visit, event_type: str, offset: float, cart: Cart | None = None, **fields: Any
    ) -> SimulatedEvent:
        """An event of `visit` at `offset`. The session's attribution (campaign tags and
        external referrer) rides on every event, as server-side trackers stamp it, so
        each event classifies to the session's channel whichever is seen first."""
        visitor = visit.visitor
        # A refund's visit is the back office's, not a session: it opens none.
        in_session = bool(visit.session_id)
        opens_session = in_session and not visit.opened
        signs_in = in_session and visit.user_id is not None and not visit.signed_in
        visit.opened = True
        visit.signed_in = visit.signed_in or signs_in
        return SimulatedEvent(
            type=event_type,
            event_id=self.new_id("evt"),
            event_time=self.moment(offset),
            anonymous_id=visitor.anonymous_id,
            user_id=visit.user_id,
            session_id=visit.session_id,
            cart_id=cart.cart_id if cart is not None else None,
            url=visit.url,
            source=visit.source,
            agent=visitor.agent,
            message_format=visitor.message_format,
            fields=fields,
            opens_session=opens_session,
            signs_in=signs_in,
        )

    def new_visitor(self) -> Visitor:
        message_format = self.formats.draw(self.rng)
        agent = self.rng.choice(BROWSERS[self.devices.draw(self.rng)])
        return Visitor(
            anonymous_id=self._anonymous_id(message_format),
            agent=agent,
            message_format=message_format,
        )

    def new_bot(self) -> Visitor:
        message_format = self.formats.draw(self.rng)
        return Visitor(self._anonymous_id(message_format), self.rng.choice(BOTS), message_format)

    def new_account_id(self) -> str:
        return f"user-{self.rng.getrandbits(40):010x}"

    def draw_source(self, returning: bool) -> TrafficSource:
        if returning and self.chance(self.profile.returning_direct_share):
            return DIRECT_SOURCE
        return self.sources[self.channels.draw(self.rng)].draw(self.rng)

    def _known_visitor(self) -> Visitor:
        visitor = self.new_visitor()
        if self.chance(self.profile.known_account_share):
            visitor.account_id = self.new_account_id()
            if self.chance(self.profile.known_customer_share / self.profile.known_account_share):
                visitor.orders = 1 + int(self.rng.expovariate(1.0))
        return visitor

    def _anonymous_id(self, message_format: MessageFormat) -> str:
        bits = self.rng.getrandbits(64)
        if message_format is MessageFormat.GA4:
            # GA4 client ids: a random number and the first-visit epoch seconds.
            return f"{bits % 10**10}.{1_760_000_000 + bits % 10**7}"
        if message_format is MessageFormat.SEGMENT:
            text = f"{bits:016x}{self.rng.getrandbits(64):016x}"
            return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        return f"anon-{bits:016x}"

    def _arrival_gap(self, offset: float) -> float:
        """Seconds to the next session start: Poisson arrivals at the rate of this moment."""
        sessions_per_second = (
            self.rate_per_second
            / self.profile.events_per_session
            * self.diurnal.multiplier(self.moment(offset))
            * self.timeline.traffic_factor(offset)
            * (1 + self.wasted_click_share(offset))
        )
        return self.rng.expovariate(sessions_per_second)

    def wasted_click_share(self, offset: float) -> float:
        """Extra sessions that campaign waste buys, as a share of the normal session rate:
        each incident's extra clicks on its channel's share of the traffic."""
        if not self._wastes:
            return 0.0
        return sum(
            incident.extra * self._channel_share[incident.channel]
            for incident in self.timeline.wasted_clicks(offset)
        )


def run_tag(*parts: object) -> str:
    """A short tag of a run's inputs, in every id it makes: two runs that differ in any
    input never share an event, order or cart id (which downstream deduplication would
    drop), and a repeated run repeats its ids exactly."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=4).hexdigest()
