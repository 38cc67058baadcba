"""Retention and customers: active users, stickiness, new vs returning, repeat purchase, LTV."""

from grafana.common import CURRENCY, SETTLED, Target, dashboard, gauge, stat, timeseries
from prometheus.kpis import recorded_name
from prometheus.promql import total

UID = "kpiwatch-retention"
DAY = '{window="1d", window_state="settled"}'
KPI = "{" + SETTLED + "}"


def active_users():
    return timeseries(
        "DAU / WAU / MAU", "Distinct users active on the last complete day and in the 7 and 30 "
        "days to it (business time zone).", "short",
        *(Target(total(f"kpiwatch_active_users_{span}", (), DAY), label)
          for span, label in (("1d", "DAU"), ("7d", "WAU"), ("30d", "MAU"))), min=0)


def stickiness():
    return timeseries("Stickiness (DAU / MAU)", "Share of the month's users active on the last "
                      "complete day.", "percentunit",
                      Target(f"{recorded_name('stickiness')}{DAY}", "DAU / MAU"), min=0, max=1)


def new_and_returning():
    return timeseries(
        "New and returning users", "Users seen for the first time ever, and active users first "
        "seen on an earlier day, per settled window.", "short",
        Target(gauge("kpiwatch_new_users"), "new"),
        Target(gauge("kpiwatch_returning_users"), "returning"), min=0)


def signups():
    filters = {"channel": "~$channel", "device": "~$device"}
    return timeseries(
        "Sign-ups", "Accounts created and newsletter sign-ups per settled window, selected "
        "channels and devices.", "short",
        Target(gauge("kpiwatch_signups", **filters), "accounts"),
        Target(gauge("kpiwatch_newsletter_signups", **filters), "newsletter"), min=0)


def session_duration():
    name = "session_duration_seconds"
    return timeseries(
        "Session duration p50 / p90", "Last event - first event of the sessions that ended in "
        "each settled window (a session ends session_timeout after its last event).", "s",
        *(Target(f"{recorded_name(name, operation=q)}{KPI}", q) for q in ("p50", "p90")), min=0)


def customers():
    return stat("Customers", "Customers with at least one order since tracking began.", "short",
                Target(total("kpiwatch_customers", ())), width=6, height=6)


def repeat_purchase_rate():
    return stat("Repeat purchase rate", "Customers with two or more orders / customers, since "
                "tracking began.", "percentunit",
                Target(recorded_name("repeat_purchase_rate")), width=6, height=6)


def lifetime_value():
    return timeseries(
        "Customer lifetime value by first channel", "Revenue / customers since tracking began, "
        "by the channel of the customer's first order.", CURRENCY,
        Target(recorded_name("customer_lifetime_value", ("first_channel",)), "{{first_channel}}"),
        width=12, height=6, min=0)


def customers_by_channel():
    return timeseries(
        "Customers by first channel", "Customers and repeat customers since tracking began, by "
        "the channel of their first order.", "short",
        Target(total("kpiwatch_customers", ("first_channel",)), "{{first_channel}}"), min=0)


def repeat_by_channel():
    return timeseries(
        "Repeat purchase rate by first channel", "Customers with two or more orders / customers "
        "since tracking began, by first-order channel.", "percentunit",
        Target(recorded_name("repeat_purchase_rate", ("first_channel",)), "{{first_channel}}"),
        min=0, max=1)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Retention and customers",
        "Active users, stickiness, new vs returning users, sessions, repeat purchase and "
        "customer lifetime value.",
        [customers(), repeat_purchase_rate(), lifetime_value(), active_users(), stickiness(),
         new_and_returning(), session_duration(), customers_by_channel(), repeat_by_channel(),
         signups()])
