"""Every metric kpiwatch exports, declared once: name, type, labels, meaning, example PromQL.

Values that live in Faust tables are exported per source partition (label ``partition``), so
that a sum across workers stays exact while partitions move between them in a rebalance: during
a handover two workers may briefly report the same partition, and ``max by (..., partition)``
keeps one. Every spec's PromQL shows the pattern. Labels are bounded: stream (configured topic
names), type (canonical event types), reason (RejectReason codes), partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    help: str
    promql: str


EVENTS = MetricSpec(
    name="kpiwatch_events_total",
    type="counter",
    labels=("stream", "type", "partition"),
    help="Valid events received, by input stream and canonical type (duplicates included: "
    "kpiwatch_duplicate_events_total counts those dropped).",
    promql="sum by (stream, type) (max by (stream, type, partition) (kpiwatch_events_total))",
)
BOT_EVENTS = MetricSpec(
    name="kpiwatch_bot_events_total",
    type="counter",
    labels=("partition",),
    help="Valid events from bot user agents (tagged, excluded from KPIs).",
    promql="sum(max by (partition) (kpiwatch_bot_events_total))",
)
INVALID_EVENTS = MetricSpec(
    name="kpiwatch_invalid_events_total",
    type="counter",
    labels=("stream", "reason", "partition"),
    help="Rejected messages sent to the dead-letter topic, by source stream and reason code.",
    promql="sum by (reason) (max by (stream, reason, partition) (kpiwatch_invalid_events_total))",
)
IGNORED_EVENTS = MetricSpec(
    name="kpiwatch_ignored_events_total",
    type="counter",
    labels=("stream", "type"),
    help="Valid messages that carry no KPI input (Segment identify calls, spec events no KPI "
    "reads such as Product List Viewed, GA4 session_start), by input stream and kind (the "
    "spec's event name, else other). Not invalid and not dead-lettered. Counted by the worker "
    "that ingested them, at least once (a worker's crash can count a poll twice).",
    promql="sum by (type) (rate(kpiwatch_ignored_events_total[5m]))",
)
DUPLICATE_EVENTS = MetricSpec(
    name="kpiwatch_duplicate_events_total",
    type="counter",
    labels=("key", "partition"),
    help="Duplicates dropped: key=event_id (a repeated event) or order_id (a repeated order).",
    promql="sum by (key) (max by (key, partition) (kpiwatch_duplicate_events_total))",
)

# Pipeline health (KPIS.md section 4, last table). Late events are
# kpiwatch_invalid_events_total{reason="late_event"}. Table-backed gauges carry `partition`
# (max by partition, as above); the latency histograms and consumer lag are process-local.
# Watermark and settled-through are exported with the KPI gauges (metrics/kpi_collector.py).
LAST_EVENT_TIME = MetricSpec(
    name="kpiwatch_last_event_timestamp_seconds",
    type="gauge",
    labels=("partition",),
    help="Event time of the latest event seen (after validation), per partition.",
    promql="time() - max(max by (partition) (kpiwatch_last_event_timestamp_seconds))",
)
WATERMARK = MetricSpec(
    name="kpiwatch_watermark_timestamp_seconds",
    type="gauge",
    labels=("partition",),
    help="The KPI engine's event-time watermark per partition: the latest event time of the "
    "slowest input partition feeding it (one read to its end goes on at the wall clock's pace "
    "from its latest event); once all input has been silent for the source idle timeout, it "
    "goes on at the wall clock's pace.",
    promql="time() - min(max by (partition) (kpiwatch_watermark_timestamp_seconds))",
)
SETTLED_THROUGH = MetricSpec(
    name="kpiwatch_settled_through_timestamp_seconds",
    type="gauge",
    labels=("partition",),
    help="Windows settled: the end of the last settled minute per partition; every window "
    "ending at or before it is final. A minute settles once the watermark passes its end plus "
    "the allowed lateness.",
    promql="time() - min(max by (partition) (kpiwatch_settled_through_timestamp_seconds))",
)
CONSUMER_LAG = MetricSpec(
    name="kpiwatch_consumer_lag_messages",
    type="gauge",
    labels=("topic", "partition"),
    help="Messages not yet fetched: highwater minus the consumer's position, per consumed "
    "partition (input, validated, canonical and dead-letter topics) on the worker owning it.",
    promql="sum by (topic) (max by (topic, partition) (kpiwatch_consumer_lag_messages))",
)
# Latency buckets fit for the pipeline's own delay (tens of ms) up to the wait for the allowed
# lateness (5 min by default) and a minute (input that is not live is applied in whole minutes).
# Finer from 0.2 to 0.75 s, around the p99 target of 250 ms: a p99 between 0.25 and 0.5 s was
# a guess from a straight line across that bucket.
LATENCY_BUCKETS_SECONDS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
                           5.0, 10.0, 30.0, 60.0, 120.0, 240.0, 300.0, 360.0, 420.0, 600.0)
EVENT_TO_METRIC_LATENCY = MetricSpec(
    name="kpiwatch_event_to_metric_latency_seconds",
    type="histogram",
    labels=(),
    help="Wall time from an input message's Kafka timestamp to its event being applied and "
    "visible in /metrics (provisionally while its minute is open); includes the wait for the "
    "allowed lateness.",
    promql="histogram_quantile(0.99, sum by (le) "
    "(rate(kpiwatch_event_to_metric_latency_seconds_bucket[5m])))",
)
SETTLE_LATENCY = MetricSpec(
    name="kpiwatch_settle_latency_seconds",
    type="histogram",
    labels=(),
    help="The pipeline's own delay: wall time from the Kafka timestamp of the input message "
    "that moved the watermark (less the allowed lateness) past events to those events being "
    "applied and visible in /metrics.",
    promql="histogram_quantile(0.99, sum by (le) (rate(kpiwatch_settle_latency_seconds_bucket[5m])))",
)
INVALID_SPEND_ROWS = MetricSpec(
    name="kpiwatch_invalid_spend_rows_total",
    type="counter",
    labels=("reason",),
    help="Spend topic messages refused (invalid_json, invalid_field, key_mismatch, no_key, "
    "no_currency_rate): each worker reads the whole topic, so each counts them; the earlier "
    "row of the spend id stays.",
    promql="max by (reason) (kpiwatch_invalid_spend_rows_total) > 0",
)
PIPELINE_HEALTH = (LAST_EVENT_TIME, WATERMARK, SETTLED_THROUGH, CONSUMER_LAG,
                   EVENT_TO_METRIC_LATENCY, SETTLE_LATENCY)

CATALOG: tuple[MetricSpec, ...] = (EVENTS, BOT_EVENTS, INVALID_EVENTS, IGNORED_EVENTS,
                                   DUPLICATE_EVENTS, INVALID_SPEND_ROWS, *PIPELINE_HEALTH)


# KPI gauges: the value of the latest window of each size on each partition, from settled
# minutes only. Labels: window (1m, 5m, 15m, 1h, 1d), window_state ("settled": the last
# complete window; "in_progress": the open one, so far), partition, and the dimensions below.
# Sum over partitions for the whole shop, e.g. the last settled hour's conversion rate:
#   sum(kpiwatch_funnel_sessions{window="1h", window_state="settled", stage="order_completed"})
#   / sum(kpiwatch_sessions{window="1h", window_state="settled"})
@dataclass(frozen=True)
class KpiGauge:
    prefix: str  # the aggregate's metric prefix in streams/kpis
    name: str
    labels: tuple[str, ...]
    help: str


KPI_GAUGES: tuple[KpiGauge, ...] = (
    KpiGauge("sessions", "kpiwatch_sessions", ("channel", "device"),
             "Sessions with at least one event in the window (channel of the session's first event)."),
    KpiGauge("engaged_sessions", "kpiwatch_engaged_sessions", ("channel", "device"),
             "Sessions in the window that were engaged (>= 10 s, >= 2 page views, or an order)."),
    KpiGauge("page_view", "kpiwatch_page_views", ("channel", "device"), "Page and screen views."),
    KpiGauge("product_view", "kpiwatch_product_views", ("channel", "device"), "Product detail views."),
    KpiGauge("search", "kpiwatch_searches", ("channel", "device"), "Searches."),
    KpiGauge("signup", "kpiwatch_signups", ("channel", "device"), "Accounts created."),
    KpiGauge("newsletter_signup", "kpiwatch_newsletter_signups", ("channel", "device"),
             "Newsletter sign-ups."),
    KpiGauge("users", "kpiwatch_users", (), "Distinct user keys with an event in the window."),
    KpiGauge("new_users", "kpiwatch_new_users", (), "User keys seen for the first time ever."),
    KpiGauge("returning_users", "kpiwatch_returning_users", (),
             "Active users first seen on an earlier day."),
    KpiGauge("funnel", "kpiwatch_funnel_sessions", ("stage", "channel"),
             "Sessions that reached a funnel stage in the window."),
    KpiGauge("orders", "kpiwatch_orders", ("channel", "payment_method"),
             "Orders (deduplicated by order_id) in the base currency or converted to it."),
    KpiGauge("revenue", "kpiwatch_revenue", ("channel", "payment_method"),
             "Revenue in the base currency, excluding shipping and tax."),
    KpiGauge("units", "kpiwatch_units_sold", ("channel", "payment_method"), "Units sold."),
    KpiGauge("unconverted_orders", "kpiwatch_unconverted_orders", ("currency",),
             "Orders in a currency without a configured rate, or sent without one (currency "
             "none): counted in kpiwatch_orders, their amount not in revenue."),
    KpiGauge("unconverted_revenue", "kpiwatch_unconverted_revenue", ("currency",),
             "Revenue of the unconverted orders, in their own currency (never summed into "
             "kpiwatch_revenue)."),
    KpiGauge("cancelled_orders", "kpiwatch_cancelled_orders", ("channel", "payment_method"),
             "Orders cancelled (Segment Order Cancelled), counted in the window of the "
             "cancellation under the order's channel and payment method."),
    KpiGauge("cancelled_revenue", "kpiwatch_cancelled_revenue", ("channel", "payment_method"),
             "Revenue of the cancelled orders, in the base currency; net revenue = "
             "kpiwatch_revenue - this - kpiwatch_refunded_revenue + kpiwatch_revenue_adjustment."),
    KpiGauge("revenue_adjustment", "kpiwatch_revenue_adjustment", ("channel", "payment_method"),
             "Revenue changes of orders updated after they were placed (Segment Order Updated: "
             "new - old), in the window of the update; may be negative."),
    KpiGauge("refunds", "kpiwatch_refunds", ("channel",), "Refunded orders."),
    KpiGauge("refunded", "kpiwatch_refunded_revenue", ("channel",),
             "Refunded amount in the base currency (a full refund: the order's revenue)."),
    KpiGauge("refunds_unvalued", "kpiwatch_refunds_unvalued", ("channel",),
             "Refunds of unknown amount: a full refund of an order no longer remembered "
             "(older than the dedup horizon), or in a currency without a rate."),
    KpiGauge("payment_failures", "kpiwatch_payment_failures", ("payment_method",),
             "Failed payment attempts."),
    KpiGauge("dau", "kpiwatch_active_users_1d", (), "DAU: distinct users active on the day."),
    KpiGauge("wau", "kpiwatch_active_users_7d", (), "WAU: distinct users in the 7 days to the day."),
    KpiGauge("mau", "kpiwatch_active_users_30d", (),
             "MAU: distinct users in the 30 days to the day."),
    # Carts resolve once, counted in the window of the instant they resolve: abandoned at last
    # activity + abandon_after (event time), ordered at their order. Cart abandonment rate:
    #   sum(kpiwatch_abandoned_carts{window="1h",window_state="settled"})
    #   / (sum(kpiwatch_abandoned_carts{...}) + sum(kpiwatch_ordered_carts{...}))
    KpiGauge("abandoned_carts", "kpiwatch_abandoned_carts", ("channel",),
             "Carts abandoned: >= 1 item, no order and no cart activity for abandon_after."),
    KpiGauge("abandoned_cart_value", "kpiwatch_abandoned_cart_value", ("channel",),
             "Value of the abandoned carts when abandoned, in the base currency (carts with a "
             "line without price or convertible currency are left out)."),
    KpiGauge("ordered_carts", "kpiwatch_ordered_carts", ("channel",),
             "Carts (>= 1 item) ordered before they were abandoned."),
    KpiGauge("recovered_carts", "kpiwatch_recovered_carts", ("channel",),
             "Abandoned carts that got an order later (counted at the order; the abandonment "
             "stays counted)."),
    KpiGauge("checkout_abandonments", "kpiwatch_checkout_abandonments", ("step",),
             "Checkouts with no order within abandon_after of checkout_started, by the last "
             "step reached (shipping, payment, other, none)."),
    # Acquisition and economics (streams/kpis/acquisition.py; spend: streams/kpis/spend.py,
    # exported with partition 0's windows). campaign: KPIWATCH_CAMPAIGNS, else other.
    KpiGauge("ad_spend", "kpiwatch_ad_spend", ("channel", "campaign"),
             "Ad spend in the base currency, spread exactly over the minutes of each imported "
             "row's span (kpiwatch import-spend, or the spend topic)."),
    KpiGauge("ad_impressions", "kpiwatch_ad_impressions", ("channel", "campaign"),
             "Ad impressions of the spend rows, spread like the spend."),
    KpiGauge("ad_clicks", "kpiwatch_ad_clicks", ("channel", "campaign"),
             "Ad clicks of the spend rows, spread like the spend."),
    KpiGauge("campaign_sessions", "kpiwatch_campaign_sessions", ("channel", "campaign"),
             "Sessions by channel and campaign (utm_campaign of the session's first event)."),
    KpiGauge("campaign_orders", "kpiwatch_campaign_orders", ("channel", "campaign"),
             "Orders by their session's channel and campaign."),
    KpiGauge("campaign_revenue", "kpiwatch_campaign_revenue", ("channel", "campaign"),
             "Revenue by the order's session's channel and campaign, in the base currency."),
    KpiGauge("new_customers", "kpiwatch_new_customers", ("channel", "campaign"),
             "Orders that are their customer's first (customer: user_id; guest orders are "
             "never new customers): CAC = kpiwatch_ad_spend / this."),
    KpiGauge("paying_users", "kpiwatch_paying_users", (),
             "Distinct user keys with an order in the window."),
    KpiGauge("cogs", "kpiwatch_cost_of_goods", ("channel",),
             "Cost of goods of the orders whose every line has a known unit cost "
             "(KPIWATCH_PRODUCT_COSTS_FILE), in the base currency."),
    KpiGauge("costed_revenue", "kpiwatch_costed_revenue", ("channel",),
             "Revenue of those orders: gross margin = (this - kpiwatch_cost_of_goods) / this."),
    KpiGauge("uncosted_orders", "kpiwatch_uncosted_orders", ("channel",),
             "Orders left out of the gross margin: a line without a known cost (never costed "
             "at zero), no lines, or revenue in a currency without a rate."),
    KpiGauge("uncosted_revenue", "kpiwatch_uncosted_revenue", ("channel",),
             "Revenue of the uncosted orders (base currency)."),
    # The user journey (streams/kpis/journey.py, retention.py). survey: KPIWATCH_SURVEYS,
    # feature: KPIWATCH_FEATURES, else other.
    KpiGauge("activations", "kpiwatch_activations", (),
             "Users activated: their first KPIWATCH_ACTIVATION_EVENT within "
             "KPIWATCH_ACTIVATION_WINDOW of signing up, counted at that event."),
    KpiGauge("activation_cohort", "kpiwatch_activation_cohort", (),
             "Signups whose activation window ended in the window (they signed up one "
             "activation window earlier)."),
    KpiGauge("activation_cohort_activated", "kpiwatch_activation_cohort_activated", (),
             "Those of them that activated: activation rate = this / kpiwatch_activation_cohort."),
    KpiGauge("invites_sent", "kpiwatch_invites_sent", (), "Invitations sent (referrals)."),
    KpiGauge("inviting_users", "kpiwatch_inviting_users", (),
             "Distinct user keys that sent an invitation in the window."),
    KpiGauge("referred_signups", "kpiwatch_referred_signups", (),
             "Signups with a referrer: virality coefficient = this / kpiwatch_inviting_users."),
    KpiGauge("referred_customers", "kpiwatch_referred_customers", (),
             "First orders of referred users: referred conversion = this / "
             "kpiwatch_referred_signups."),
    KpiGauge("nps_responses", "kpiwatch_nps_responses", ("survey",), "NPS answers (0-10)."),
    KpiGauge("nps_promoters", "kpiwatch_nps_promoters", ("survey",), "NPS answers of 9 or 10."),
    KpiGauge("nps_detractors", "kpiwatch_nps_detractors", ("survey",),
             "NPS answers of 0 to 6: NPS = 100 x (promoters - detractors) / responses."),
    KpiGauge("csat_responses", "kpiwatch_csat_responses", ("survey",), "CSAT answers (1-5)."),
    KpiGauge("csat_satisfied", "kpiwatch_csat_satisfied", ("survey",),
             "CSAT answers of 4 or 5: CSAT = this / kpiwatch_csat_responses."),
    KpiGauge("csat_score_sum", "kpiwatch_csat_score_sum", ("survey",),
             "CSAT scores summed: the mean score = this / kpiwatch_csat_responses."),
    KpiGauge("feature_uses", "kpiwatch_feature_uses", ("feature",), "Feature uses."),
    KpiGauge("feature_users", "kpiwatch_feature_users", ("feature",),
             "Distinct user keys that used the feature: adoption = this / kpiwatch_users."),
    KpiGauge("demo_requests", "kpiwatch_demo_requests", ("channel",), "Demo requests."),
    KpiGauge("product_comparisons", "kpiwatch_product_comparisons", ("channel",),
             "Product comparisons."),
    KpiGauge("product_page_seconds", "kpiwatch_product_page_seconds", (),
             "Time on product pages: from a product view to its session's next event, summed "
             "(a session's last event has none), counted at that next event."),
    KpiGauge("timed_product_views", "kpiwatch_timed_product_views", (),
             "The product views timed: mean time on product pages = "
             "kpiwatch_product_page_seconds / this."),
    KpiGauge("active_days_30d", "kpiwatch_active_user_days_30d", (),
             "Active days summed over users in the 30 days to the day: frequency of use = "
             "this / kpiwatch_active_users_30d."),
    KpiGauge("previous_mau", "kpiwatch_active_users_previous_30d", (),
             "Distinct users active in the 30 days before the last 30 (days -59 .. -30)."),
    KpiGauge("churned_users", "kpiwatch_churned_users", (),
             "Of those, users not active in the last 30 days: churn rate = this / "
             "kpiwatch_active_users_previous_30d."),
    KpiGauge("lapsed_users", "kpiwatch_lapsed_users", (),
             "Users whose last active day was 30 days before the day (they churned that day)."),
    KpiGauge("lapsed_lifetime_days", "kpiwatch_lapsed_user_lifetime_days", (),
             "Their active lifetimes summed (first seen to last active, in days): average "
             "active lifetime = this / kpiwatch_lapsed_users."),
)
ACTIVATION_TIME = "kpiwatch_time_to_activate_seconds"
CHECKOUT_DURATION = "kpiwatch_checkout_duration_seconds"
# Observed when a session ends (session_timeout after its last event), in that window:
#   histogram_quantile(0.5, sum by (le) (kpiwatch_session_duration_seconds_bucket{window="1h",
#   window_state="settled"}))
SESSION_DURATION = "kpiwatch_session_duration_seconds"
RETAINED_COHORTS = 12  # weeks of signup cohorts exported: a quarter
LIFETIME_GAUGES: tuple[KpiGauge, ...] = (
    KpiGauge("customers", "kpiwatch_customers", ("first_channel",),
             "Customers with at least one order since tracking began, by first-order channel."),
    KpiGauge("repeat_customers", "kpiwatch_repeat_customers", ("first_channel",),
             "Customers with two or more orders since tracking began."),
    KpiGauge("customer_revenue", "kpiwatch_customer_revenue", ("first_channel",),
             "Revenue from customers since tracking began (lifetime value = / customers)."),
    KpiGauge("retention_cohort", "kpiwatch_retention_cohort_users", ("cohort", "weeks_since"),
             "Users first seen in the week of Monday <cohort> who were active <weeks_since> "
             "weeks later (0: the cohort's size; up to 8; the latest RETAINED_COHORTS cohorts)."),
    KpiGauge("ad_spend", "kpiwatch_lifetime_ad_spend", ("channel", "campaign"),
             "Ad spend since tracking began (every spend row, up to the applied event time): "
             "CLV : CAC by channel = kpiwatch_customer_revenue / this."),
)


# Alert evaluator (alerts/evaluator.py): process-local, since they describe this worker's
# evaluations, not KPI values. Sum over workers.
ALERT_EVALUATIONS = MetricSpec(
    name="kpiwatch_alert_evaluations_total",
    type="counter",
    labels=("rule", "outcome"),
    help="Rule x dimension x window judgements by outcome: breached, ok, low_volume, "
    "no_value, no_benchmark; fail_open when judged from the local table with Redis down.",
    promql="sum by (rule, outcome) (rate(kpiwatch_alert_evaluations_total[15m]))",
)
ALERTS_ACTIVE = MetricSpec(
    name="kpiwatch_alerts_active",
    type="gauge",
    labels=("rule", "state"),
    help="Rule x dimension values pending or firing, as last seen by this worker's evaluator.",
    promql='max by (rule, state) (kpiwatch_alerts_active{state="firing"})',
)
ALERT_STATE_ERRORS = MetricSpec(
    name="kpiwatch_alert_state_errors_total",
    type="counter",
    labels=("operation",),
    help="Redis errors of the alert evaluator by operation (publish, evaluate, recover); while they "
    "last, alerts fail open (sent directly, at most one duplicate once Redis is back).",
    promql="sum by (operation) (rate(kpiwatch_alert_state_errors_total[5m])) > 0",
)

# Notification delivery (alerts/outbox.py, alerts/notifiers/): process-local counters, not KPI
# values, so plain prometheus_client metrics on the worker's registry. Each worker counts what
# it delivered: sum across workers.
NOTIFICATIONS = MetricSpec(
    name="kpiwatch_notifications_total",
    type="counter",
    labels=("target", "kind", "outcome"),
    help="Notification delivery attempts by target, kind (firing, reminder, resolved, test) and"
         " outcome: delivered, retried (429, 5xx, timeout: tried again later), rejected (other"
         " 4xx: never retried, kept in the outbox's dead list), dropped (given up: the direct"
         " path when Redis is down, or an unreadable outbox entry).",
    promql='sum by (target, outcome) (rate(kpiwatch_notifications_total[5m]))',
)
OUTBOX_DEPTH = MetricSpec(
    name="kpiwatch_outbox_depth",
    type="gauge",
    labels=("target",),
    help="Notifications waiting in the Redis outbox of a target (grows while Slack is down).",
    promql="max by (target) (kpiwatch_outbox_depth)",
)
NOTIFICATION_LATENCY = MetricSpec(
    name="kpiwatch_notification_latency_seconds",
    type="histogram",
    labels=("target",),
    help="From the evaluator's decision (Notification.created_at) to the endpoint's 2xx.",
    promql="histogram_quantile(0.99, sum by (le) (rate(kpiwatch_notification_latency_seconds_bucket[1h])))",
)

# Goals (alerts/goal_watch.py): every worker exports the same shop-wide progress (read from
# the settled windows in Redis), so dashboards take max by (goal).
GOAL_VALUE = MetricSpec(
    name="kpiwatch_goal_value",
    type="gauge",
    labels=("goal", "kpi"),
    help="A goal's KPI so far over its span (day, week, month, quarter or its own dates), from "
         "the windows settled on every partition; absent while it has no value.",
    promql="max by (goal) (kpiwatch_goal_value)",
)
GOAL_EXPECTED = MetricSpec(
    name="kpiwatch_goal_expected",
    type="gauge",
    labels=("goal", "kpi"),
    help="Where the goal should be by now: a straight path from 0 to the target for a count or "
         "an amount, the target itself for a rate.",
    promql="max by (goal) (kpiwatch_goal_expected)",
)
GOAL_TARGET = MetricSpec(
    name="kpiwatch_goal_target",
    type="gauge",
    labels=("goal", "kpi"),
    help="A goal's target at its deadline.",
    promql="max by (goal) (kpiwatch_goal_target)",
)
GOAL_STATUS = MetricSpec(
    name="kpiwatch_goal_status",
    type="gauge",
    labels=("goal", "kpi", "status"),
    help="1 for a goal's status (on_track, at_risk, achieved, missed, not_started, no_data), "
         "0 for the others.",
    promql='max by (goal) (kpiwatch_goal_status{status="at_risk"}) == 1',
)
