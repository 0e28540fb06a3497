"""What a message's status callback says: Twilio's fields for a message entering a status.

The message domain knows these fields; ``outbox.rows`` signs and stores them as a webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from textwire.messages.serialize import API_VERSION
from textwire.messages.status import NOT_DELIVERED, REPORTED, Status


def status_callback_params(
    row: Mapping[str, Any], status: Status, error_code: int | None, now: datetime
) -> dict[str, str]:
    """Twilio's status callback fields for ``row`` entering ``status``.

    ``From`` is left out while no sender has been chosen (a message that failed in its
    service's selection, e.g. 21704): Twilio leaves out what it does not know.
    """
    params = {
        "MessageSid": row["sid"],
        "SmsSid": row["sid"],
        "AccountSid": row["account_sid"],
    }
    if row.get("from_addr"):
        params["From"] = row["from_addr"]
    params.update(
        {
            "To": row["to_addr"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": API_VERSION,
        }
    )
    if row.get("service_sid"):
        params["MessagingServiceSid"] = row["service_sid"]
    if status in NOT_DELIVERED and error_code is not None:
        params["ErrorCode"] = str(error_code)
    if status in REPORTED:
        params["RawDlrDoneDate"] = now.strftime("%y%m%d%H%M")
    return params
