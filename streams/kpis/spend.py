"""Ad spend per window: the spend ledger, and how it joins the KPI engine's windows.

Spend does not go through the event-time engine. Ad platforms export cost a day or hours after
the fact, and correct it later: a row would be late by the engine's rules, and a correction
must replace, not add. So spend rows are kept as they are, keyed by ``spend_id`` (the latest
row of an id wins, as in the compacted spend topic), and a window's spend is computed from them
when it is read:

- a row's amount (in the base currency) is spread over the minutes of its span exactly, in
  decimal: each minute gets ``amount / minutes`` rounded down to ``SPREAD_QUANTUM``, the last
  minute the remainder, so the minutes sum to the amount; impressions and clicks are spread
  the same way in whole numbers;
- a window's spend is the sum of its minutes' shares, per channel and campaign (``ad_spend|``,
  ``ad_impressions|``, ``ad_clicks|<channel>|<campaign>``), and ``all`` (since tracking began)
  the sum over every row;
- only minutes the engine has applied whole count (up to partition 0's applied point, in
  event time): a window in progress shows the spend of its minutes so far, beside the orders
  so far, and a budget imported ahead counts once its minutes have come.

Spend joins the windows of KPI partition 0 (``SpendView``): every reader of the table (/kpis,
the gauges, the alert publisher, the fail-open evaluator) then sees it beside the events'
aggregates of the same window, and a sum over partitions counts it once. Every worker keeps
the whole ledger; only the owner of partition 0 shows it. A re-imported or corrected row
changes the spend of windows already settled: /kpis and /metrics show the new figures at once;
an alert judged a settled window with the spend known when that window settled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from models.spend import AdSpend, SpendError, parse_spend
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.readout import TableView
from streams.kpis.working_set import applied_until_ms, progress_key
from streams.windows import MINUTE_MS, window_of

SPEND_PARTITION = 0
DAY_MS = 86_400_000
# Finer than any currency's minor unit, so a minute's share loses nothing a report would show.
SPREAD_QUANTUM = Decimal("0.000001")
PREFIXES = ("ad_spend", "ad_impressions", "ad_clicks")


@dataclass(frozen=True)
class SpendRow:
    """A row as the ledger uses it: its span in ms, its amount in the base currency."""

    start_ms: int
    end_ms: int
    dims: str  # "<channel>|<campaign>"
    amount: Decimal
    impressions: int
    clicks: int


def share(total: Decimal | int, minutes: int, first: int, count: int) -> Decimal | int:
    """The part of ``total`` spread over ``minutes`` that falls on minutes ``first`` to
    ``first + count - 1`` (0-based): the quantised share each, the remainder on the last."""
    if count <= 0:
        return 0
    if isinstance(total, int):
        each: Decimal | int = total // minutes
    else:
        each = (total / minutes).quantize(SPREAD_QUANTUM, rounding=ROUND_DOWN)
    part = each * count
    if first + count == minutes:  # the last minute's remainder
        part += total - each * minutes
    return part


class SpendLedger:
    """Every spend row known, by spend id, and the spend of any window."""

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.rows: dict[str, SpendRow] = {}
        # UTC day -> ids of the rows overlapping it: a window reads only its days' rows (a
        # shop's ledger holds every row since tracking began).
        self.by_day: dict[int, set[str]] = {}
        self.rejected: Counter = Counter()  # reason -> rows refused
        self.unconverted: Counter = Counter()  # currency -> rows without a rate
        self.loaded = False  # read the spend topic up to its end offsets as of the start

    def put(self, spend_id: str, raw: bytes | None) -> SpendError | None:
        """Apply one message of the spend topic (None: a tombstone, the row is withdrawn).
        Returns the error of a row refused (counted by reason; an earlier row of the id
        stays)."""
        if raw is None:
            self._drop(spend_id)
            return None
        try:
            row = parse_spend(raw)
        except SpendError as error:
            self.rejected[error.reason] += 1
            return error
        if row.spend_id != spend_id:
            self.rejected["key_mismatch"] += 1
            return SpendError("key_mismatch", f"message key {spend_id!r} is not its spend_id "
                              f"{row.spend_id!r}; key spend rows by spend_id")
        return self.add(row)

    def add(self, row: AdSpend) -> SpendError | None:
        amount = self.settings.to_base(row.amount, row.currency)
        if amount is None:
            self.unconverted[row.currency] += 1
            self._drop(row.spend_id)
            return SpendError("no_currency_rate", f"no rate for {row.currency}: set it in "
                              "KPIWATCH_CURRENCY_RATES")
        self._drop(row.spend_id)
        self.rows[row.spend_id] = kept = SpendRow(
            row.start_ms, row.end_ms, f"{row.channel}|{self.settings.campaign(row.campaign)}",
            amount, row.impressions, row.clicks)
        for day in _days(kept.start_ms, kept.end_ms):
            self.by_day.setdefault(day, set()).add(row.spend_id)
        return None

    def _drop(self, spend_id: str) -> None:
        old = self.rows.pop(spend_id, None)
        if old is not None:
            for day in _days(old.start_ms, old.end_ms):
                ids = self.by_day.get(day)
                if ids is not None:
                    ids.discard(spend_id)
                    if not ids:
                        del self.by_day[day]

    def window_values(self, start_ms: int, end_ms: int) -> Counter:
        """Spend, impressions and clicks of the minutes from ``start_ms`` to ``end_ms``."""
        values: Counter = Counter()
        if end_ms - start_ms > len(self.by_day) * DAY_MS:  # (since tracking began, say)
            ids: Iterable[str] = self.rows
        else:
            ids = {i for day in _days(start_ms, end_ms) for i in self.by_day.get(day, ())}
        for row in (self.rows[i] for i in ids):
            lo, hi = max(start_ms, row.start_ms), min(end_ms, row.end_ms)
            if lo >= hi:
                continue
            minutes = (row.end_ms - row.start_ms) // MINUTE_MS
            first, count = (lo - row.start_ms) // MINUTE_MS, (hi - lo) // MINUTE_MS
            for prefix, total in zip(PREFIXES, (row.amount, row.impressions, row.clicks),
                                     strict=True):
                if part := share(total, minutes, first, count):
                    values[f"{prefix}|{row.dims}"] += part
        return values

    def lifetime(self, until_ms: int) -> Counter:
        """Since tracking began: every row, up to ``until_ms``."""
        return self.window_values(min((r.start_ms for r in self.rows.values()), default=0),
                                  until_ms)


def _days(start_ms: int, end_ms: int) -> range:
    return range(start_ms // DAY_MS, (end_ms - 1) // DAY_MS + 1)


class SpendView(TableView):
    """The KPI table as readers see it, with the ledger's spend in partition 0's windows (the
    module docstring says why there)."""

    def __init__(self, table: Mapping, ledger: SpendLedger) -> None:
        super().__init__(table)
        self.ledger = ledger
        self._prefix = f"agg|{SPEND_PARTITION}|"

    def get(self, key: str, default=None):
        stored = self.table.get(key)
        if not key.startswith(self._prefix) or not self.ledger.rows:
            return default if stored is None else stored
        progress = self.table.get(progress_key(SPEND_PARTITION))
        until = applied_until_ms(progress) if progress else None
        if until is None:
            return default if stored is None else stored
        until -= until % MINUTE_MS  # whole minutes only: spend is spread by the minute
        size, _, start = key[len(self._prefix):].partition("|")
        if size == "all":
            spend = self.ledger.lifetime(until)
        else:
            window = window_of(size, int(start), self.ledger.settings.timezone)
            spend = self.ledger.window_values(window.start_ms, min(window.end_ms, until))
        if not spend:
            return default if stored is None else stored
        merged = dict(stored or {})
        values = dict(merged.get("values") or {})
        for name, amount in spend.items():
            # (Shares carry SPREAD_QUANTUM's places: 1234.560000 reads as 1234.56.)
            values[name] = (format(amount.normalize(), "f") if isinstance(amount, Decimal)
                            else amount)
        merged["values"] = values
        return merged



__all__ = ["SPEND_PARTITION", "SpendLedger", "SpendView", "share"]
