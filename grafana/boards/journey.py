"""Journey and goals: activation, referrals, NPS and CSAT, feature adoption, demo requests,
product comparisons, time on product pages, frequency of use, churn, lapsed users' lifetime,
weekly retention cohorts, and where the goals are followed.

Queries read the raw per-partition gauges of metrics/catalog.py (summed over partitions,
one copy of each): the journey's KPIs have no recorded series of their own yet. A ratio whose
numerator is a count may be zero, which is not exported: ``or_zero`` keeps it 0, not missing.
"""

from grafana.common import SETTLED, Target, bargauge, dashboard, gauge, stat, table, timeseries
from prometheus.promql import or_zero, total

UID = "kpiwatch-journey"
# Retention's KPIs are per business day: the last settled day, whatever $window shows.
DAY = '{window="1d", window_state="settled"}'
KPI = "{" + SETTLED + "}"
CHANNEL = {"channel": "~$channel"}
COHORT = "kpiwatch_retention_cohort_users"


def share(numerator: str, denominator: str, by: tuple[str, ...] = (),
          selector: str = KPI) -> str:
    """numerator / denominator of the selected windows, 0 where the numerator has no series."""
    den = total(denominator, by, selector)
    return f"{or_zero(total(numerator, by, selector), den)} / {den}"


def nps(by: tuple[str, ...] = ()) -> str:
    responses = total("kpiwatch_nps_responses", by, KPI)
    promoters = or_zero(total("kpiwatch_nps_promoters", by, KPI), responses)
    detractors = or_zero(total("kpiwatch_nps_detractors", by, KPI), responses)
    return f"100 * ({promoters} - {detractors}) / {responses}"


def activation_rate() -> str:
    return share("kpiwatch_activation_cohort_activated", "kpiwatch_activation_cohort")


def virality() -> str:
    return share("kpiwatch_referred_signups", "kpiwatch_inviting_users")


def referred_conversion() -> str:
    return share("kpiwatch_referred_customers", "kpiwatch_referred_signups")


def csat(by: tuple[str, ...] = ()) -> str:
    return share("kpiwatch_csat_satisfied", "kpiwatch_csat_responses", by)


def time_on_product_pages() -> str:
    return (f"{total('kpiwatch_product_page_seconds', (), KPI)}"
            f" / {total('kpiwatch_timed_product_views', (), KPI)}")


ACTIVATION_RATE = ("Signups whose activation window (KPIWATCH_ACTIVATION_WINDOW, default 7 "
                   "days) ended in the window that activated within it (their first "
                   "KPIWATCH_ACTIVATION_EVENT, default order_completed): the rate of the "
                   "signups of one activation window earlier, settled once.")


def activation_rate_now():
    return stat("Activation rate", ACTIVATION_RATE + " Last settled window.", "percentunit",
                Target(activation_rate()), min=0, max=1)


def virality_now():
    return stat("Virality coefficient", "Referred signups / distinct users who sent an "
                "invitation, last settled window.", "none", Target(virality()), min=0)


def referred_conversion_now():
    return stat("Referred conversion", "First orders of referred users / referred signups, "
                "last settled window.", "percentunit", Target(referred_conversion()), min=0)


def nps_now():
    return stat("NPS", "100 x (promoters (9-10) - detractors (0-6)) / NPS answers of every "
                "survey, last settled window (-100 to 100).", "none", Target(nps()),
                min=-100, max=100)


def csat_now():
    return stat("CSAT", "CSAT answers of 4 or 5 / CSAT answers (1-5) of every survey, last "
                "settled window.", "percentunit", Target(csat()), min=0, max=1)


def product_page_time_now():
    return stat("Time on product pages", "Mean time from a product view to its session's "
                "next event, last settled window (a session's last event has none).", "s",
                Target(time_on_product_pages()), min=0)


def activations():
    return timeseries(
        "Activations and the activation cohort", "Activations: users' first activating event "
        "within the activation window of their signup, in the window of that event. Cohort: "
        "signups whose activation window ended in the window, and those of them activated.",
        "short", Target(gauge("kpiwatch_activations"), "activations"),
        Target(gauge("kpiwatch_activation_cohort"), "cohort"),
        Target(gauge("kpiwatch_activation_cohort_activated"), "cohort activated"), min=0)


def activation_rate_over_time():
    return timeseries("Activation rate over time", ACTIVATION_RATE, "percentunit",
                      Target(activation_rate(), "activation rate"), min=0, max=1)


def time_to_activate():
    bucket = total("kpiwatch_time_to_activate_seconds_bucket", ("le",), KPI)
    return timeseries(
        "Time to activate p50 / p90", "From signup to the activating event, of the users "
        "activated in each settled window (buckets of an hour to two weeks: within the first "
        "hour the value is interpolated).", "s",
        *(Target(f"histogram_quantile({q}, {bucket})", f"p{round(q * 100)}")
          for q in (0.5, 0.9)), min=0)


def referrals():
    return timeseries(
        "Referrals", "Invitations sent, distinct users who sent one, signups with a referrer "
        "and first orders of referred users, per settled window.", "short",
        Target(gauge("kpiwatch_invites_sent"), "invites sent"),
        Target(gauge("kpiwatch_inviting_users"), "inviting users"),
        Target(gauge("kpiwatch_referred_signups"), "referred signups"),
        Target(gauge("kpiwatch_referred_customers"), "referred customers"), min=0)


def virality_over_time():
    return timeseries("Virality coefficient over time", "Referred signups / distinct users who sent an "
                      "invitation, per settled window.", "none",
                      Target(virality(), "virality"), min=0)


def referred_conversion_over_time():
    return timeseries("Referred user conversion", "First orders of referred users / referred "
                      "signups, per settled window.", "percentunit",
                      Target(referred_conversion(), "referred conversion"), min=0)


def nps_by_survey():
    return timeseries(
        "NPS by survey", "100 x (promoters - detractors) / answers per settled window, by "
        "survey (KPIWATCH_SURVEYS, any other is other).", "none",
        Target(nps(("survey",)), "{{survey}}"), min=-100, max=100)


def csat_by_survey():
    return timeseries("CSAT by survey", "CSAT answers of 4 or 5 / CSAT answers per settled "
                      "window, by survey.", "percentunit",
                      Target(csat(("survey",)), "{{survey}}"), min=0, max=1)


def csat_score():
    return timeseries(
        "Mean CSAT score by survey", "CSAT scores summed / CSAT answers (1 to 5) per settled "
        "window, by survey.", "none",
        Target(f"{total('kpiwatch_csat_score_sum', ('survey',), KPI)}"
               f" / {total('kpiwatch_csat_responses', ('survey',), KPI)}", "{{survey}}"),
        min=1, max=5)


def survey_responses():
    return timeseries(
        "Survey responses", "NPS and CSAT answers per settled window, by survey: the sample "
        "behind the scores beside.", "short",
        Target(gauge("kpiwatch_nps_responses", ("survey",)), "{{survey}} NPS"),
        Target(gauge("kpiwatch_csat_responses", ("survey",)), "{{survey}} CSAT"), min=0)


def feature_adoption():
    return timeseries(
        "Feature adoption", "Distinct users who used a feature / distinct users with an event, "
        "per settled window, by feature (KPIWATCH_FEATURES, any other is other).",
        "percentunit",
        Target(f"{gauge('kpiwatch_feature_users', ('feature',))} / on () group_left "
               f"{gauge('kpiwatch_users')}", "{{feature}}"), min=0, max=1)


def feature_uses():
    return timeseries("Feature uses", "Uses of each feature per settled window.", "short",
                      Target(gauge("kpiwatch_feature_uses", ("feature",)), "{{feature}}"), min=0)


def demo_requests():
    return timeseries("Demo requests by channel", "Demo requests per settled window, by the "
                      "channel of the session.", "short",
                      Target(gauge("kpiwatch_demo_requests", ("channel",), **CHANNEL),
                             "{{channel}}"), min=0)


def product_comparisons():
    return timeseries("Product comparisons by channel", "Product comparisons per settled "
                      "window, by the channel of the session.", "short",
                      Target(gauge("kpiwatch_product_comparisons", ("channel",), **CHANNEL),
                             "{{channel}}"), min=0)


def product_page_time():
    return timeseries(
        "Mean time on product pages", "Time from a product view to its session's next event, "
        "summed / the product views so timed, per settled window (counted at that next "
        "event).", "s", Target(time_on_product_pages(), "mean"), min=0)


def frequency():
    return timeseries(
        "Frequency of use", "Active days per monthly user: active days summed over users / "
        "MAU, in the 30 days to the last complete business day.", "none",
        Target(f"{total('kpiwatch_active_user_days_30d', (), DAY)}"
               f" / {total('kpiwatch_active_users_30d', (), DAY)}", "days per user"), min=0)


def churn_rate():
    return timeseries(
        "Churn rate (30 days)", "Users active in the 30 days before the last 30 but not in "
        "the last 30 / users active in those earlier 30 days, to the last complete business "
        "day.", "percentunit",
        Target(share("kpiwatch_churned_users", "kpiwatch_active_users_previous_30d",
                     selector=DAY), "churn rate"), min=0, max=1)


def churned_users():
    return timeseries(
        "Churned and lapsed users", "Churned: users of the previous 30 days not active in the "
        "last 30. Lapsed: users whose last active day was 30 days before the day (they "
        "churned that day). Per business day.", "short",
        Target(total("kpiwatch_churned_users", (), DAY), "churned"),
        Target(total("kpiwatch_lapsed_users", (), DAY), "lapsed"), min=0)


def lapsed_lifetime():
    return timeseries(
        "Active lifetime of lapsed users", "Days from first seen to last active (both "
        "counted), averaged over the users who lapsed on the day.", "d",
        Target(f"{total('kpiwatch_lapsed_user_lifetime_days', (), DAY)}"
               f" / {total('kpiwatch_lapsed_users', (), DAY)}", "average lifetime"), min=0)


def cohort_sizes():
    return bargauge(
        "Weekly cohort sizes", "Users first seen in the week starting Monday <cohort> (the "
        "latest 12 weeks; users inactive for 61 days are forgotten and count as new again).",
        "short", Target(total(COHORT, ("cohort",), '{weeks_since="0"}'), "{{cohort}}",
                        instant=True), min=0)


def retention_cohorts():
    retained = total(COHORT, ("cohort", "weeks_since"))
    size = total(COHORT, ("cohort",), '{weeks_since="0"}')
    return table(
        "Weekly retention cohorts", "Share of each weekly cohort (users first seen in the "
        "week starting Monday <cohort>, rows) active in its n-th week after (columns, 0 to 8; "
        "0 is the cohort itself). Since tracking began, not by $window.", "percentunit",
        Target(f"{retained} / on (cohort) group_left {size}", instant=True, format="table"),
        min=0, max=1, width=24, height=10,
        transformations=[{"id": "groupingToMatrix",
                          "options": {"rowField": "cohort", "columnField": "weeks_since",
                                      "valueField": "Value", "emptyValue": "null"}}])


GOALS = ("Goals of alerts/goals.yaml (KPIWATCH_GOALS_FILE): every worker exports the same "
         "shop-wide figures, summed from the windows settled on every partition since the "
         "goal's start (alerts/goal_watch.py); `kpiwatch goals` lists them.")


def goal_progress():
    return timeseries(
        "Goals: value so far against the path", GOALS + " The path: where a count should be "
        "by now on a straight line to its target, or a rate's target.", "none",
        Target("max by (goal) (kpiwatch_goal_value)", "{{goal}}"),
        Target("max by (goal) (kpiwatch_goal_expected)", "{{goal}} path"))


def goal_status():
    return table(
        "Goals: status", GOALS + " One row per goal: on_track, at_risk, achieved, missed, "
        "not_started (its span has not begun) or no_data.", "none",
        Target('max by (goal, kpi, status) (kpiwatch_goal_status) == 1', instant=True,
               format="table"),
        Target("max by (goal, kpi) (kpiwatch_goal_target)", instant=True, format="table"),
        transformations=[{"id": "merge"},
                         {"id": "organize", "options": {
                             "excludeByName": {"Time": True, "Value #A": True},
                             "renameByName": {"Value #B": "target"}}}])


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Journey and goals",
        "The user journey past the funnel: activation, referrals, NPS and CSAT, feature "
        "adoption, demo requests and product comparisons, time on product pages, frequency "
        "of use, churn, lapsed users and weekly retention cohorts; and the goals.",
        [activation_rate_now(), virality_now(), referred_conversion_now(), nps_now(),
         csat_now(), product_page_time_now(), activations(), activation_rate_over_time(),
         time_to_activate(), referrals(), virality_over_time(),
         referred_conversion_over_time(), nps_by_survey(), csat_by_survey(), csat_score(),
         survey_responses(), feature_adoption(), feature_uses(), demo_requests(),
         product_comparisons(), product_page_time(), frequency(), churn_rate(),
         churned_users(), lapsed_lifetime(), cohort_sizes(), retention_cohorts(), goal_progress(),
         goal_status()])
