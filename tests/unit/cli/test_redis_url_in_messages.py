"""A Redis URL in an error message never shows its password."""

from kpiwatch.alerts_cli import without_password


def test_the_password_is_replaced_and_the_rest_kept():
    assert without_password("redis://alerts:s3cret@10.0.0.5:6380/2") == \
        "redis://alerts:***@10.0.0.5:6380/2"
    assert without_password("rediss://:s3cret@redis.internal/0") == "rediss://:***@redis.internal/0"
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
