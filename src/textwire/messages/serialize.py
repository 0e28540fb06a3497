"""Message rows rendered exactly as Twilio's v2010 Message resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textwire.clock import rfc2822

API_VERSION = "2010-04-01"


def message_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


def message_resource(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Twilio JSON for one message row (counts as strings, RFC 2822 dates)."""
    uri = message_uri(row["account_sid"], row["sid"])
    base = uri[: -len(".json")]
    extra = row.get("extra") or {}
    return {
        "account_sid": row["account_sid"],
        "api_version": API_VERSION,
        "body": row["body"],
        "date_created": rfc2822(row["date_created"]),
        "date_sent": rfc2822(row.get("date_sent")),
        "date_updated": rfc2822(row["date_updated"]),
        "direction": row["direction"],
        "error_code": row.get("error_code"),
        "error_message": row.get("error_message"),
        "from": row.get("from_addr"),
        "messaging_service_sid": row.get("service_sid"),
        "num_media": str(row.get("num_media") or 0),
        "num_segments": str(row["num_segments"]),
        "price": row.get("price"),
        "price_unit": row.get("price_unit") or "USD",
        "sid": row["sid"],
        "status": row["status"],
        "subresource_uris": {
            "media": f"{base}/Media.json",
            "feedback": f"{base}/Feedback.json",
        },
        "to": row["to_addr"],
        "uri": uri,
        # textwire's own fields; Twilio clients ignore keys they do not know.
        "textwire": {
            "encoding": row["encoding"],
            "sender_sid": row.get("sender_sid"),
            "attempts": row.get("attempts") or 0,
            **extra,
        },
    }
