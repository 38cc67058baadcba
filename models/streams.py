"""Which input stream each canonical event type travels on (KPIS.md section 1)."""

CLICKSTREAM, CART, PURCHASE = "clickstream", "cart", "purchase"

STREAM_OF_TYPE: dict[str, str] = {
    "page_view": CLICKSTREAM,
    "product_view": CLICKSTREAM,
    "search": CLICKSTREAM,
    "signup": CLICKSTREAM,
    "newsletter_signup": CLICKSTREAM,
    "invite_sent": CLICKSTREAM,
    "survey_response": CLICKSTREAM,
    "feature_used": CLICKSTREAM,
    "demo_requested": CLICKSTREAM,
    "products_compared": CLICKSTREAM,
    "cart_add": CART,
    "cart_remove": CART,
    "checkout_started": CART,
    "checkout_step": CART,
    "payment_failed": PURCHASE,
    "order_completed": PURCHASE,
    "order_refunded": PURCHASE,
    "order_cancelled": PURCHASE,
    "order_updated": PURCHASE,
}
