"""The user journey: activation, referrals, surveys (NPS, CSAT), feature adoption, demo
requests, product comparisons and time on product pages.

Activation: a user who signed up is activated by its first ``KPIWATCH_ACTIVATION_EVENT``
(default order_completed) within ``KPIWATCH_ACTIVATION_WINDOW`` (default 7 days) of its first
signup. Two views of it, both exact:
- ``activations``, and ``time_to_activate_seconds_*`` (a histogram of the time from signup),
  in the window of the activating event;
- the cohort: when a signup's window ends (the user's ``activation`` timer),
  ``activation_cohort`` counts it, and ``activation_cohort_activated`` if it activated, in
  the window of that instant. Their ratio is the activation rate of the signups of one
  activation window earlier, settled once and never changed.

Referrals: ``invites_sent`` and ``inviting_users`` (distinct users who sent one);
``referred_signups`` (a signup with a ``referrer_id``); ``referred_customers``: the first
order of a user whose signup was referred. Virality coefficient = referred signups /
inviting users; referred-user conversion = referred customers / referred signups.

Surveys, per survey (``KPIWATCH_SURVEYS``, else other): ``nps_responses``,
``nps_promoters`` (9-10), ``nps_detractors`` (0-6); ``csat_responses``, ``csat_satisfied``
(4-5) and ``csat_score_sum``. NPS = (promoters - detractors) / responses x 100; CSAT =
satisfied / responses.

Features, per feature (``KPIWATCH_FEATURES``, else other): ``feature_uses`` and
``feature_users`` (distinct user keys that used it in the window); adoption = feature users /
``users``.

``demo_requests|<channel>``, ``product_comparisons|<channel>``.

Time on product pages: a product view's time is the time to its session's next event (the
last event of a session has no measured time, as in analytics tools' time on page):
``product_page_seconds`` and ``timed_product_views``, in the window of that next event.
"""

from __future__ import annotations

from decimal import Decimal

from streams.kpis.checkout import observe
from streams.kpis.context import EventContext, TimerContext

# An hour, six, a day, two, three, a week, two: how soon signups come back to buy.
ACTIVATION_BUCKETS_SECONDS = (3600, 21600, 86400, 172800, 259200, 604800, 1209600)
NPS_PROMOTER, NPS_DETRACTOR_BELOW = 9, 7
CSAT_SATISFIED = 4


def apply(ctx: EventContext) -> None:
    event, ws, session, user = ctx.event, ctx.ws, ctx.session, ctx.user
    kind = event.type
    viewed_ms = session.pop("product_view_ms", None)
    if viewed_ms is not None:
        ws.add_all("product_page_seconds", Decimal(ctx.event_ms - viewed_ms) / 1000)
        ws.add_all("timed_product_views")
    if kind == "product_view":
        session["product_view_ms"] = ctx.event_ms
    if kind == ctx.settings.activation_event:
        _activate(ctx)
    if kind == "signup":
        _signed_up(ctx)
    elif kind == "order_completed":
        if user.get("referred") is True:
            user["referred"] = "customer"
            ws.add_all("referred_customers")
    elif kind == "invite_sent":
        ws.add_all("invites_sent")
        if windows := ctx.first_in(user, "inviting"):
            ws.add_across(windows, "inviting_users")
    elif kind == "survey_response":
        _survey(ctx)
    elif kind == "feature_used":
        feature = ctx.settings.feature(event.feature)
        ws.add_all(f"feature_uses|{feature}")
        if windows := ctx.first_in(user, f"feature:{feature}"):
            ws.add_across(windows, f"feature_users|{feature}")
    elif kind == "demo_requested":
        ws.add_all(f"demo_requests|{ctx.channel}")
    elif kind == "products_compared":
        ws.add_all(f"product_comparisons|{ctx.channel}")


def _signed_up(ctx: EventContext) -> None:
    user = ctx.user
    if "signup_ms" in user:
        return  # (a second signup of one user key changes nothing)
    user["signup_ms"] = ctx.event_ms
    user["timers"]["activation"] = ctx.event_ms + ctx.settings.activation_ms
    ctx.ws.arm("user", ctx.event.user_key, user, ctx.event_ms)
    # (A signup written to the internal topic before referrals were read has no field.)
    if getattr(ctx.event, "referrer_id", None) is not None:
        user["referred"] = True
        ctx.ws.add_all("referred_signups")


def _activate(ctx: EventContext) -> None:
    user = ctx.user
    signed_up = user.get("signup_ms")
    if signed_up is None or user.get("activated") or \
            ctx.event_ms - signed_up > ctx.settings.activation_ms:
        return
    user["activated"] = True
    ctx.ws.add_all("activations")
    observe(ctx.ws, "time_to_activate_seconds", Decimal(ctx.event_ms - signed_up) / 1000,
            ACTIVATION_BUCKETS_SECONDS)


def activation_ended(ctx: TimerContext) -> None:
    """A signup's activation window is over: it joins the cohort, activated or not."""
    ctx.ws.add_all("activation_cohort")
    if ctx.state.get("activated"):
        ctx.ws.add_all("activation_cohort_activated")


def _survey(ctx: EventContext) -> None:
    event, ws = ctx.event, ctx.ws
    survey = ctx.settings.survey(event.survey)
    if event.scale == "nps":
        ws.add_all(f"nps_responses|{survey}")
        if event.score >= NPS_PROMOTER:
            ws.add_all(f"nps_promoters|{survey}")
        elif event.score < NPS_DETRACTOR_BELOW:
            ws.add_all(f"nps_detractors|{survey}")
    else:
        ws.add_all(f"csat_responses|{survey}")
        ws.add_all(f"csat_score_sum|{survey}", event.score)
        if event.score >= CSAT_SATISFIED:
            ws.add_all(f"csat_satisfied|{survey}")
