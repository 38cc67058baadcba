"""The user journey beyond the funnel: the features the shop's visitors use, the surveys
its customers answer and how they score, and who a sent invitation went to.

The names are short, fixed lists, as a shop's are: `KPIWATCH_FEATURES` and
`KPIWATCH_SURVEYS` set to them (`python -m simulator features`, `python -m simulator
surveys`) report each by name. `UNLISTED_FEATURES` are used now and then too and are not
in the list, so kpiwatch reports them as other.
"""

import hashlib
import random

FEATURES: tuple[str, ...] = ("wishlist", "size_guide", "gift_wrap")
"""The shop's features (feature_used `feature`): the wishlist and the size guide on product
pages, gift wrap in the cart."""

UNLISTED_FEATURES: tuple[str, ...] = ("beta_ar_tryon",)
"""A feature in beta that no configuration lists: reported as other."""

PRODUCT_PAGE_FEATURES: dict[str, float] = {
    "wishlist": 0.48,
    "size_guide": 0.47,
    "beta_ar_tryon": 0.05,
}
"""What a logged-in visitor uses on a product page, and how often."""

GIFT_WRAP = "gift_wrap"

POST_PURCHASE_SURVEY = "post_purchase"
"""The NPS question on the order confirmation page."""

SUPPORT_SURVEY = "support"
"""The CSAT question a customer gets by e-mail after a support contact."""

SURVEYS: tuple[str, ...] = (POST_PURCHASE_SURVEY, SUPPORT_SURVEY)

NPS_WEIGHTS: tuple[float, ...] = (
    0.02, 0.01, 0.02, 0.02, 0.03, 0.04, 0.06,  # 0-6: detractors, 20 % of answers
    0.12, 0.18,  # 7-8: passives, 30 %
    0.22, 0.28,  # 9-10: promoters, 50 %: an NPS of +30, a good shop's
)
"""How likely to recommend the shop, 0 to 10: the share of answers of each score."""

DETRACTOR_SCORES = range(0, 7)

CSAT_WEIGHTS: dict[int, float] = {1: 0.06, 2: 0.07, 3: 0.12, 4: 0.30, 5: 0.45}
"""How satisfied with the support, 1 to 5."""

_FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannah", "Jonas",
                "Lea", "Mia", "Noah", "Paul", "Sofia", "Tim")
_LAST_NAMES = ("Becker", "Fischer", "Hoffmann", "Keller", "Koch", "Meyer", "Richter",
               "Schmidt", "Schulz", "Wagner", "Weber", "Wolf")
INVITEE_ROLE = "Member"


def nps_score(rng: random.Random, detractor_share: float | None = None) -> int:
    """An NPS answer. With `detractor_share` (an nps-drop incident) that share of answers
    are detractors (0-6), the others passives and promoters in their usual proportion."""
    weights = list(NPS_WEIGHTS)
    if detractor_share is not None:
        usual = sum(weights[score] for score in DETRACTOR_SCORES)
        for score in range(len(weights)):
            weights[score] *= (
                detractor_share / usual
                if score in DETRACTOR_SCORES
                else (1 - detractor_share) / (1 - usual)
            )
    return rng.choices(range(len(weights)), weights=weights)[0]


def csat_score(rng: random.Random) -> int:
    return rng.choices(tuple(CSAT_WEIGHTS), weights=tuple(CSAT_WEIGHTS.values()))[0]


def invitee(event_id: str) -> dict[str, str]:
    """Who an invitation went to (Segment Invite Sent's invitee_* properties): fake people
    at example.com, fixed by the event id, so that the run's generator is not drawn from
    for what only one format sends."""
    digest = hashlib.blake2b(f"invitee|{event_id}".encode(), digest_size=8).digest()
    number = int.from_bytes(digest)
    first = _FIRST_NAMES[number % len(_FIRST_NAMES)]
    last = _LAST_NAMES[number // len(_FIRST_NAMES) % len(_LAST_NAMES)]
    suffix = number // (len(_FIRST_NAMES) * len(_LAST_NAMES)) % 100
    return {
        "invitee_email": f"{first.lower()}.{last.lower()}{suffix}@example.com",
        "invitee_first_name": first,
        "invitee_last_name": last,
        "invitee_role": INVITEE_ROLE,
    }
