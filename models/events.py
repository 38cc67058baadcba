"""The canonical events: what every source format is turned into, and all later stages
consume. One frozen model per event type in KPIS.md section 1, joined in the
`CanonicalEvent` union on the field `type`.

`device`, `channel` and `is_bot` are derived at the edge by `parse_message` and are not
taken from the input; the defaults here only serve code that builds events directly.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from models.channels import Channel
from models.devices import Device
from models.fields import (
    CurrencyCode,
    Identifier,
    Label,
    Money,
    Quantity,
    Text,
    UrlText,
    UserAgentText,
    UtcTimestamp,
)


class EventBase(BaseModel):
    """Fields every event carries."""

    # Sources send numeric ids (Segment userId 42); as text they compare equal everywhere.
    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    event_id: Identifier
    timestamp: UtcTimestamp
    user_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    session_id: Identifier | None = None
    cart_id: Identifier | None = None
    url: UrlText | None = None
    referrer: UrlText | None = None
    utm_source: Text | None = None
    utm_medium: Text | None = None
    utm_campaign: Text | None = None
    user_agent: UserAgentText | None = None
    device: Device = Device.OTHER
    channel: Channel = Channel.OTHER
    is_bot: bool = False

    @model_validator(mode="after")
    def _has_user_key(self) -> "EventBase":
        if self.anonymous_id is None and self.user_id is None:
            raise PydanticCustomError("missing_user_key", "anonymous_id or user_id is required")
        return self

    @property
    def user_key(self) -> str:
        """The device-level identity users are counted by: `anonymous_id` when present,
        else `user_id` (as GA4's client id)."""
        return self.anonymous_id if self.anonymous_id is not None else self.user_id  # type: ignore[return-value]


class LineItem(BaseModel):
    """One product line of an order."""

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    product_id: Identifier
    price: Money | None = None
    quantity: Quantity = 1


class PageView(EventBase):
    type: Literal["page_view"] = "page_view"


class ProductView(EventBase):
    type: Literal["product_view"] = "product_view"
    product_id: Identifier


class Search(EventBase):
    type: Literal["search"] = "search"
    query: Text | None = None


class Signup(EventBase):
    """An account created. `referrer_id` is the user id of whoever referred the new user,
    when the shop knows it (a referral link or an invitation): the signup is then a referred
    signup, and its referrer a referring user (streams/kpis/journey.py)."""

    type: Literal["signup"] = "signup"
    referrer_id: Identifier | None = None


class NewsletterSignup(EventBase):
    type: Literal["newsletter_signup"] = "newsletter_signup"


class InviteSent(EventBase):
    """A user invited someone to the shop or product (Segment B2B SaaS Invite Sent): a
    referral sent. Who was invited is not read (an e-mail address is personal data)."""

    type: Literal["invite_sent"] = "invite_sent"


def _lowercase(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class SurveyResponse(EventBase):
    """An answer to a satisfaction survey. `scale` says how `score` reads: ``nps`` is "how
    likely are you to recommend us", 0-10; ``csat`` is "how satisfied are you", 1-5.
    `survey` is the survey's name, mapped to KPIWATCH_SURVEYS by the KPI stage (else
    other)."""

    type: Literal["survey_response"] = "survey_response"
    scale: Annotated[Literal["nps", "csat"], BeforeValidator(_lowercase)]
    score: Annotated[int, Field(ge=0, le=10)]
    survey: Label | None = None

    @model_validator(mode="after")
    def _score_on_scale(self) -> "SurveyResponse":
        if self.scale == "csat" and not 1 <= self.score <= 5:
            raise PydanticCustomError(
                "csat_score", "a csat score is 1 to 5 (an nps score is 0 to 10: set scale)")
        return self


class FeatureUsed(EventBase):
    """A product feature used. `feature` is its name, mapped to KPIWATCH_FEATURES by the KPI
    stage (else other)."""

    type: Literal["feature_used"] = "feature_used"
    feature: Label


class DemoRequested(EventBase):
    """A visitor asked for a demo (or a sales call)."""

    type: Literal["demo_requested"] = "demo_requested"


class ProductsCompared(EventBase):
    """A visitor compared products side by side."""

    type: Literal["products_compared"] = "products_compared"


class CartChange(EventBase):
    """A product added to or removed from a cart. `currency` is None when the source did
    not say (Segment's Product Added has no currency); the revenue stage reports such
    values as unconverted."""

    product_id: Identifier
    price: Money | None = None
    quantity: Quantity = 1
    currency: CurrencyCode | None = None


class CartAdd(CartChange):
    type: Literal["cart_add"] = "cart_add"


class CartRemove(CartChange):
    type: Literal["cart_remove"] = "cart_remove"


class CheckoutStarted(EventBase):
    type: Literal["checkout_started"] = "checkout_started"


class CheckoutStep(EventBase):
    """A checkout step completed; `step` is the source's own name or number, lowercased
    ("shipping", "payment", "2"), mapped to the configured steps by the KPI stage.
    `payment_method` is the raw method the step chose, when it says (Segment Payment Info
    Entered and Checkout Step Completed, GA4 add_payment_info `payment_type`): both specs
    carry it here, not on the order, so the KPI stage carries it on to the order."""

    type: Literal["checkout_step"] = "checkout_step"
    step: Label
    payment_method: Label | None = None


class PaymentFailed(EventBase):
    """A payment attempt that failed. `payment_method` is the raw method, lowercased: the
    KPI stage maps it to the configured list."""

    type: Literal["payment_failed"] = "payment_failed"
    payment_method: Label | None = None
    reason: Text | None = None


class OrderCompleted(EventBase):
    """A placed order. `revenue` excludes shipping and tax (Segment `revenue`, else its
    `total`, GA4 `value`); orders are deduplicated by `order_id` downstream. `currency` is
    None when the source did not say and has no default of its own (Segment's is USD):
    such an order counts as an order, its revenue as unconverted."""

    type: Literal["order_completed"] = "order_completed"
    order_id: Identifier
    revenue: Money
    currency: CurrencyCode | None = None
    items: tuple[LineItem, ...] = ()
    payment_method: Label | None = None
    shipping: Money | None = None
    tax: Money | None = None
    coupon: Text | None = None


class OrderRefunded(EventBase):
    """A refund. Without `amount` it is a full refund (Segment: "for full refunds, only
    order_id is required"): the KPI stage refunds the order's own revenue."""

    type: Literal["order_refunded"] = "order_refunded"
    order_id: Identifier
    amount: Money | None = None
    currency: CurrencyCode | None = None


class OrderCancelled(EventBase):
    """An order cancelled before it was fulfilled (Segment Order Cancelled). Counted as a
    cancellation of the order's revenue in the window of the cancellation: windows already
    settled never change."""

    type: Literal["order_cancelled"] = "order_cancelled"
    order_id: Identifier


class OrderUpdated(EventBase):
    """A placed order changed (Segment Order Updated: the order's properties as they are
    now). A new `revenue` is counted as an adjustment (new - old) in the window of the
    update."""

    type: Literal["order_updated"] = "order_updated"
    order_id: Identifier
    revenue: Money | None = None
    currency: CurrencyCode | None = None


class IdentityLink(EventBase):
    """Internal, never accepted as input: a user id and an anonymous id seen together (an
    event that carries both, an identify call), from the moment in `timestamp`. Ingestion
    sends it to every KPI partition, so that each can tell alike which device an event that
    carries a user id only belongs to (streams/kpis/identity.py)."""

    type: Literal["identity_link"] = "identity_link"
    user_id: Identifier
    anonymous_id: Identifier


CanonicalEvent = Annotated[
    PageView
    | ProductView
    | Search
    | Signup
    | NewsletterSignup
    | InviteSent
    | SurveyResponse
    | FeatureUsed
    | DemoRequested
    | ProductsCompared
    | CartAdd
    | CartRemove
    | CheckoutStarted
    | CheckoutStep
    | PaymentFailed
    | OrderCompleted
    | OrderRefunded
    | OrderCancelled
    | OrderUpdated
    | IdentityLink,
    Field(discriminator="type"),
]

EVENT_MODELS: dict[str, type[EventBase]] = {
    model.model_fields["type"].default: model
    for model in (
        PageView,
        ProductView,
        Search,
        Signup,
        NewsletterSignup,
        InviteSent,
        SurveyResponse,
        FeatureUsed,
        DemoRequested,
        ProductsCompared,
        CartAdd,
        CartRemove,
        CheckoutStarted,
        CheckoutStep,
        PaymentFailed,
        OrderCompleted,
        OrderRefunded,
        OrderCancelled,
        OrderUpdated,
    )
}
"""The model of each canonical type name a source may send."""

INTERNAL_MODELS: dict[str, type[EventBase]] = {"identity_link": IdentityLink}
"""Types kpiwatch writes on its internal topic only: never read from input."""

AMOUNT_FIELDS = ("price", "revenue", "shipping", "tax", "amount")
"""The money fields (Decimal), wherever a model has them."""

AMOUNTS_OF: dict[str, tuple[str, ...]] = {
    name: tuple(field for field in AMOUNT_FIELDS if field in model.model_fields)
    for name, model in (EVENT_MODELS | INTERNAL_MODELS).items()
}
"""The money fields of each canonical type name."""

CANONICAL_TYPES: frozenset[str] = frozenset(EVENT_MODELS)
