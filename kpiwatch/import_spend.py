"""``kpiwatch import-spend FILE.csv``: an ad platform's cost export into the spend topic.

Reads the columns of the common exports and writes one spend row per line (models/spend.py),
keyed by a spend id made of the channel, campaign and span, so importing a corrected or
overlapping export again replaces those rows instead of adding to them:

- Google Ads (a campaign report downloaded as CSV): Campaign, Day, optionally Hour of the day,
  Currency code, Cost, Impr. (or Impressions), Clicks; the title lines above the header and
  the Total rows below are skipped. Channel: paid_search unless --channel says otherwise.
- Meta Ads Manager (Export table data, CSV): Campaign name, Reporting starts, Reporting ends
  (dates, inclusive), optionally Day, Amount spent (USD) (the currency is in the header),
  Impressions, Link clicks (or Clicks (all)). Channel: paid_social.
- canonical: spend_id (optional), channel, campaign, start, end (ISO 8601 with offset), amount,
  currency, impressions, clicks: what a pipeline would produce itself.

Dates without a time are days in --timezone (the ad account's; default the business time
zone). A file with any wrong line is refused whole, naming the line and the column: nothing is
sent, so a fix and a re-run leave no half import behind.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from pydantic import ValidationError

from kpiwatch.settings import ConfigError, Settings, load_settings
from models.channels import Channel
from models.fields import parse_instant
from models.spend import AdSpend, spend_id_of

FORMATS = ("auto", "google_ads", "meta_ads", "canonical")
DEFAULT_CHANNEL = {"google_ads": Channel.PAID_SEARCH, "meta_ads": Channel.PAID_SOCIAL}


class SpendImportError(click.ClickException):
    exit_code = 2


@dataclass(frozen=True)
class Columns:
    """Where one export format keeps each field: the first header found of each tuple."""

    campaign: tuple[str, ...]
    cost: tuple[str, ...]
    impressions: tuple[str, ...]
    clicks: tuple[str, ...]
    currency: tuple[str, ...] = ()


GOOGLE = Columns(campaign=("Campaign",), cost=("Cost",), impressions=("Impr.", "Impressions"),
                 clicks=("Clicks",), currency=("Currency code", "Currency"))
META = Columns(campaign=("Campaign name",), cost=("Amount spent",),
               impressions=("Impressions",), clicks=("Link clicks", "Clicks (all)"))


def detect(header: list[str]) -> str:
    names = set(header)
    if {"Reporting starts", "Reporting ends"} <= names or any(
            h.startswith("Amount spent") for h in header):
        return "meta_ads"
    if "Campaign" in names and "Cost" in names:
        return "google_ads"
    if {"channel", "start", "end", "amount", "currency"} <= names:
        return "canonical"
    raise SpendImportError(
        f"cannot tell the export format from its header ({', '.join(header[:8])}): expected "
        "a Google Ads report (Campaign, Day, Cost, ...), a Meta Ads export (Campaign name, "
        "Reporting starts, Amount spent (USD), ...) or canonical columns (channel, campaign, "
        "start, end, amount, currency); give --format")


def _header_and_rows(text: str) -> tuple[int, list[str], Iterator[list[str]]]:
    """The header line's number, the header, and the rows after it: Google Ads puts a report
    title and a date range above its header."""
    rows = csv.reader(io.StringIO(text))
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if len([c for c in cells if c]) >= 3:
            return number, cells, rows
    raise SpendImportError("the file has no header line (a line with the column names)")


def read_rows(path: Path, fmt: str, channel: str | None, tz: ZoneInfo) -> list[AdSpend]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise SpendImportError(f"cannot read {path}: {error.strerror}") from None
    first, header, rows = _header_and_rows(text)
    fmt = detect(header) if fmt == "auto" else fmt
    out = []
    for number, cells in enumerate(rows, start=first + 1):
        if not any(c.strip() for c in cells) or cells[0].strip().lower().startswith("total"):
            continue
        record = dict(zip(header, (c.strip() for c in cells), strict=False))
        try:
            out.append(_row(fmt, record, header, channel, tz))
        except (ValueError, ValidationError) as error:
            raise SpendImportError(f"{path} line {number}: {_message(error)}") from None
    return out


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error)


def _row(fmt: str, record: dict, header: list[str], channel: str | None,
         tz: ZoneInfo) -> AdSpend:
    if fmt == "canonical":
        fields = {k: v for k, v in record.items() if v != ""}
        if channel is not None:
            fields["channel"] = channel
        if "spend_id" not in fields:
            fields["spend_id"] = spend_id_of(fields.get("channel", ""), fields.get("campaign"),
                                             parse_instant(fields.get("start", ""), "start"),
                                             parse_instant(fields.get("end", ""), "end"))
        return AdSpend.model_validate(fields)
    columns = GOOGLE if fmt == "google_ads" else META
    chosen = channel or DEFAULT_CHANNEL[fmt]
    campaign = _get(record, columns.campaign, "campaign")
    if fmt == "google_ads":
        start = _day(_get(record, ("Day", "Date"), "day"), tz)
        hour = record.get("Hour of the day", record.get("Hour", ""))
        if hour:
            start, end = start + timedelta(hours=int(hour)), start + timedelta(hours=int(hour) + 1)
        else:
            end = start + timedelta(days=1)
        currency = _get(record, columns.currency, "currency code")
        cost = _number(_get(record, columns.cost, "cost"), "Cost")
    else:
        day = record.get("Day")
        start = _day(day or _get(record, ("Reporting starts",), "reporting starts"), tz)
        last = _day(day or _get(record, ("Reporting ends",), "reporting ends"), tz)
        end = last + timedelta(days=1)  # (the end date is inclusive)
        spent = next((h for h in header if h.startswith("Amount spent")), None)
        if spent is None:
            raise ValueError("no 'Amount spent (XXX)' column")
        currency = spent.partition("(")[2].rstrip(")").strip() or "USD"
        cost = _number(record.get(spent, ""), spent)
    return AdSpend(
        spend_id=spend_id_of(chosen, campaign, start, end, account=fmt),
        channel=chosen, campaign=campaign, start=start.astimezone(ZoneInfo("UTC")),
        end=end.astimezone(ZoneInfo("UTC")), amount=cost, currency=currency,
        impressions=int(_number(_get(record, columns.impressions, "impressions", "0"), "")),
        clicks=int(_number(_get(record, columns.clicks, "clicks", "0"), "")))


def _get(record: dict, names: tuple[str, ...], what: str, default: str | None = None) -> str:
    for name in names:
        if record.get(name):
            return record[name]
    if default is not None:
        return default
    raise ValueError(f"no {what} (column {' or '.join(names)})")


def _number(text: str, column: str) -> Decimal:
    cleaned = text.replace(",", "").replace("\u00a0", "").strip() or "0"
    if cleaned == "--":  # (Google Ads' "no data")
        cleaned = "0"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{column or 'a count'} {text!r} is not a number") from None
    return value


def _day(text: str, tz: ZoneInfo) -> datetime:
    try:
        day = datetime.strptime(text.strip()[:10], "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{text!r} is not a date such as 2026-12-01") from None
    return day.replace(tzinfo=tz)


def summary(rows: Iterable[AdSpend]) -> list[str]:
    by_channel: Counter = Counter()
    counts: Counter = Counter()
    spans = []
    for row in rows:
        by_channel[(str(row.channel), row.currency)] += row.amount
        counts[str(row.channel)] += 1
        spans.append((row.start, row.end))
    lines = [f"  {channel:<16} {counts[channel]:>5} rows  {amount:>14,.2f} {currency}"
             for (channel, currency), amount in sorted(by_channel.items())]
    if spans:
        lines.append(f"  from {min(s for s, _ in spans).isoformat()} "
                     f"to {max(e for _, e in spans).isoformat()}")
    return lines


async def send(rows: list[AdSpend], settings: Settings) -> None:
    from aiokafka import AIOKafkaProducer

    from streams.admin import COMPACTED, ensure_topics

    topic = settings.topic_ad_spend
    await ensure_topics(settings.kafka_bootstrap_servers, [topic], 1, configs=COMPACTED)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                enable_idempotence=True)
    await producer.start()
    try:
        for row in rows:
            await producer.send(topic, row.encode(), key=row.spend_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


@click.command("import-spend")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="The export's format; auto tells them apart by their header.")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None,
              help="The channel of every row (default: paid_search for Google Ads, "
                   "paid_social for Meta Ads, the channel column for canonical files).")
@click.option("--timezone", "tz_name", default=None,
              help="Time zone of the export's dates (the ad account's); default "
                   "KPIWATCH_BUSINESS_TIMEZONE.")
@click.option("--dry-run", is_flag=True, help="Check the file and print what would be sent.")
def import_spend(file: Path, fmt: str, channel: str | None, tz_name: str | None,
                 dry_run: bool) -> None:
    """Import ad spend from an ad platform's CSV export into the spend topic.

    Spend shows in /kpis and /metrics (kpiwatch_ad_spend) and makes CAC, CPA, ROAS, CTR and
    cost per session by channel and campaign. Each line becomes one row, spread exactly over
    the minutes of its day or hour; importing a file again replaces its rows (same channel,
    campaign and span), so re-import corrected exports freely."""
    try:
        settings = load_settings()
    except ConfigError as error:
        raise SpendImportError(str(error)) from None
    tz = ZoneInfo(tz_name) if tz_name else settings.timezone
    rows = read_rows(file, fmt, channel, tz)
    if not rows:
        raise SpendImportError(f"{file}: no spend rows below the header")
    without_rate = sorted({r.currency for r in rows if r.currency != settings.base_currency
                           and r.currency not in settings.currency_rates})
    if without_rate:
        raise SpendImportError(
            f"no rate for {', '.join(without_rate)}: spend is reported in "
            f"{settings.base_currency}; set KPIWATCH_CURRENCY_RATES, e.g. "
            f"'{{\"{without_rate[0]}\": \"1.08\"}}'")
    click.echo(f"{file}: {len(rows)} spend rows")
    for line in summary(rows):
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing sent")
        return
    try:
        asyncio.run(send(rows, settings))
    except Exception as error:  # noqa: BLE001 -- any broker error: say where and what to check
        raise SpendImportError(f"could not send to {settings.topic_ad_spend} on "
                           f"{settings.kafka_bootstrap_servers}: {error}; is Kafka up "
                           "(kpiwatch status)?") from None
    click.echo(f"sent to {settings.topic_ad_spend} on {settings.kafka_bootstrap_servers}; a "
               "row of the same channel, campaign and span replaces the earlier one")


if __name__ == "__main__":  # pragma: no cover
    import_spend.main(sys.argv[1:])
