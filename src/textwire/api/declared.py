"""OpenAPI declarations of the v2010 Messages and Keys routes (``messages/api.py``,
``api/keys.py``): what each reads, with the limits the code enforces."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    V1_PAGING,
    V2010_PAGING,
    Param,
    Resource,
    choice,
    flag,
    integer,
    operation,
    text,
    url,
    v2010_page,
)
from textwire.links.rewrite import LINK_MODES
from textwire.messages.pipeline import MAX_BODY_CHARS, MAX_MEDIA, MAX_VALIDITY

MESSAGE: Final = Resource(
    "Message",
    {
        "account_sid": "string",
        "api_version": "string",
        "body": "string?",
        "date_created": "string",
        "date_sent": "string?",
        "date_updated": "string",
        "direction": "string",
        "error_code": "integer?",
        "error_message": "string?",
        "from": "string?",
        "messaging_service_sid": "string?",
        "num_media": "string",
        "num_segments": "string",
        "price": "string?",
        "price_unit": "string",
        "sid": "string",
        "status": "string",
        "subresource_uris": "object",
        "to": "string",
        "uri": "string",
        "textwire": "object",
    },
)

CREATE_MESSAGE: Final = (
    text("To", "Recipient: E.164 number (or a short code).", required=True),
    text("From", "A sender of the account; or set MessagingServiceSid."),
    text("MessagingServiceSid", "The service whose pool picks the sender."),
    text("Body", f"Text, at most {MAX_BODY_CHARS} characters.", max_length=MAX_BODY_CHARS),
    Param(
        "MediaUrl",
        "array",
        description="http(s) URLs of media (MMS); repeat the parameter.",
        max_items=MAX_MEDIA,
        item=url("MediaUrl"),
    ),
    url("StatusCallback", "Where status changes are posted."),
    integer("ValidityPeriod", 1, MAX_VALIDITY, "Seconds the message may wait in the queue."),
    Param("SendAt", "date-time", description="Send later (with ScheduleType=fixed)."),
    choice("ScheduleType", ["fixed"]),
    flag("SmartEncoded", "Replace Unicode look-alikes with GSM-7 characters."),
    flag("Transactional", "textwire: not subject to opt-in (F-CONSENT-6)."),
    flag("ShortenUrls", "Shorten links in Body (the service's link domain)."),
    choice("LinkMode", LINK_MODES, "textwire: which links to shorten."),
)
create_message: Final = operation(
    success=MESSAGE, status=201, body="form", params=CREATE_MESSAGE, errors=(413, 415)
)
list_messages: Final = operation(
    success=v2010_page("messages", MESSAGE),
    params=(
        text("To"),
        text("From"),
        text("DateSent", "A day (YYYY-MM-DD) or an instant (ISO 8601)."),
        text("DateSent<", "Sent on or before this day or instant."),
        text("DateSent>", "Sent on or after this day or instant."),
        *V2010_PAGING,
    ),
)
fetch_message: Final = operation(success=MESSAGE)
update_message: Final = operation(
    success=MESSAGE,
    body="form",
    params=(
        choice("Status", ["canceled"], "Cancel a scheduled message."),
        text("Body", "Only the empty string: redacts the body.", max_length=0),
    ),
    errors=(409, 413, 415),
)
delete_message: Final = operation(success=None, status=204, errors=(409,))

KEY: Final = Resource(
    "Key",
    {
        "sid": "string",
        "friendly_name": "string?",
        "date_created": "string",
        "date_updated": "string",
    },
)
NEW_KEY: Final = KEY.extended("NewKey", secret="string")
KEY_NAME: Final = text("FriendlyName", "A name for the key.", max_length=64)
create_key: Final = operation(
    success=NEW_KEY, status=201, body="form", params=(KEY_NAME,), errors=(403, 413, 415)
)
list_keys: Final = operation(
    success=v2010_page("keys", KEY),
    params=(V1_PAGING[0], integer("Page", 0, 10**6, "Page number, from 0.")),
    errors=(403,),
)
fetch_key: Final = operation(success=KEY, errors=(403,))
update_key: Final = operation(success=KEY, body="form", params=(KEY_NAME,), errors=(403, 413, 415))
delete_key: Final = operation(success=None, status=204, errors=(403,))

# The v2010 Accounts resource (api/accounts.py).
ACCOUNT: Final = Resource(
    "Account",
    {
        "auth_token": "string?",
        "date_created": "string",
        "date_updated": "string",
        "friendly_name": "string",
        "owner_account_sid": "string",
        "sid": "string",
        "status": "string",
        "subresource_uris": "object",
        "type": "string",
        "uri": "string",
    },
)
ACCOUNT_STATUSES: Final = ("active", "suspended", "closed")
fetch_account: Final = operation(success=ACCOUNT)
update_account: Final = operation(
    success=ACCOUNT,
    body="form",
    params=(
        text("FriendlyName", "1 to 64 characters.", min_length=1, max_length=64),
        choice("Status", ACCOUNT_STATUSES, "Only the account's current status is accepted."),
    ),
    errors=(403, 413, 415),
)
list_accounts: Final = operation(
    success=v2010_page("accounts", ACCOUNT),
    params=(
        text("FriendlyName", "Only the account with this name."),
        choice("Status", ACCOUNT_STATUSES),
        V1_PAGING[0],
        integer("Page", 0, 10**6, "Page number, from 0."),
    ),
)
