"""How the simulated shoppers behave: every rate, share and timing the simulator uses,
in one frozen, documented place. The defaults give a plausible mid-size European shop:
about 3 % of sessions convert (the benchmark in KPIS.md), about two in three carts are
abandoned (Baymard's survey average is about 70 %), and a checkout takes two to three
minutes.

Funnel rates are conditional: `cart_add_rate` is the share of sessions that viewed a
product and then add one to the cart, and so on down the funnel.
"""

from dataclasses import dataclass, field

from models.channels import Channel
from models.devices import Device


@dataclass(frozen=True, slots=True)
class Timing:
    """A lognormal delay in seconds: half of the delays are under `median`; `spread` is
    the sigma of the underlying normal (0.5 keeps 95 % within about 2.3x the median)."""

    median: float
    spread: float = 0.5


def _channel_shares() -> dict[Channel, float]:
    return {
        Channel.ORGANIC_SEARCH: 0.30,
        Channel.DIRECT: 0.22,
        Channel.PAID_SEARCH: 0.15,
        Channel.ORGANIC_SOCIAL: 0.08,
        Channel.PAID_SOCIAL: 0.08,
        Channel.EMAIL: 0.07,
        Channel.REFERRAL: 0.04,
        Channel.AFFILIATE: 0.03,
        Channel.DISPLAY: 0.03,
    }


def _channel_intent() -> dict[Channel, float]:
    # Relative buying intent; chosen so that conversion by channel has the usual order
    # (email and brand search convert best, display and social worst).
    return {
        Channel.DIRECT: 1.15,
        Channel.ORGANIC_SEARCH: 1.0,
        Channel.PAID_SEARCH: 1.15,
        Channel.ORGANIC_SOCIAL: 0.4,
        Channel.PAID_SOCIAL: 0.5,
        Channel.EMAIL: 1.6,
        Channel.REFERRAL: 0.85,
        Channel.AFFILIATE: 1.15,
        Channel.DISPLAY: 0.3,
    }


def _device_shares() -> dict[Device, float]:
    return {Device.MOBILE: 0.60, Device.DESKTOP: 0.33, Device.TABLET: 0.07}


def _device_intent() -> dict[Device, float]:
    # Desktop converts about twice as well as mobile in most shops.
    return {Device.MOBILE: 0.8, Device.DESKTOP: 1.4, Device.TABLET: 1.0}


def _payment_shares() -> dict[str, float]:
    return {"card": 0.45, "paypal": 0.30, "apple_pay": 0.15, "klarna": 0.10}


def _payment_failure_rates() -> dict[str, float]:
    return {"card": 0.05, "paypal": 0.02, "apple_pay": 0.015, "klarna": 0.04}


def _hourly_traffic() -> tuple[float, ...]:
    # Sessions by local hour of a European shop: quiet at night, a lunch bump, the peak
    # in the evening. Relative values; the simulator rescales them to a mean of 1.
    return (
        0.35,
        0.25,
        0.20,
        0.18,
        0.20,
        0.30,
        0.50,
        0.75,
        0.95,
        1.05,
        1.10,
        1.15,
        1.20,
        1.15,
        1.10,
        1.10,
        1.15,
        1.25,
        1.40,
        1.60,
        1.70,
        1.55,
        1.10,
        0.65,
    )


@dataclass(frozen=True, slots=True)
class ShopProfile:
    """Everything that shapes the simulated traffic. Change a copy with
    `dataclasses.replace(ShopProfile(), cart_add_rate=0.2)`."""

    channel_shares: dict[Channel, float] = field(default_factory=_channel_shares)
    """Share of new human sessions by channel."""

    channel_intent: dict[Channel, float] = field(default_factory=_channel_intent)
    """Multiplier on `cart_add_rate` by the session's channel."""

    device_shares: dict[Device, float] = field(default_factory=_device_shares)
    device_intent: dict[Device, float] = field(default_factory=_device_intent)
    """Multiplier on `cart_add_rate` by device."""

    bot_share: float = 0.03
    """Share of sessions from crawlers and scripts; they never buy."""

    returning_share: float = 0.30
    """Share of human sessions from a visitor seen before (same anonymous_id)."""

    returning_direct_share: float = 0.40
    """Returning visitors often type the address or use a bookmark: this share of their
    sessions is direct; the rest follow `channel_shares`."""

    known_visitors: int = 5_000
    """Visitors the shop already had before the run, so that repeat customers and
    logged-in users appear from the first minute."""

    known_account_share: float = 0.35
    """Share of known visitors with an account (a user_id)."""

    known_customer_share: float = 0.20
    """Share of known visitors who have ordered before."""

    customer_intent: float = 1.5
    """Multiplier on `cart_add_rate` for visitors who ordered before."""

    logged_in_rate: float = 0.6
    """Chance a visitor with an account is logged in from the first page; the others
    log in at checkout."""

    largest_visitor_pool: int = 200_000
    """Most returning visitors remembered; beyond it a random one is forgotten, which
    bounds memory on endless runs."""

    product_view_rate: float = 0.55
    """Share of sessions that view at least one product."""

    extra_pages_rate: float = 0.3
    """Chance a session that views no product looks at a few more pages instead of
    bouncing after its landing page."""

    more_products_rate: float = 0.55
    """Chance, after each product view, of viewing another (geometric: about 2.2)."""

    search_rate: float = 0.25
    signup_rate: float = 0.012
    """Share of sessions that create an account while browsing."""

    newsletter_rate: float = 0.015

    cart_add_rate: float = 0.135
    more_items_rate: float = 0.35
    """Chance, after each cart add, of adding another product."""

    cart_remove_rate: float = 0.12
    """Chance a cart of two or more items loses one."""

    checkout_rate: float = 0.55
    """Share of carts whose session starts a checkout; the rest are abandoned."""

    resume_cart_rate: float = 0.35
    """Chance a returning visitor with an abandoned cart comes back to check it out: the
    recovered carts of KPIS.md."""

    checkout_signup_rate: float = 0.25
    """Chance a visitor without an account creates one at checkout instead of buying as
    a guest."""

    shipping_rate: float = 0.85
    payment_rate: float = 0.90
    order_rate: float = 0.90
    """Chance a shopper who entered payment details places the order."""

    payment_shares: dict[str, float] = field(default_factory=_payment_shares)
    payment_failure_rates: dict[str, float] = field(default_factory=_payment_failure_rates)
    retry_rate: float = 0.65
    """Chance a shopper tries again after a failed payment."""

    switch_method_rate: float = 0.4
    """Chance a retry uses another payment method."""

    most_payment_attempts: int = 3

    refund_rate: float = 0.04
    """Share of orders refunded later in the run (when the run lasts long enough)."""

    invite_rate: float = 0.2
    """Chance a logged-in customer (an account that ordered before) invites someone during
    a session: one to `most_invites` invitations (Invite Sent)."""

    most_invites: int = 3

    invite_accept_rate: float = 0.35
    """Chance an invitation is followed: the invitee comes to the shop as a new visitor,
    referred by the inviter, `invite_accept_delay` later."""

    invite_accept_delay: Timing = Timing(median=600.0, spread=1.0)

    referred_signup_rate: float = 0.6
    """Chance an invited visitor creates an account on arrival; the signup carries the
    inviter's user id as `referrer_id` (so does a later one)."""

    feature_rate: float = 0.3
    """Chance a logged-in visitor uses a feature on a product page (the wishlist, the size
    guide, now and then the beta try-on: `simulator.journey`)."""

    gift_wrap_rate: float = 0.2
    """Chance a logged-in shopper adds gift wrap in the cart before a checkout."""

    compare_rate: float = 0.05
    """Share of the sessions that view products which first compare a few side by side."""

    demo_rate: float = 0.002
    """Share of the sessions that view products which ask for a demo (a video
    consultation)."""

    nps_response_rate: float = 0.3
    """Chance a customer answers the post-purchase NPS question after an order."""

    survey_gap: Timing = Timing(median=15.0, spread=0.6)
    """From the order to the post-purchase survey's answer."""

    support_survey_rate: float = 0.1
    """Share of orders whose customer contacts support and answers its CSAT survey later in
    the run (when the run lasts long enough)."""

    support_survey_delay: Timing = Timing(median=900.0, spread=1.0)

    browse_gap: Timing = Timing(median=20.0, spread=0.8)
    """Between two pages of a session."""

    product_view_gap: Timing = Timing(median=1.0, spread=0.4)
    """Between a product page's page_view and its product_view."""

    bot_gap: Timing = Timing(median=2.0, spread=0.5)
    checkout_to_shipping: Timing = Timing(median=40.0)
    shipping_to_payment: Timing = Timing(median=50.0)
    payment_to_order: Timing = Timing(median=20.0)
    payment_retry_gap: Timing = Timing(median=30.0)
    refund_delay: Timing = Timing(median=1800.0, spread=1.0)

    hourly_traffic: tuple[float, ...] = field(default_factory=_hourly_traffic)
    """Relative traffic by local hour of day, 24 values."""

    warm_up_seconds: float = 300.0
    """Sessions are simulated from this long before a run's start, so the run opens on
    a shop in full swing (sessions in progress, the full event rate) instead of ramping
    up from nobody over the first minutes."""

    events_per_session: float = 5.1
    """Average events of a session under this profile, measured (see
    tests/unit/simulator/test_rates.py). The session arrival rate is the requested
    event rate divided by it."""
