"""GA4's Measurement Protocol shape: `{client_id, user_id, timestamp_micros, events}`,
with exactly one event per message so that one message is one event, as in the other
formats (`spec_shape` may put a session_start or user_engagement before it). The event id
travels as the `event_id` param.

GA4 has no cart id: cart and checkout events lose it, and kpiwatch falls back to the
session as the cart's identity (KPIS.md). GA4's session ids are per client, so the
ingestion derives the session as "<client_id>.<session_id>".
"""

from typing import Any

from simulator.events import SimulatedEvent
from simulator.formats.timestamps import epoch_micros

EVENT_NAMES: dict[str, str] = {
    "page_view": "page_view",
    "product_view": "view_item",
    "search": "search",
    "signup": "sign_up",
    "newsletter_signup": "newsletter_signup",
    "invite_sent": "invite_sent",
    "survey_response": "survey_response",
    "feature_used": "feature_used",
    "demo_requested": "demo_requested",
    "products_compared": "products_compared",
    "cart_add": "add_to_cart",
    "cart_remove": "remove_from_cart",
    "checkout_started": "begin_checkout",
    "payment_failed": "payment_failed",
    "order_completed": "purchase",
    "order_refunded": "refund",
}
"""Canonical type -> GA4 event name; checkout steps are named by their step. GA4 recommends
no event for the user journey's (invite_sent, survey_response, ...): they are custom events
of the canonical names, as kpiwatch reads them."""

STEP_NAMES = {"shipping": "add_shipping_info", "payment": "add_payment_info"}


def encode(event: SimulatedEvent) -> dict[str, Any]:
    fields = event.fields
    name = STEP_NAMES[fields["step"]] if event.type == "checkout_step" else EVENT_NAMES[event.type]
    params: dict[str, Any] = {"event_id": event.event_id}
    if event.session_id is not None:
        params["session_id"] = event.session_id
    if event.url is not None:
        params["page_location"] = event.url
    source = event.source
    if source.referrer is not None:
        params["page_referrer"] = source.referrer
    if source.utm_source is not None:
        params["source"], params["medium"], params["campaign"] = (
            source.utm_source,
            source.utm_medium,
            source.utm_campaign,
        )
    params.update(_params(event.type, fields))
    message: dict[str, Any] = {"client_id": event.anonymous_id}
    if event.user_id is not None:
        message["user_id"] = event.user_id
    message["timestamp_micros"] = epoch_micros(event.event_time)
    if event.agent is not None:
        message["user_agent"] = event.agent.text
    message["events"] = [{"name": name, "params": params}]
    return message


def _params(event_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    match event_type:
        case "product_view":
            return {"items": [{"item_id": fields["product_id"]}]}
        case "search":
            return {"search_term": fields["query"]}
        case "signup" if "referrer_id" in fields:
            return {"referrer_id": fields["referrer_id"]}
        case "survey_response":
            return {
                "survey_name": fields["survey"],
                "scale": fields["scale"],
                "score": fields["score"],
            }
        case "feature_used":
            return {"feature_name": fields["feature"]}
        case "products_compared":
            return {"items": [{"item_id": line["product_id"]} for line in fields["products"]]}
        case "cart_add" | "cart_remove":
            item = {
                "item_id": fields["product_id"],
                "price": float(fields["price"]),
                "quantity": fields["quantity"],
            }
            return {
                "currency": fields["currency"],
                "value": float(fields["price"] * fields["quantity"]),
                "items": [item],
            }
        case "checkout_step" if "payment_method" in fields:
            return {"payment_type": fields["payment_method"]}
        case "payment_failed":
            return {"payment_type": fields["payment_method"], "reason": fields["reason"]}
        case "order_completed":
            return {
                "transaction_id": fields["order_id"],
                "value": float(fields["revenue"]),
                "currency": fields["currency"],
                "payment_type": fields["payment_method"],
                "shipping": float(fields["shipping"]),
                "tax": float(fields["tax"]),
                "items": [
                    {
                        "item_id": item["product_id"],
                        "price": float(item["price"]),
                        "quantity": item["quantity"],
                    }
                    for item in fields["items"]
                ],
            }
        case "order_refunded":
            return {
                "transaction_id": fields["order_id"],
                "value": float(fields["amount"]),
                "currency": fields["currency"],
            }
    return {}
