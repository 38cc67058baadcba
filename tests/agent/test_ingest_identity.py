"""Ingestion's routing of identities (streams/kpis/identity.py): an event with an anonymous id
goes to its partition; one with a user id only, and every new link between the two ids (from
an event carrying both, or an identify call), to every partition; a link seen again the same
day is not sent again, an earlier one is."""

from collections import namedtuple

import orjson

from streams.batches import decode_message, partition_of
from streams.ingest import ingest_records
from streams.kpis.identity import Links

Record = namedtuple("Record", "topic partition offset timestamp value")
PARTITIONS = 4


def segment(n: int, at: str, **ids) -> Record:
    call = {"type": "track", "event": "Product Viewed", "messageId": f"m-{n}",
            "timestamp": at, "properties": {"product_id": "p1"}} | ids
    return Record("clickstream", 0, n, 1_795_176_000_000, orjson.dumps(call))


def types_by_partition(records, links: Links) -> dict[int, list[str]]:
    batches, letters, _ = ingest_records(records, PARTITIONS, {}, links)
    assert letters == []
    out = {}
    for partition in range(PARTITIONS):
        lines = []
        for value in batches[partition].messages({}):
            _, events = decode_message(value)
            lines += [orjson.loads(raw)["type"] for _, raw in events]
        out[partition] = lines
    return out


def test_user_id_only_events_and_new_links_go_to_every_partition():
    links = Links()
    both = segment(1, "2026-11-20T11:00:00Z", anonymousId="anon-1", userId="user-1")
    again = segment(2, "2026-11-20T11:05:00Z", anonymousId="anon-1", userId="user-1")
    earlier = segment(3, "2026-11-20T10:59:00Z", anonymousId="anon-1", userId="user-1")
    server = segment(4, "2026-11-20T11:06:00Z", userId="user-1")
    routed = types_by_partition([both, again, earlier, server], links)
    own = partition_of("anon-1", PARTITIONS)
    for partition, types in routed.items():
        links_sent = ["identity_link", "identity_link"]  # the first, then the earlier one
        mine = ["product_view"] * 3 if partition == own else []
        assert sorted(types) == sorted(mine + links_sent + ["product_view"]), partition


def test_an_identify_call_links_its_ids():
    identify = Record("clickstream", 0, 7, 1_795_176_000_000, orjson.dumps({
        "type": "identify", "messageId": "m-7", "timestamp": "2026-11-20T11:00:00Z",
        "anonymousId": "anon-2", "userId": "user-2", "traits": {"email": "a@example.com"}}))
    routed = types_by_partition([identify], Links())
    assert all(types == ["identity_link"] for types in routed.values())
