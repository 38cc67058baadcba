"""Session scripts: what one visit does, step by step, as a generator the run's event
loop advances (see `simulator.run`). Each step waits a realistic delay, then yields the
next event; decisions that incidents change (order or not, payment fails or not) are
taken at the moment they happen.

A shopper's path: landing page, maybe a search, product pages, maybe cart adds (and a
removal), maybe a checkout: started, shipping, payment, then the order, with payment
failures and retries on the way. Every stage can be the last, and a cart left behind
stays with the visitor, who may come back for it.

Along the way, the user journey (`simulator.journey`): logged-in customers invite people,
some of whom come as new visitors and sign up referred by them; a few sessions compare
products before viewing them, fewer ask for a demo; logged-in visitors use features on
product pages and gift wrap in the cart; after an order some customers answer the
post-purchase NPS question, and some later the support CSAT survey.
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
from simulator.journey import (
    GIFT_WRAP,
    POST_PURCHASE_SURVEY,
    PRODUCT_PAGE_FEATURES,
    SUPPORT_SURVEY,
    csat_score,
    nps_score,
)
from simulator.run import DIRECT_SOURCE, Script, SimulationRun
from simulator.sources import SOURCES, campaign_sources, landing_url
from simulator.visitors import Cart, CartLine, Visit, Visitor

_FREE_SHIPPING_FROM = Decimal(60)
_SHIPPING_FEE = Decimal("4.95")
_VAT_RATE = Decimal("0.19")
_CENT = Decimal("0.01")
_LANDING_PATHS = ("/", "/", "/collections/shoes", "/collections/jackets", "/sale")
_CATEGORY_NAMES = tuple(CATEGORIES)
_FEATURE_NAMES = tuple(PRODUCT_PAGE_FEATURES)
_FEATURE_WEIGHTS = tuple(PRODUCT_PAGE_FEATURES.values())

Steps = Generator[tuple[float, SimulatedEvent], None, float]
"""Part of a script: yields its events and returns the offset it ended at."""

Comparison = Generator[tuple[float, SimulatedEvent], None, tuple[float, list[Product]]]
"""A comparison's steps: return the offset they ended at and the products compared."""


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


def _shop(
    run: SimulationRun,
    visitor: Visitor,
    offset: float,
    returning: bool,
    invited: bool = False,
) -> Script:
    visitor.in_session = True
    try:
        yield from _visit(run, visitor, offset, returning, invited)
    finally:
        visitor.in_session = False


def _invited(run: SimulationRun, referrer_id: str, offset: float) -> Script:
    """Someone invited by `referrer_id` follows the invitation: a new visitor, on a link
    without tags or referrer (a direct visit), who may sign up at once."""
    visitor = run.new_visitor()
    visitor.referrer_id = referrer_id
    run.pool.remember(visitor, run.rng)
    return _shop(run, visitor, offset, returning=False, invited=True)


def _visit(
    run: SimulationRun, visitor: Visitor, offset: float, returning: bool, invited: bool = False
) -> Script:
    profile, rng = run.profile, run.rng
    source = DIRECT_SOURCE if invited else run.draw_source(returning)
    logged_in = visitor.account_id is not None and run.chance(profile.logged_in_rate)
    visit = Visit(
        visitor,
        run.new_id("sess"),
        source,
        visitor.account_id if logged_in else None,
        landing_url(source, "/invite" if invited else rng.choice(_LANDING_PATHS)),
    )
    yield offset, run.event(visit, "page_view", offset)
    if invited and run.chance(profile.referred_signup_rate):
        offset = yield from _signup(run, visit, offset)
    elif visit.user_id is not None and visitor.orders and run.chance(profile.invite_rate):
        offset = yield from _invite(run, visit, offset)

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

    compared: list[Product] = []
    if run.chance(profile.compare_rate):
        offset, compared = yield from _compare(run, visit, offset)
    if run.chance(profile.search_rate):
        offset += run.delay(profile.browse_gap)
        term = rng.choice(SEARCH_TERMS)
        visit.url = f"{SHOP_URL}/search?q={term.replace(' ', '+')}"
        yield offset, run.event(visit, "search", offset, query=term)
    viewed: list[Product] = []
    while True:
        # After a comparison, the first product page is that of one compared.
        product = compared.pop(0) if compared else run.catalog.pick(rng)
        offset = yield from _product_page(run, visit, offset, product)
        viewed.append(product)
        if not run.chance(profile.more_products_rate):
            break
    if visitor.account_id is None and run.chance(profile.signup_rate):
        offset = yield from _signup(run, visit, offset)
    if run.chance(profile.newsletter_rate):
        offset += run.delay(profile.browse_gap)
        yield offset, run.event(visit, "newsletter_signup", offset)
    if run.chance(profile.demo_rate):
        offset = yield from _page(run, visit, offset, f"{SHOP_URL}/pages/book-a-demo")
        offset += run.delay(profile.browse_gap)
        yield offset, run.event(visit, "demo_requested", offset)

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
    if visit.user_id is not None and run.chance(run.profile.feature_rate):
        feature = run.rng.choices(_FEATURE_NAMES, weights=_FEATURE_WEIGHTS)[0]
        offset += run.delay(run.profile.browse_gap) / 2
        yield offset, run.event(visit, "feature_used", offset, feature=feature)
    return offset


def _signup(run: SimulationRun, visit: Visit, offset: float) -> Steps:
    """The visitor creates an account and is logged in from then on. An invited visitor's
    signup names the inviter (`referrer_id`)."""
    offset = yield from _page(run, visit, offset, f"{SHOP_URL}/account/register")
    visitor = visit.visitor
    visitor.account_id = visit.user_id = run.new_account_id()
    offset += run.delay(run.profile.browse_gap)
    fields = {} if visitor.referrer_id is None else {"referrer_id": visitor.referrer_id}
    yield offset, run.event(visit, "signup", offset, **fields)
    return offset


def _invite(run: SimulationRun, visit: Visit, offset: float) -> Steps:
    """A logged-in customer invites one or more people; each may follow the invitation
    later, as a new visitor referred by this one (`_invited`)."""
    profile = run.profile
    referrer_id = visit.user_id
    assert referrer_id is not None
    offset = yield from _page(run, visit, offset, f"{SHOP_URL}/account/invite")
    for _ in range(run.rng.randint(1, profile.most_invites)):
        offset += run.delay(profile.browse_gap) / 2
        yield offset, run.event(visit, "invite_sent", offset)
        if run.chance(profile.invite_accept_rate):
            accepted = offset + run.delay(profile.invite_accept_delay)
            run.schedule(_invited(run, referrer_id, accepted))
    return offset


def _compare(run: SimulationRun, visit: Visit, offset: float) -> Comparison:
    """Two or three products side by side (fewer when the same one is picked twice)."""
    picked = (run.catalog.pick(run.rng) for _ in range(run.rng.randint(2, 3)))
    products = list({product.product_id: product for product in picked}.values())
    ids = ",".join(product.product_id for product in products)
    offset = yield from _page(run, visit, offset, f"{SHOP_URL}/compare?ids={ids}")
    offset += run.delay(run.profile.product_view_gap)
    lines = tuple({"product_id": product.product_id} for product in products)
    yield offset, run.event(visit, "products_compared", offset, products=lines)
    return offset, products


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
    if visit.user_id is not None and run.chance(profile.gift_wrap_rate):
        offset += run.delay(profile.browse_gap) / 2
        visit.url = f"{SHOP_URL}/cart"
        yield offset, run.event(visit, "feature_used", offset, feature=GIFT_WRAP)
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
            if run.chance(profile.nps_response_rate):
                yield from _post_purchase_survey(run, visit, offset)
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
    if run.chance(run.profile.support_survey_rate):
        run.schedule(
            _support_survey(run, visitor, offset + run.delay(run.profile.support_survey_delay))
        )
    return event


def _post_purchase_survey(run: SimulationRun, visit: Visit, offset: float) -> Script:
    """The NPS question on the order confirmation page; an nps-drop incident skews the
    answers given while it lasts to detractors."""
    offset += run.delay(run.profile.survey_gap)
    score = nps_score(run.rng, run.timeline.nps_detractor_share(offset))
    yield (
        offset,
        run.event(
            visit, "survey_response", offset, scale="nps", score=score, survey=POST_PURCHASE_SURVEY
        ),
    )


def _support_survey(run: SimulationRun, visitor: Visitor, offset: float) -> Script:
    """After a support contact about the order, the customer follows the CSAT survey's
    link in the e-mail: a short visit of its own, logged in when the customer has an
    account."""
    visit = Visit(
        visitor,
        run.new_id("sess"),
        DIRECT_SOURCE,
        visitor.account_id,
        f"{SHOP_URL}/pages/support-feedback",
    )
    yield offset, run.event(visit, "page_view", offset)
    offset += run.delay(run.profile.survey_gap)
    yield (
        offset,
        run.event(
            visit, "survey_response", offset, scale="csat", score=csat_score(run.rng),
            survey=SUPPORT_SURVEY,
        ),
    )


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
