"""The recording rules from raw per-partition gauges (``promtool test rules``): ratios match
readout.derived, a zero count is 0 (not a missing series), and a partition reported by two
workers during a handover counts once."""

from prometheus.__main__ import RULES_DIR
from tests.unit.prometheus.promtool import promtool_test

W = 'window="15m", window_state="settled"'


def gauge(name: str, value: float, instance: str = "w1:6066", **labels: str) -> dict:
    text = ", ".join([W, f'instance="{instance}"', 'job="kpiwatch"',
                      *(f'{k}="{v}"' for k, v in labels.items())])
    return {"series": f"{name}{{{text}}}", "values": f"{value}x10"}


def sample(name: str, value: float, **labels: str) -> dict:
    text = ", ".join([*(f'{k}="{v}"' for k, v in labels.items()), W])
    return {"labels": f"{name}{{{text}}}", "value": value}


def check(tmp_path, inputs: list[dict], expected: dict[str, list[dict]]) -> None:
    promtool_test(tmp_path, [RULES_DIR / "recording.yml"], [
        {"interval": "1m", "input_series": inputs,
         "promql_expr_test": [{"expr": expr, "eval_time": "5m", "exp_samples": samples}
                              for expr, samples in expected.items()]}])


def test_conversion_rate_counts_a_handed_over_partition_once_and_zero_orders_as_zero(tmp_path):
    sessions = dict(name="kpiwatch_sessions", device="desktop")
    inputs = [
        gauge(**sessions, value=100, partition="0", channel="email"),
        gauge(**sessions, value=100, partition="1", channel="email"),
        # During a rebalance the new owner already reports partition 1 too.
        gauge(**sessions, value=100, partition="1", channel="email", instance="w2:6066"),
        gauge(**sessions, value=50, partition="2", channel="direct"),
        gauge("kpiwatch_funnel_sessions", 6, partition="0", channel="email",
              stage="order_completed"),
    ]
    check(tmp_path, inputs, {
        "window:kpiwatch_conversion_rate:ratio": [
            sample("window:kpiwatch_conversion_rate:ratio", 0.024)],
        "channel_window:kpiwatch_conversion_rate:ratio": [
            sample("channel_window:kpiwatch_conversion_rate:ratio", 0.03, channel="email"),
            sample("channel_window:kpiwatch_conversion_rate:ratio", 0, channel="direct")],
    })


def test_payment_failure_rate_per_method_with_either_side_missing(tmp_path):
    inputs = [
        gauge("kpiwatch_payment_failures", 5, partition="0", payment_method="card"),
        gauge("kpiwatch_orders", 45, partition="0", payment_method="card", channel="email"),
        gauge("kpiwatch_orders", 10, partition="1", payment_method="paypal", channel="email"),
        gauge("kpiwatch_payment_failures", 2, partition="1", payment_method="klarna"),
    ]
    name = "payment_method_window:kpiwatch_payment_failure_rate:ratio"
    check(tmp_path, inputs, {
        name: [sample(name, 0.1, payment_method="card"),
               sample(name, 0, payment_method="paypal"),
               sample(name, 1, payment_method="klarna")],
        "window:kpiwatch_payment_failure_rate:ratio": [
            sample("window:kpiwatch_payment_failure_rate:ratio", 7 / 62)],
    })


def test_checkout_p95_from_the_gauge_histogram(tmp_path):
    buckets = {"60": 50, "120": 90, "300": 100, "+Inf": 100}
    inputs = [gauge("kpiwatch_checkout_duration_seconds_bucket", count, partition="0", le=le)
              for le, count in buckets.items()]
    name = "window:kpiwatch_checkout_duration_seconds:p95"
    # rank 95 of 100 falls in (120, 300]: 120 + 180 * 5/10.
    check(tmp_path, inputs, {name: [sample(name, 210)]})
