"""Session scripts: what one visit does, step by step, as a generator the run's event
loop advances (see `simulator.run`). Each step waits a realistic delay, then yields the
next event; decisions that incidents change (order or not, payment fails or not) are
taken at the moment they happen.

A shopper's path: landing page, maybe a search, product pages, maybe cart adds (and a
removal), maybe a checkout: started, shipping, payment, then the order, with payment
failures and retries on the way. Every stage can be the last, and a cart left behind
stays with the visitor, who may come back for it.
"""

from collections.abc import Generator
from decimal import Decimal

from simulator.catalog import (
    CATEGORIES,
    CURRENCY,
    FAILURE_REASONS,
    OUTAGE_REASONS,
    SEARCH_TERMS,
    SHOP_URL,
    Product,
    category_url,
)
from simulator.events import SimulatedEvent
from simulator.run import DIRECT_SOURCE, Script, SimulationRun
from simulator.sources import SOURCES, campaign_sources, landing_url
from simulator.visitors import Cart, CartLine, Visit, Visitor

_FREE_SHIPPING_FROM = Decimal(60)
_SHIPPING_FEE = Decimal("4.95")
_VAT_RATE = Decimal("0.19")
_CENT = Decimal("0.01")
_LANDING_PATHS = ("/", "/", "/collections/shoes", "/collections/jackets", "/sale")
_CATEGORY_NAMES = tuple(CATEGORIES)

Steps = Generator[tuple[float, SimulatedEvent], None, float]
"""Part of a script: yields its events and returns the offset it ended at."""


def start_session(run: SimulationRun, offset: float) -> Script:
    """The script of a session starting at `offset`: a bot's crawl or a shopper's visit."""
    profile = run.profile
    wasted = run.wasted_click_share(offset)
    if wasted and run.chance(wasted / (1 + wasted)):
        return _wasted_click(run, offset)
    if run.chance(profile.bot_share):
        return _crawl(run, run.new_bot(), offset)
    visitor = None
    if run.chance(profile.returning_share):
        visitor = run.pool.returning(run.rng)
    returning = visitor is not None
    if visitor is None:
        visitor = run.new_visitor()
        run.pool.remember(visitor, run.rng)
    return _shop(run, visitor, offset, returning)


def _wasted_click(run: SimulationRun, offset: float) -> Script:
    """A click campaign waste paid for: a new visitor lands from the wasted campaign, finds
    nothing they wanted, and leaves (a bounce; they never buy)."""
    incidents = run.timeline.wasted_clicks(offset)
    incident = run.rng.choices(incidents, weights=[i.extra for i in incidents])[0]
    sources = campaign_sources(incident.channel, incident.campaign)
    weights = dict(SOURCES[incident.channel])
    source = run.rng.choices(sources, weights=[weights[s] for s in sources])[0]
    visitor = run.new_visitor()
    run.pool.remember(visitor, run.rng)
    visit = Visit(
        visitor, run.new_id("sess"), source, None, landing_url(source, run.rng.choice(_LANDING_PATHS))
    )
    yield offset, run.event(visit, "page_view", offset)


def _crawl(run: SimulationRun, bot: Visitor, offset: float) -> Script:
    """A crawler: many pages quickly, no referrer, never a cart."""
    visit = Visit(bot, run.new_id("sess"), DIRECT_SOURCE, None, f"{SHOP_URL}/")
    yield offset, run.event(visit, "page_view", offset)
    for _ in range(run.rng.randint(3, 25)):
        offset += run.delay(run.profile.bot_gap)
        product = run.catalog.pick(run.rng)
        visit.url = product.url
        yield offset, run.event(visit, "page_view", offset)
        yield offset, run.event(visit, "product_view", offset, product_id=product.product_id)


def _shop(run: SimulationRun, visitor: Visitor, offset: float, returning: bool) -> Script:
    visitor.in_session = True
    try:
        yield from _visit(run, visitor, offset, returning)
    finally:
        visitor.in_session = False


def _visit(run: SimulationRun, visitor: Visitor, offset: float, returning: bool) -> Script:
    profile, rng = run.profile, run.rng
    source = run.draw_source(returning)
    logged_in = visitor.account_id is not None and run.chance(profile.logged_in_rate)
    visit = Visit(
        visitor,
        run.new_id("sess"),
        source,
        visitor.account_id if logged_in else None,
        landing_url(source, rng.choice(_LANDING_PATHS)),
    )
    yield offset, run.event(visit, "page_view", offset)

    cart = visitor.open_cart
    if cart is not None and run.chance(profile.resume_cart_rate):
        offset = yield from _page(run, visit, offset, f"{SHOP_URL}/cart")
        yield from _checkout(run, visit, cart, offset)
        return

    if not run.chance(profile.product_view_rate):
        if run.chance(profile.extra_pages_rate):
            for _ in range(rng.randint(1, 3)):
                offset = yield from _page(
                    run, visit, offset, category_url(rng.choice(_CATEGORY_NAMES))
                )
        if run.chance(profile.newsletter_rate):
            offset += run.delay(profile.browse_gap)
            yield offset, run.event(visit, "newsletter_signup", offset)
        return

    if run.chance(profile.search_rate):
        offset += run.delay(profile.browse_gap)
        term = rng.choice(SEARCH_TERMS)
        visit.url = f"{SHOP_URL}/search?q={term.replace(' ', '+')}"
        yield offset, run.event(visit, "search", offset, query=term)
    viewed: list[Product] = []
    while True:
        product = run.catalog.pick(rng)
        offset = yield from _product_page(run, visit, offset, product)
        viewed.append(product)
        if not run.chance(profile.more_products_rate):
            break
    if visitor.account_id is None and run.chance(profile.signup_rate):
        offset = yield from _signup(run, visit, offset)
    if run.chance(profile.newsletter_rate):
        offset += run.delay(profile.browse_gap)
        yield offset, run.event(visit, "newsletter_signup", offset)

    intent = (
        profile.cart_add_rate
        * profile.channel_intent[source.channel]
        * profile.device_intent[visitor.agent.device]
        * (profile.customer_intent if visitor.orders else 1.0)
    )
    if not run.chance(intent):
        return
    if cart is None:
        cart = visitor.open_cart = Cart(run.new_id("cart"))
    offset = yield from _fill_cart(run, visit, cart, offset, viewed[-1])
    if not run.chance(profile.checkout_rate):
        return
    yield from _checkout(run, visit, cart, offset)


def _page(run: SimulationRun, visit: Visit, offset: float, url: str) -> Steps:
    offset += run.delay(run.profile.browse_gap)
    visit.url = url
    yield offset, run.event(visit, "page_view", offset)
    return offset


def _product_page(run: SimulationRun, visit: Visit, offset: float, product: Product) -> Steps:
    offset = yield from _page(run, visit, offset, product.url)
    offset += run.delay(run.profile.product_view_gap)
    yield offset, run.event(visit, "product_view", offset, product_id=product.product_id)
    return offset


def _signup(run: SimulationRun, visit: Visit, offset: float) -> Steps:
    """The visitor creates an account and is logged in from then on."""
    offset = yield from _page(run, visit, offset, f"{SHOP_URL}/account/register")
    visit.visitor.account_id = visit.user_id = run.new_account_id()
    offset += run.delay(run.profile.browse_gap)
    yield offset, run.event(visit, "signup", offset)
    return offset


def _fill_cart(
    run: SimulationRun, visit: Visit, cart: Cart, offset: float, first: Product
) -> Steps:
    profile, rng = run.profile, run.rng
    product = first
    while True:
        quantity = 1 if run.chance(0.85) else rng.randint(2, 3)
        cart.lines.append(CartLine(product, quantity))
        offset += run.delay(profile.product_view_gap) * 3
        yield offset, _cart_event(run, visit, cart, "cart_add", offset, product, quantity)
        if not run.chance(profile.more_items_rate):
            break
        product = run.catalog.pick(rng)
        offset = yield from _product_page(run, visit, offset, product)
    if len(cart.lines) >= 2 and run.chance(profile.cart_remove_rate):
        line = cart.lines.pop(rng.randrange(len(cart.lines)))
        offset += run.delay(profile.browse_gap)
        visit.url = f"{SHOP_URL}/cart"
        yield (
            offset,
            _cart_event(run, visit, cart, "cart_remove", offset, line.product, line.quantity),
        )
    return offset


def _cart_event(
    run: SimulationRun,
    visit: Visit,
    cart: Cart,
    event_type: str,
    offset: float,
    product: Product,
    quantity: int,
) -> SimulatedEvent:
    return run.event(
        visit,
        event_type,
        offset,
        cart,
        product_id=product.product_id,
        price=product.price,
        quantity=quantity,
        currency=CURRENCY,
    )


def _checkout(run: SimulationRun, visit: Visit, cart: Cart, offset: float) -> Script:
    profile, timeline = run.profile, run.timeline
    visitor = visit.visitor
    if visitor.account_id is not None:
        visit.user_id = visitor.account_id
    elif run.chance(profile.checkout_signup_rate):
        offset = yield from _signup(run, visit, offset)
    offset += run.delay(profile.browse_gap)
    visit.url = f"{SHOP_URL}/checkout"
    yield offset, run.event(visit, "checkout_started", offset, cart)

    offset += run.delay(profile.checkout_to_shipping, timeline.checkout_slowdown(offset))
    if not run.chance(profile.shipping_rate):
        return
    visit.url = f"{SHOP_URL}/checkout/shipping"
    yield offset, run.event(visit, "checkout_step", offset, cart, step="shipping")

    offset += run.delay(profile.shipping_to_payment, timeline.checkout_slowdown(offset))
    if not run.chance(profile.payment_rate):
        return
    method = run.payment_methods.draw(run.rng)
    visit.url = f"{SHOP_URL}/checkout/payment"
    yield (
        offset,
        run.event(visit, "checkout_step", offset, cart, step="payment", payment_method=method),
    )

    offset += run.delay(profile.payment_to_order, timeline.checkout_slowdown(offset))
    if not run.chance(profile.order_rate * timeline.order_factor(visit.source.channel, offset)):
        return
    for attempt in range(1, profile.most_payment_attempts + 1):
        outage_rate = timeline.outage_failure_rate(method, offset)
        failure_rate = profile.payment_failure_rates[method] if outage_rate is None else outage_rate
        if not run.chance(failure_rate):
            yield offset, _order(run, visit, cart, offset, method)
            return
        reasons = FAILURE_REASONS[method] if outage_rate is None else OUTAGE_REASONS
        yield (
            offset,
            run.event(
                visit,
                "payment_failed",
                offset,
                cart,
                payment_method=method,
                reason=run.rng.choice(reasons),
            ),
        )
        if attempt == profile.most_payment_attempts or not run.chance(profile.retry_rate):
            return
        if run.chance(profile.switch_method_rate):
            method = run.payment_methods.draw(run.rng)
        offset += run.delay(profile.payment_retry_gap)


def _order(
    run: SimulationRun, visit: Visit, cart: Cart, offset: float, method: str
) -> SimulatedEvent:
    visitor = visit.visitor
    revenue = cart.value
    order_id = run.new_id("ord")
    items = tuple(
        {
            "product_id": line.product.product_id,
            "price": line.product.price,
            "quantity": line.quantity,
        }
        for line in cart.lines
    )
    visit.url = f"{SHOP_URL}/checkout/complete"
    event = run.event(
        visit,
        "order_completed",
        offset,
        cart,
        order_id=order_id,
        revenue=revenue,
        currency=CURRENCY,
        items=items,
        payment_method=method,
        shipping=Decimal(0) if revenue >= _FREE_SHIPPING_FROM else _SHIPPING_FEE,
        tax=(revenue * _VAT_RATE).quantize(_CENT),
    )
    visitor.orders += 1
    visitor.open_cart = None
    if run.chance(run.profile.refund_rate):
        run.schedule(
            _refund(run, visitor, offset + run.delay(run.profile.refund_delay), order_id, revenue)
        )
    return event


def _refund(
    run: SimulationRun, visitor: Visitor, offset: float, order_id: str, amount: Decimal
) -> Script:
    """A refund, sent by the shop's back office: no session, page or browser."""
    visit = Visit(visitor, "", DIRECT_SOURCE, visitor.account_id, "")
    event = run.event(
        visit, "order_refunded", offset, order_id=order_id, amount=amount, currency=CURRENCY
    )
    event.session_id = event.url = event.agent = None
    yield offset, event
