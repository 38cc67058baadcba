"""``python -m simulator``: generate shop traffic into Kafka or a JSONL file."""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiokafka.errors import KafkaError

from simulator.ad_spend import AD_SPEND_STREAM, span_starts
from simulator.costs import write_cost_file
from simulator.events import SimulatedMessage
from simulator.formats.names import FORMAT_CHOICES, SHAPE_CHOICES
from simulator.generator import ShopSimulator
from simulator.incidents import IncidentSpecError, parse_duration, parse_incident
from simulator.journey import FEATURES, SURVEYS
from simulator.sinks.jsonl import read_jsonl, write_jsonl
from simulator.sinks.kafka import DEFAULT_TOPICS, ProduceProgress, produce
from simulator.sources import CAMPAIGNS

DESCRIPTION = """\
Simulate the traffic of an online shop: visitors from nine marketing channels on
desktop, mobile and tablet (and a few bots) browse, search, compare products, fill carts,
abandon them, check out, pay (and sometimes fail to), come back and get refunds. Along the
way customers invite friends (who sign up referred), use features, answer NPS and CSAT
surveys, and a few ask for a demo. Every message is what a shop's tracker would send
(kpiwatch canonical, Segment or GA4), keyed by the user key and routed to the
clickstream, cart or purchase topic. The same options and --start give the same
messages, byte for byte.
"""

EPILOG = """\
rate and time:
  --rate is the average over a day: traffic follows a daily shape (quiet at night, peak
  in the evening, in --timezone) unless --flat. Event times run from --start for
  --duration; --speed paces sending against the wall clock by event time.

incidents (--incident KIND@START+DURATION[:key=value,...], repeatable; START is the
offset from --start; times as 90, 90s, 5m, 1h30m, 2d):
  checkout-slowdown   checkout step timings x factor            factor=10
  payment-outage      one payment method fails most payments    method=card failure_rate=0.9
                      (methods: card, paypal, apple_pay, klarna)
  conversion-drop     one channel's order probability falls     channel=paid_search drop=0.8
                      (channels: direct, organic_search, paid_search, organic_social,
                      paid_social, email, referral, affiliate, display)
  traffic-spike       session rate x factor                     factor=5
  bad-events          a share of messages malformed (truncated  share=0.2
                      JSON, missing fields, negative amounts,
                      unknown currency)
  campaign-waste      one channel's ads (one campaign or all)   channel=paid_search
                      cost factor x more per click and buy      campaign=all factor=4
                      extra_clicks more clicks that never buy:  extra_clicks=0.2
                      spend and sessions up, orders flat, ROAS
                      down (channels with ads: paid_search,
                      paid_social, email, affiliate, display)
  nps-drop            a share of post-purchase NPS answers are  detractors=0.7
                      detractors (0-6): NPS goes negative

ad spend (--spend; on by default when producing to Kafka, off with --out):
  what the paid channels' campaigns cost, as ad platforms' cost feeds send it: per ad
  account (utm_source), campaign and --spend-span (whole minutes, aligned to the clock), a
  row with the amount (USD), impressions and clicks, to --topic-ad-spend keyed by its
  spend id (as kpiwatch import-spend writes them; a rerun over the same minutes replaces
  its rows). Clicks are the sessions the run starts from that campaign in the span, the
  amount clicks x the campaign's cost per click (simulator/ad_spend.py), impressions clicks
  / click-through rate. Each row is sent at the start of its span, before the span's
  events, so the worker knows a window's spend before the window settles; the run's part
  before its first whole span has none. The campaigns (utm_campaign) are a fixed list:
  `python -m simulator campaigns` prints it as JSON for KPIWATCH_CAMPAIGNS.

user journey (one or two percent of the events):
  logged-in customers send invitations (invite_sent; Segment Invite Sent with fake
  example.com invitees); some invitees come as new visitors and sign up with the inviter's
  user id as referrer_id. Logged-in visitors use features (feature_used): wishlist and
  size_guide on product pages, gift_wrap in the cart, now and then beta_ar_tryon, which
  no list names (reported as other). After an order some customers answer the NPS
  question of survey post_purchase (survey_response, scale nps, 0-10), and later some the
  CSAT survey support (scale csat, 1-5). A few sessions compare products before viewing
  them (products_compared), fewer request a demo (demo_requested). The names are fixed
  lists: `python -m simulator features` and `python -m simulator surveys` print them as
  JSON for KPIWATCH_FEATURES and KPIWATCH_SURVEYS.

product costs (for gross margin):
  python -m simulator costs --out costs.csv [--seed N] writes the unit cost of every
  product of the seed's catalogue (40-70 % of its price; one in twenty has none, for
  uncosted orders) in the format of KPIWATCH_PRODUCT_COSTS_FILE.

shapes (--shape, for Segment and GA4 messages; canonical ones never change):
  kpiwatch  every field on every event, as kpiwatch's own trackers would send it
  spec      as Segment's and Google's sources send them (simulator/formats/spec_shape.py).
            Segment: cart_id only on Product Added/Removed; payment_method only on
            Payment Info Entered (raw names: "Credit Card", "Visa", "PayPal", ...) and on
            30 % of Payment Failed, never on Order Completed; 30 % of orders with total
            instead of revenue, 30 % of USD orders and cart events without currency,
            product lines by product_id, else sku or productId; 5 % v1 names ("Completed
            Order"), 5 % snake_case ("order_completed"); identify calls on sign-in,
            Product List Viewed and Cart Viewed; about 5 % of calls sent in batch
            calls (2-5 calls of one visitor). GA4: payment_type on add_payment_info,
            not on purchase; session_start and user_engagement. The same seed gives the
            same events, with the same ids, in both shapes: only their messages differ.

JSONL (--out, --replay): one message per line,
  {"stream": "cart", "key": "<anonymous_id>", "event_time": "...Z", "value": {...}}
  value is the message's JSON object, or its raw text as a string when it is not one.
  `kpiwatch replay FILE` reads the same files.

examples:
  python -m simulator                                    # 20 events/s into Kafka, real time
  python -m simulator --speed 0 --duration 1h --format mixed
  python -m simulator --speed 0 --duration 1h --format mixed --shape spec
  python -m simulator --duration 30m --out day.jsonl --incident payment-outage@10m+5m:method=paypal
  python -m simulator --incident conversion-drop@120s+300s:channel=paid_search --flat
  python -m simulator --replay day.jsonl --speed 10
  python -m simulator --incident campaign-waste@5m+20m:channel=paid_search,factor=6
  python -m simulator --spend-span 1m                    # a spend row a minute per campaign
  python -m simulator --incident nps-drop@5m+10m         # NPS answers turn detractor
  export KPIWATCH_FEATURES="$(python -m simulator features)"
"""

_PROGRESS_EVERY_SECONDS = 5.0
_BOOTSTRAP_VARIABLE = "KPIWATCH_KAFKA_BOOTSTRAP_SERVERS"
_SPEND_TOPIC_VARIABLE = "KPIWATCH_TOPIC_AD_SPEND"
DEFAULT_SPEND_TOPIC = "kpiwatch-ad-spend"
"""As kpiwatch's settings name the spend topic by default."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    traffic = parser.add_argument_group("traffic")
    traffic.add_argument(
        "--rate", type=float, default=20.0, help="average events per second (default: 20)"
    )
    traffic.add_argument(
        "--duration",
        default="1h",
        help="event time to simulate, e.g. 90s, 30m, 2h; 0 runs until interrupted (Kafka only) "
        "(default: 1h)",
    )
    traffic.add_argument(
        "--seed", type=int, default=1, help="random seed; same seed, same traffic (default: 1)"
    )
    traffic.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        default="canonical",
        help="message format; mixed gives each visitor one of the three (default: canonical)",
    )
    traffic.add_argument(
        "--shape",
        choices=SHAPE_CHOICES,
        default="kpiwatch",
        help="how Segment and GA4 messages are shaped: kpiwatch (every field on every "
        "event) or spec (as real sources send them; see below) (default: kpiwatch)",
    )
    traffic.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="SPEC",
        help="stage an incident, e.g. conversion-drop@120s+300s:channel=paid_search "
        "(repeatable; see below)",
    )
    traffic.add_argument(
        "--start", help="event time of the first moment, ISO 8601 with offset (default: now)"
    )
    traffic.add_argument(
        "--timezone",
        default=os.environ.get("KPIWATCH_BUSINESS_TIMEZONE", "UTC"),
        help="the shop's time zone, for the daily traffic shape "
        "(default: $KPIWATCH_BUSINESS_TIMEZONE or UTC)",
    )
    traffic.add_argument(
        "--flat", action="store_true", help="no daily shape: the same rate around the clock"
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="pacing by event time: 1 = real time, N = N x real time, 0 = as fast as possible "
        "(default: 1)",
    )
    output.add_argument(
        "--out", type=Path, metavar="FILE.jsonl", help="write a JSONL file instead of producing"
    )
    output.add_argument(
        "--replay", type=Path, metavar="FILE.jsonl", help="produce a JSONL file written by --out"
    )
    output.add_argument(
        "--bootstrap-servers",
        default=os.environ.get(_BOOTSTRAP_VARIABLE, "127.0.0.1:9092"),
        help="Kafka bootstrap servers "
        "(default: $KPIWATCH_KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)",
    )
    for stream, topic in DEFAULT_TOPICS.items():
        variable = f"KPIWATCH_TOPIC_{stream.upper()}"
        output.add_argument(
            f"--topic-{stream}",
            default=os.environ.get(variable, topic),
            help=f"topic of the {stream} stream (default: ${variable} or {topic})",
        )

    spend = parser.add_argument_group("ad spend")
    spend.add_argument(
        "--spend",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send the paid campaigns' ad spend rows to the spend topic (see below) "
        "(default: on when producing to Kafka; not with --out or --replay)",
    )
    spend.add_argument(
        "--spend-span",
        default="5m",
        help="the span of one spend row per campaign and ad account, whole minutes, e.g. 1m, "
        "5m, 1h (default: 5m)",
    )
    spend.add_argument(
        "--topic-ad-spend",
        default=os.environ.get(_SPEND_TOPIC_VARIABLE, DEFAULT_SPEND_TOPIC),
        help=f"topic of the spend rows (default: ${_SPEND_TOPIC_VARIABLE} or "
        f"{DEFAULT_SPEND_TOPIC})",
    )
    return parser


def _costs_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator costs",
        description="Write the unit cost of every product the simulated shop sells, as "
        "KPIWATCH_PRODUCT_COSTS_FILE reads it (product_id,unit_cost,currency,valid_from): "
        "40-70 %% of each price; one product in twenty has no cost, so orders of it are "
        "uncosted.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.csv")
    parser.add_argument(
        "--seed", type=int, default=1, help="the seed of the runs it is for (default: 1)"
    )
    return parser


NAME_LISTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "campaigns": (CAMPAIGNS, "KPIWATCH_CAMPAIGNS", ""),
    "features": (
        FEATURES,
        "KPIWATCH_FEATURES",
        " (beta_ar_tryon, used now and then, is not in it: kpiwatch reports it as other)",
    ),
    "surveys": (SURVEYS, "KPIWATCH_SURVEYS", ""),
}
"""The commands that print one of the simulated shop's fixed name lists as JSON: the list,
the setting it is the value for, and a note for the command's --help."""


def _commands(argv: list[str]) -> int | None:
    """``costs``, ``campaigns``, ``features`` and ``surveys``; None for a traffic run."""
    if argv[:1] == ["costs"]:
        options = _costs_parser().parse_args(argv[1:])
        written = write_cost_file(options.out, options.seed)
        _log(f"wrote the unit costs of {written} products to {options.out}")
        return 0
    if argv[:1] and argv[0] in NAME_LISTS:
        command = argv[0]
        names, setting, note = NAME_LISTS[command]
        if argv[1:] not in ([], ["--help"], ["-h"]):
            print(f"python -m simulator {command} takes no options", file=sys.stderr)
            return 2
        if argv[1:]:
            print(f"python -m simulator {command}: print the simulated shop's "
                  f"{command.removesuffix('s')} names as JSON, the value for {setting}{note}")
            return 0
        print(json.dumps(list(names)))
        return 0
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    done = _commands(argv)
    if done is not None:
        return done
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.speed < 0:
        parser.error("--speed must be 0 or more")
    if options.spend and (options.out is not None or options.replay is not None):
        parser.error(
            "--spend: spend rows go to the spend topic, not to a file, and a replayed file has "
            "none; leave --spend off with --out and --replay"
        )
    if options.replay is not None:
        if not options.replay.is_file():
            parser.error(f"--replay: no such file: {options.replay}")
        return _send(options, read_jsonl(options.replay))
    try:
        simulator = _simulator(options)
        duration = _duration(options)
        start = _start(options)
        spend_span = _spend_span(options)
    except ValueError as error:
        parser.error(str(error))
    if options.rate <= 0:
        parser.error("--rate must be more than 0")
    if duration is None and options.out is not None:
        parser.error("--duration 0 (endless) cannot be written to a file")
    messages = simulator.generate(start, duration, options.rate, spend_span=spend_span)
    if options.out is not None:
        return _write(options.out, messages)
    return _send(options, messages)


def _spend_span(options: argparse.Namespace) -> timedelta | None:
    """The span of spend rows, or None when no spend is sent."""
    if options.spend is False or options.out is not None:
        return None
    try:
        span = parse_duration(options.spend_span)
        span_starts(datetime.now(UTC), span)
    except ValueError as error:
        raise ValueError(f"--spend-span: {error}") from None
    return span


def _simulator(options: argparse.Namespace) -> ShopSimulator:
    try:
        incidents = tuple(parse_incident(spec) for spec in options.incident)
    except IncidentSpecError as error:
        raise ValueError(f"--incident: {error}") from None
    try:
        zone = ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"--timezone: unknown IANA time zone {options.timezone!r}, e.g. Europe/Berlin"
        ) from None
    return ShopSimulator(
        seed=options.seed,
        message_format=options.format,
        incidents=incidents,
        timezone=zone,
        diurnal=not options.flat,
        shape=options.shape,
    )


def _duration(options: argparse.Namespace) -> timedelta | None:
    try:
        duration = parse_duration(options.duration)
    except ValueError as error:
        raise ValueError(f"--duration: {error}") from None
    return None if duration == timedelta(0) else duration


def _start(options: argparse.Namespace) -> datetime:
    if options.start is None:
        return datetime.now(UTC)
    try:
        start = datetime.fromisoformat(options.start)
    except ValueError:
        raise ValueError(
            f"--start: {options.start!r} is not ISO 8601, e.g. 2026-11-20T09:00:00+01:00"
        ) from None
    if start.tzinfo is None:
        raise ValueError(
            f"--start: {options.start!r} needs an offset or Z, e.g. 2026-11-20T08:00:00Z"
        )
    return start


def _write(path: Path, messages: Iterable[SimulatedMessage]) -> int:
    started = time.monotonic()
    written = write_jsonl(
        messages, path, on_written=lambda count: _log(f"{count:,} messages written")
    )
    elapsed = time.monotonic() - started
    _log(
        f"wrote {written:,} messages to {path} in {elapsed:.1f} s "
        f"({written / max(elapsed, 1e-9):,.0f}/s)"
    )
    return 0


def _send(options: argparse.Namespace, messages: Iterable[SimulatedMessage]) -> int:
    topics = {stream: getattr(options, f"topic_{stream}") for stream in DEFAULT_TOPICS}
    if options.replay is None and options.spend is not False:
        topics[AD_SPEND_STREAM] = options.topic_ad_spend
    pace = "as fast as possible" if options.speed == 0 else f"{options.speed:g} x real time"
    _log(
        f"producing to {', '.join(topics.values())} on {options.bootstrap_servers}, "
        f"{pace} (Ctrl-C stops)"
    )
    # aiokafka logs an error for every metadata poll while it waits for a missing topic;
    # the message below says it once.
    logging.getLogger("aiokafka.cluster").setLevel(logging.CRITICAL)
    try:
        asyncio.run(
            produce(
                messages,
                topics,
                options.bootstrap_servers,
                speed=options.speed,
                on_progress=_show_progress,
                progress_interval=_PROGRESS_EVERY_SECONDS,
            )
        )
    except KeyboardInterrupt:
        _log("stopped")
    except KafkaError as error:
        # Topics are created by kpiwatch itself; the broker may not create them on demand.
        _log(
            f"Kafka on {options.bootstrap_servers} refused: {type(error).__name__} {error}. "
            f"Do the topics {', '.join(topics.values())} exist? kpiwatch creates them on start."
        )
        return 1
    return 0


def _show_progress(progress: ProduceProgress) -> None:
    event_time = (
        "-" if progress.event_time is None else progress.event_time.strftime("%Y-%m-%d %H:%M:%SZ")
    )
    _log(f"{progress.sent:,} messages sent, {progress.per_second:,.1f}/s, event time {event_time}")


def _log(line: str) -> None:
    print(f"simulator: {line}", file=sys.stderr, flush=True)
