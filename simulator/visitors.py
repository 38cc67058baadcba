"""The people behind the traffic: visitors who come back, their accounts and carts, and
the visit (session) one of them is on."""

import random
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.agents import UserAgent
from simulator.catalog import Product
from simulator.formats.names import MessageFormat
from simulator.sources import TrafficSource


@dataclass(slots=True)
class CartLine:
    product: Product
    quantity: int


@dataclass(slots=True)
class Cart:
    cart_id: str
    lines: list[CartLine] = field(default_factory=list)

    @property
    def value(self) -> Decimal:
        return sum((line.product.price * line.quantity for line in self.lines), Decimal(0))


@dataclass(slots=True)
class Visitor:
    """A browser on a device: `anonymous_id` is its cookie, kept across visits.
    `account_id` is the user_id once the visitor has an account; `referrer_id` the user_id
    of whoever invited the visitor, which their signup carries."""

    anonymous_id: str
    agent: UserAgent
    message_format: MessageFormat
    account_id: str | None = None
    orders: int = 0
    open_cart: Cart | None = None
    in_session: bool = False
    referrer_id: str | None = None


@dataclass(slots=True)
class Visit:
    """One session of a visitor. `user_id` is set while the visitor is logged in.
    `opened` and `signed_in` say whether an event of the visit was made yet, and one with
    the user id (`SimulatedEvent.opens_session`, `signs_in`)."""

    visitor: Visitor
    session_id: str
    source: TrafficSource
    user_id: str | None
    url: str
    opened: bool = False
    signed_in: bool = False


class VisitorPool:
    """Visitors who may come back, bounded: beyond `capacity` a random one is forgotten,
    as a cleared cookie would be."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._visitors: list[Visitor] = []

    def __len__(self) -> int:
        return len(self._visitors)

    def remember(self, visitor: Visitor, rng: random.Random) -> None:
        if len(self._visitors) < self.capacity:
            self._visitors.append(visitor)
        else:
            self._visitors[rng.randrange(self.capacity)] = visitor

    def returning(self, rng: random.Random) -> Visitor | None:
        """A random known visitor not on a visit right now, or None."""
        if not self._visitors:
            return None
        visitor = self._visitors[rng.randrange(len(self._visitors))]
        return None if visitor.in_session else visitor
