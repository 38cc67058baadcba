"""The fields kpiwatch derives at the edge instead of trusting the sender: channel,
device and bot flag, plus campaign tags still sitting in the landing URL."""

from typing import Any

from models.channels import classify_channel, utm_from_url
from models.devices import detect_device, is_bot


def derive_edge_fields(fields: dict[str, Any]) -> None:
    """Set `channel`, `device` and `is_bot` in a dict of canonical fields, in place.

    `device` may hold the source's own device field on the way in; it is read as a hint.
    Values may be of any type: only strings are looked at, nothing raises.
    """
    url = fields.get("url")
    if fields.get("utm_source") is None and fields.get("utm_medium") is None:
        for tag, value in utm_from_url(url).items():
            if fields.get(tag) is None:
                fields[tag] = value
    fields["channel"] = classify_channel(
        utm_source=fields.get("utm_source"),
        utm_medium=fields.get("utm_medium"),
        referrer=fields.get("referrer"),
        url=url,
    )
    user_agent = fields.get("user_agent")
    fields["device"] = detect_device(fields.get("device"), user_agent)
    fields["is_bot"] = is_bot(user_agent)
