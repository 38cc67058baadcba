"""``kpiwatch import-spend``: the export formats it reads and the mistakes it names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kpiwatch.import_spend import SpendImportError, import_spend, read_rows

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "spend"
UTC = ZoneInfo("UTC")


def test_a_google_ads_campaign_report():
    rows = read_rows(FIXTURES / "google_ads_campaign_report.csv", "auto", None, UTC)
    # The title lines above the header and the Total row are skipped.
    assert [(r.campaign, r.amount, r.currency, r.impressions, r.clicks) for r in rows] == [
        ("Brand", Decimal("1204.17"), "USD", 48210, 2311),
        ("Generic", Decimal("389.05"), "USD", 31877, 702),
        ("Brand", Decimal("1180.00"), "USD", 47004, 2254),
        ("Black Friday", Decimal("250.10"), "EUR", 9120, 388)]
    assert {str(r.channel) for r in rows} == {"paid_search"}
    assert rows[0].minutes == 1440
    # The same channel, campaign and day is the same row: a re-import replaces it.
    again = read_rows(FIXTURES / "google_ads_campaign_report.csv", "auto", None, UTC)
    assert [r.spend_id for r in rows] == [r.spend_id for r in again]
    assert len({r.spend_id for r in rows}) == 4


def test_a_meta_ads_export_in_the_accounts_time_zone():
    berlin = ZoneInfo("Europe/Berlin")
    rows = read_rows(FIXTURES / "meta_ads_export.csv", "auto", None, berlin)
    assert [(str(r.channel), r.campaign, r.amount, r.currency, r.clicks) for r in rows][0] == (
        "paid_social", "Retargeting", Decimal("310.42"), "USD", 911)
    # An inclusive one-day report: Berlin midnight to midnight, in UTC.
    assert rows[0].start.isoformat() == "2026-11-30T23:00:00+00:00"
    assert rows[0].minutes == 1440


def test_a_canonical_file_and_a_channel_override(tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text("channel,campaign,start,end,amount,currency,impressions,clicks\n"
                    "display,Brand,2026-12-01T10:00:00Z,2026-12-01T11:00:00Z,12.5,USD,400,3\n")
    (row,) = read_rows(path, "auto", None, UTC)
    assert (str(row.channel), row.minutes, row.amount) == ("display", 60, Decimal("12.5"))
    (override,) = read_rows(path, "canonical", "affiliate", UTC)
    assert str(override.channel) == "affiliate"


@pytest.mark.parametrize("text, message", [
    ("Campaign,Day,Currency code,Cost\nBrand,01/12/2026,USD,3\n", "line 2: '01/12/2026' is not "
     "a date"),
    ("Campaign,Day,Currency code,Cost\nBrand,2026-12-01,USD,three\n", "line 2: Cost 'three' is "
     "not a number"),
    ("Campaign,Day,Currency code,Cost\nBrand,2026-12-01,XYZ,3\n", "line 2: currency"),
    ("a,b,c\n1,2,3\n", "cannot tell the export format"),
])
def test_a_wrong_line_is_named_and_nothing_is_read(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SpendImportError, match=message):
        read_rows(path, "auto", None, UTC)


def test_dry_run_prints_what_would_be_sent(monkeypatch):
    monkeypatch.setenv("KPIWATCH_CURRENCY_RATES", '{"EUR": "1.08"}')
    result = CliRunner().invoke(import_spend, [str(FIXTURES / "google_ads_campaign_report.csv"),
                                               "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "4 spend rows" in result.output and "2,773.22 USD" in result.output
    assert "nothing sent" in result.output


def test_a_currency_without_a_rate_is_refused_with_the_fix(monkeypatch):
    monkeypatch.delenv("KPIWATCH_CURRENCY_RATES", raising=False)
    result = CliRunner().invoke(import_spend, [str(FIXTURES / "google_ads_campaign_report.csv"),
                                               "--dry-run"])
    assert result.exit_code == 2
    assert "no rate for EUR" in result.output and "KPIWATCH_CURRENCY_RATES" in result.output
