"""kpiwatch's event contract: the canonical event models, and the one function that turns
raw messages from any supported source into them.

    outcome = parse_message(raw, now=record_time, limits=ParseLimits())
    for event in outcome.events: ...          # typed, validated, enriched
    for rejection in outcome.rejections: ...  # to the dead-letter queue, by reason
"""

from models.channels import Channel, classify_channel
from models.devices import Device, detect_device, is_bot
from models.events import (
    CANONICAL_TYPES,
    EVENT_MODELS,
    CanonicalEvent,
    CartAdd,
    CartChange,
    CartRemove,
    CheckoutStarted,
    CheckoutStep,
    EventBase,
    IdentityLink,
    LineItem,
    NewsletterSignup,
    OrderCancelled,
    OrderCompleted,
    OrderRefunded,
    OrderUpdated,
    PageView,
    PaymentFailed,
    ProductView,
    Search,
    Signup,
)
from models.limits import ParseLimits
from models.parse import ParseOutcome, decode_canonical, encode_canonical, parse_message
from models.rejections import Rejection, RejectReason

__all__ = [
    "CANONICAL_TYPES",
    "EVENT_MODELS",
    "CanonicalEvent",
    "CartAdd",
    "CartChange",
    "CartRemove",
    "Channel",
    "CheckoutStarted",
    "CheckoutStep",
    "Device",
    "EventBase",
    "IdentityLink",
    "LineItem",
    "NewsletterSignup",
    "OrderCancelled",
    "OrderCompleted",
    "OrderRefunded",
    "OrderUpdated",
    "PageView",
    "ParseLimits",
    "ParseOutcome",
    "PaymentFailed",
    "ProductView",
    "RejectReason",
    "Rejection",
    "Search",
    "Signup",
    "classify_channel",
    "decode_canonical",
    "detect_device",
    "encode_canonical",
    "is_bot",
    "parse_message",
]
