"""Messages shaped as Segment's and Google's own sources send them (``--shape spec``), so
that kpiwatch is exercised on real shapes and not only on the fuller ones its own
trackers would send (``--shape kpiwatch``: the encoders' output as it is).

`reshape(payload, event)` takes the message a format's `encode` made and returns the
event's message as a spec source sends it, with the calls without a KPI input such a
source sends along with it (`Shaped`). `SpecOutbox` turns those into the messages of a
run and groups some Segment calls into `batch` calls. Every choice is drawn from a hash
of the event id (`draw`), never from the run's generator: the same seed gives the same
messages, and the traffic (events, ids, times, amounts) is that of the kpiwatch shape of
the same seed. Only the messages differ, in what the specs leave out:

Segment (https://segment.com/docs/connections/spec/ecommerce/v2/, read as
segmentio/facade reads it; see models/segment.py):
- `cart_id` only on Product Added and Product Removed, the only KPI events whose property
  tables list it: none on Checkout Started, the checkout steps, Payment Failed, Order
  Completed;
- the payment method on the payment step (Payment Info Entered `payment_method`), in the
  raw names shops send (`PAYMENT_NAMES`, one per visitor and method); none on Order
  Completed; on Payment Failed (not a spec event) in `FAILED_METHOD_SHARE` of them;
- Order Completed with `total` instead of `revenue` in `TOTAL_SHARE` (facade's revenue()
  falls back to total on order-completed events; the amount is the revenue's, so the
  canonical revenue is unchanged), without `currency` in `NO_CURRENCY_SHARE` of USD orders
  and cart events ("If this isn't set, Segment assumes the revenue to be in US dollars"),
  product lines keyed by `product_id`, else `sku` or `productId` (`PRODUCT_KEYS`, one key
  per order);
- track names: v2, the e-commerce v1 name in `V1_SHARE` ("Completed Order"), snake_case in
  `SNAKE_SHARE` ("order_completed");
- an `identify` call (userId, anonymousId, traits.email) when a visitor signs in
  (`SimulatedEvent.signs_in`); "Product List Viewed" after a category page view, "Cart
  Viewed" after the cart page's or before Checkout Started (with the cart_id, which the
  spec's Cart Viewed has), each in `LIST_VIEW_SHARE`;
- `batch` calls (Segment's HTTP API): `BATCH_OPEN_SHARE` of the events outside a batch
  open one, of 2 to 5 consecutive calls of the same visitor (`BATCH_SIZES`), sent when it
  is full or `BATCH_TIMEOUT` after its first call, stamped (and `sentAt`) at that moment:
  about 5 % of the Segment calls travel in batches. A batch goes on the stream of its
  first event (one message has one topic); a spoiled message (bad-events) is never in one.

GA4 (Measurement Protocol, https://developers.google.com/analytics/devguides/collection/ga4/reference/events):
- `payment_type` on add_payment_info, in the raw names; none on purchase; payment_failed
  (a custom event) keeps it, in the raw names;
- automatic events without a KPI input in the same request, before the event:
  `session_start` at a session's first event (`SimulatedEvent.opens_session`),
  `user_engagement` before `USER_ENGAGEMENT_SHARE` of the later page views. (Google's
  Measurement Protocol reserves both names; gtag.js and the BigQuery export carry them.)

Not generated: server-side orders (userId without anonymousId). Orders stay browser-side,
with the anonymousId and, when the visitor is logged in, the userId: kpiwatch cannot yet
join a userId-only order to the visitor's browser events across partitions.

Canonical messages are left as they are.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import orjson

from models.streams import CLICKSTREAM
from simulator.defects import Defect
from simulator.events import LabelledMessage, SimulatedEvent, SimulatedMessage
from simulator.formats.names import MessageFormat
from simulator.formats.timestamps import iso_millis

PAYMENT_NAMES: dict[str, tuple[str, ...]] = {
    "card": ("Credit Card", "Visa", "Mastercard"),
    "paypal": ("PayPal",),
    "apple_pay": ("Apple Pay",),
    "klarna": ("Klarna",),
}
"""The simulator's payment methods as Segment and GA4 shops name them (all known to
kpiwatch's default KPIWATCH_PAYMENT_METHOD_ALIASES). A visitor keeps one name per method:
the same card brand on every attempt."""

V1_NAMES: dict[str, str] = {
    "Product Viewed": "Viewed Product",
    "Product Added": "Added Product",
    "Product Removed": "Removed Product",
    "Checkout Started": "Started Order",
    "Checkout Step Completed": "Completed Checkout Step",
    "Order Completed": "Completed Order",
    "Order Refunded": "Refunded Order",
}
"""v2 track name -> the e-commerce v1 (or GA Enhanced E-Commerce) name it is aliased to."""

CART_TYPES = frozenset({"cart_add", "cart_remove"})
"""The events that keep their cart_id."""

PRODUCT_KEYS: tuple[tuple[str, float], ...] = (("sku", 0.15), ("productId", 0.15))
"""Keys of an order's product lines other than product_id, and the share of each."""

V1_SHARE = 0.05
SNAKE_SHARE = 0.05
TOTAL_SHARE = 0.30
NO_CURRENCY_SHARE = 0.30
FAILED_METHOD_SHARE = 0.30
LIST_VIEW_SHARE = 0.5
USER_ENGAGEMENT_SHARE = 0.25
BATCH_OPEN_SHARE = 0.04
BATCH_SIZES = (2, 3, 4, 5)
BATCH_TIMEOUT = timedelta(seconds=10)

_LIST_PATHS = ("/collections/", "/sale")
_CART_PATH = "/cart"


def draw(key: str, purpose: str) -> float:
    """A number in [0, 1) fixed by `key` (an event id, an anonymous id) and `purpose`:
    each choice has its own, and none depends on the order events are shaped in."""
    digest = hashlib.blake2b(f"{purpose}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def payment_name(method: str, anonymous_id: str) -> str:
    """What the visitor's tracker calls `method`; a method without a known name keeps its
    own."""
    names = PAYMENT_NAMES.get(method, (method,))
    return names[int(draw(anonymous_id, f"payment {method}") * len(names))]


class Shaped(NamedTuple):
    """An event's message in the spec shape (`main`), with the calls without a KPI input
    its source sends just before and just after it (Segment: an identify, a Product List
    Viewed; GA4 puts its own in `main`'s events)."""

    main: dict[str, Any]
    before: tuple[dict[str, Any], ...] = ()
    after: tuple[dict[str, Any], ...] = ()

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [*self.before, self.main, *self.after]


def reshape(payload: dict[str, Any], event: SimulatedEvent) -> Shaped:
    """`payload` (what `event`'s format encoded, left unchanged) as a spec source sends it."""
    if event.message_format is MessageFormat.SEGMENT:
        return _segment(payload, event)
    if event.message_format is MessageFormat.GA4:
        return _ga4(payload, event)
    return Shaped(payload)


def _segment(payload: dict[str, Any], event: SimulatedEvent) -> Shaped:
    message = dict(payload)
    before = (_identify(message, event),) if event.signs_in and event.user_id else ()
    if event.type == "page_view":
        return Shaped(message, before, _views(message, event))
    if event.type == "checkout_started":
        # The cart the shopper looked at before going to the checkout.
        before += _views(message, event)
    properties = message["properties"] = dict(message["properties"])
    message["event"] = _track_name(message["event"], event.event_id)
    if event.type not in CART_TYPES:
        properties.pop("cart_id", None)
    match event.type:
        case "checkout_step" if "payment_method" in properties:
            properties["payment_method"] = payment_name(
                properties["payment_method"], event.anonymous_id
            )
            # Payment Info Entered is the payment step by its name.
            properties.pop("step", None)
        case "payment_failed":
            method = properties.pop("payment_method", None)
            if method is not None and draw(event.event_id, "failed method") < FAILED_METHOD_SHARE:
                properties["payment_method"] = payment_name(method, event.anonymous_id)
        case "order_completed":
            properties.pop("payment_method", None)
            if draw(event.event_id, "total") < TOTAL_SHARE:
                properties["total"] = properties.pop("revenue")
            _maybe_without_currency(properties, event)
            key = _product_key(event.event_id)
            properties["products"] = [
                {key if name == "product_id" else name: value for name, value in line.items()}
                for line in properties["products"]
            ]
        case "cart_add" | "cart_remove":
            _maybe_without_currency(properties, event)
    return Shaped(message, before)


def _track_name(name: str, event_id: str) -> str:
    roll = draw(event_id, "name")
    if roll < V1_SHARE:
        return V1_NAMES.get(name, name)
    if roll < V1_SHARE + SNAKE_SHARE:
        return name.lower().replace(" ", "_")
    return name


def _maybe_without_currency(properties: dict[str, Any], event: SimulatedEvent) -> None:
    if properties.get("currency") == "USD" and draw(event.event_id, "currency") < NO_CURRENCY_SHARE:
        del properties["currency"]


def _product_key(event_id: str) -> str:
    roll = draw(event_id, "product key")
    for key, share in PRODUCT_KEYS:
        if roll < share:
            return key
        roll -= share
    return "product_id"


def _identify(message: dict[str, Any], event: SimulatedEvent) -> dict[str, Any]:
    return {
        "messageId": f"{event.event_id}-identify",
        "timestamp": message["timestamp"],
        "type": "identify",
        "anonymousId": event.anonymous_id,
        "userId": event.user_id,
        "traits": {"email": f"{event.user_id}@example.com"},
        "context": message["context"],
    }


def _views(message: dict[str, Any], event: SimulatedEvent) -> tuple[dict[str, Any], ...]:
    """A Product List Viewed after a category page; a Cart Viewed after the cart page, or
    before a checkout starts (with its cart_id, as the spec's Cart Viewed has)."""
    path = urlsplit(event.url or "").path
    properties: dict[str, Any] = {}
    if event.session_id is not None:
        properties["session_id"] = event.session_id
    if event.type == "checkout_started":
        name = "Cart Viewed"
        if event.cart_id is not None:
            properties["cart_id"] = event.cart_id
    elif path.startswith(_LIST_PATHS):
        name = "Product List Viewed"
        list_id = path.rstrip("/").rsplit("/", 1)[-1]
        properties |= {"list_id": list_id, "category": list_id}
    elif path == _CART_PATH:
        name = "Cart Viewed"
    else:
        return ()
    if draw(event.event_id, "view") >= LIST_VIEW_SHARE:
        return ()
    view = {
        "messageId": f"{event.event_id}-view",
        "timestamp": message["timestamp"],
        "type": "track",
        "event": name,
        "anonymousId": event.anonymous_id,
    }
    if event.user_id is not None:
        view["userId"] = event.user_id
    view["properties"] = properties
    view["context"] = message["context"]
    return (view,)


def _ga4(payload: dict[str, Any], event: SimulatedEvent) -> Shaped:
    message = dict(payload)
    [main] = payload["events"]
    params = dict(main["params"])
    name = main["name"]
    if name in ("add_payment_info", "payment_failed") and "payment_type" in params:
        params["payment_type"] = payment_name(params["payment_type"], event.anonymous_id)
    elif name == "purchase":
        params.pop("payment_type", None)
    events: list[dict[str, Any]] = []
    session = {"session_id": params["session_id"]} if "session_id" in params else {}
    if event.opens_session:
        events.append({"name": "session_start", "params": session})
    elif event.type == "page_view" and draw(event.event_id, "engagement") < USER_ENGAGEMENT_SHARE:
        engaged = 1_000 + int(draw(event.event_id, "engagement time") * 59_000)
        events.append(
            {"name": "user_engagement", "params": session | {"engagement_time_msec": engaged}}
        )
    events.append({"name": name, "params": params})
    message["events"] = events
    return Shaped(message)


@dataclass(slots=True)
class _Batch:
    size: int
    deadline: datetime
    calls: list[dict[str, Any]] = field(default_factory=list)
    events: list[SimulatedEvent] = field(default_factory=list)


class SpecOutbox:
    """The messages of a spec-shaped run, event by event (`send`, then `close` at the
    end): each event's calls in order, extras on the clickstream, and some Segment calls
    held back and sent together as a batch. Messages come out in event-time order: a batch
    is stamped when it is sent, at its last call or its timeout."""

    def __init__(self) -> None:
        # Open batches by anonymous id, in the order opened: the order of their deadlines.
        self._open: dict[str, _Batch] = {}
        self._clock: datetime | None = None

    def send(
        self, event: SimulatedEvent, shaped: Shaped, value: bytes, defect: Defect | None
    ) -> Iterator[LabelledMessage]:
        """The messages due up to `event`, then those of `event` itself: `value` is its
        message (`shaped.main` as bytes, spoiled when `defect` is set)."""
        now = event.event_time
        yield from self._due(now)
        self._clock = now
        key = event.anonymous_id
        batch = self._open.get(key)
        calls = shaped.calls
        if batch is not None and (
            defect is not None or len(batch.calls) + len(calls) > batch.size
        ):
            yield self._flush(key, now)
            batch = None
        if (
            batch is None
            and event.message_format is MessageFormat.SEGMENT
            and defect is None
            and draw(event.event_id, "batch") < BATCH_OPEN_SHARE
        ):
            size = BATCH_SIZES[int(draw(event.event_id, "batch size") * len(BATCH_SIZES))]
            batch = self._open[key] = _Batch(max(size, len(calls)), now + BATCH_TIMEOUT)
        if batch is None:
            yield from self._singles(event, shaped, value, defect)
            return
        batch.calls.extend(calls)
        batch.events.append(event)
        if len(batch.calls) >= batch.size:
            yield self._flush(key, now)

    def close(self) -> Iterator[LabelledMessage]:
        """The batches still open at the end of the run, sent at its last event."""
        for key in list(self._open):
            assert self._clock is not None
            yield self._flush(key, self._clock)

    def _due(self, now: datetime) -> Iterator[LabelledMessage]:
        for key, batch in list(self._open.items()):
            if batch.deadline > now:
                break
            yield self._flush(key, batch.deadline)

    def _flush(self, key: str, moment: datetime) -> LabelledMessage:
        batch = self._open.pop(key)
        first, last = batch.events[0], batch.events[-1]
        if len(batch.calls) == 1:
            # A batch that timed out with one call: that call, sent late.
            value = orjson.dumps(batch.calls[0])
            return LabelledMessage(
                SimulatedMessage(first.stream, key.encode(), value, moment), first
            )
        value = orjson.dumps({"batch": batch.calls, "sentAt": iso_millis(moment)})
        message = SimulatedMessage(first.stream, key.encode(), value, moment)
        return LabelledMessage(message, last, None, tuple(batch.events))

    def _singles(
        self, event: SimulatedEvent, shaped: Shaped, value: bytes, defect: Defect | None
    ) -> Iterator[LabelledMessage]:
        key = event.anonymous_id.encode()
        for call in shaped.before:
            yield self._extra(event, key, call)
        yield LabelledMessage(
            SimulatedMessage(event.stream, key, value, event.event_time), event, defect
        )
        for call in shaped.after:
            yield self._extra(event, key, call)

    @staticmethod
    def _extra(event: SimulatedEvent, key: bytes, call: dict[str, Any]) -> LabelledMessage:
        message = SimulatedMessage(CLICKSTREAM, key, orjson.dumps(call), event.event_time)
        return LabelledMessage(message, event, None, ())
