"""OpenAPI declarations of ``/v1/Services`` with their sender pools (``senders/service_api.py``)
and ``/v1/Senders`` (``senders/api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    V1_PAGING,
    Param,
    Resource,
    choice,
    flag,
    integer,
    operation,
    text,
    url,
    v1_page,
)

CAPABILITIES: Final = ("sms", "mms", "inbound")
MAX_MPS: Final = 10_000  # senders/api.py's limit; declared here so this module imports no routes
KINDS: Final = ("long_code", "toll_free", "short_code", "alphanumeric")

SERVICE_FIELDS: Final = (
    text("FriendlyName", "1 to 64 characters; required on create.", min_length=1, max_length=64),
    flag("StickySender"),
    flag("MmsConverter"),
    flag("SmartEncoding"),
    flag("FallbackToLongCode"),
    flag("AreaCodeGeomatch"),
    flag("SynchronousValidation"),
    flag("UseInboundWebhookOnNumber"),
    url("InboundRequestUrl", "Where inbound messages are posted; empty removes it."),
    url("FallbackUrl", "Where inbound messages go when InboundRequestUrl fails."),
    url("StatusCallback", "Default status callback of the service's messages."),
    choice("InboundMethod", ("GET", "POST")),
    choice("FallbackMethod", ("GET", "POST")),
    choice("ScanMessageContent", ("inherit", "enable", "disable")),
    choice(
        "Usecase",
        ("notifications", "marketing", "verification", "discussion", "poll", "undeclared"),
    ),
    integer("ValidityPeriod", 1, 36_000, "Default seconds a message may wait in the queue."),
    flag("Transactional", "textwire: the default of the service's messages (F-CONSENT-6)."),
)
CREATE_SERVICE_FIELDS: Final = (
    Param(
        "FriendlyName",
        required=True,
        min_length=1,
        max_length=64,
        description="1 to 64 characters.",
    ),
    *SERVICE_FIELDS[1:],
)

SERVICE: Final = Resource(
    "Service",
    {
        "sid": "string",
        "account_sid": "string",
        "friendly_name": "string",
        "date_created": "string",
        "date_updated": "string",
        "inbound_request_url": "string?",
        "inbound_method": "string",
        "fallback_url": "string?",
        "fallback_method": "string",
        "status_callback": "string?",
        "sticky_sender": "boolean",
        "mms_converter": "boolean",
        "smart_encoding": "boolean",
        "scan_message_content": "string",
        "fallback_to_long_code": "boolean",
        "area_code_geomatch": "boolean",
        "synchronous_validation": "boolean",
        "validity_period": "integer",
        "usecase": "string",
        "use_inbound_webhook_on_number": "boolean",
        "url": "string",
        "links": "object",
    },
)
create_service: Final = operation(
    success=SERVICE, status=201, body="form+json", params=CREATE_SERVICE_FIELDS, errors=(413, 415)
)
list_services: Final = operation(success=v1_page("services", SERVICE), params=V1_PAGING)
fetch_service: Final = operation(success=SERVICE)
update_service: Final = operation(
    success=SERVICE, body="form+json", params=SERVICE_FIELDS, errors=(413, 415)
)
delete_service: Final = operation(success=None, status=204)

SENDER_FIELDS: Final = (
    text("Country", "ISO 3166 alpha-2 country of a national number.", max_length=2),
    integer("Mps", 1, MAX_MPS, "Messages per second this sender may send."),
    text("IntegrationSid", "The integration that sends for it (else the account's default)."),
    text("FriendlyName", "Shown in lists (cut at 64 characters)."),
    Param(
        "Capabilities",
        "array",
        description="sms, mms, inbound; repeated, comma-separated or a JSON list.",
        item=choice("Capabilities", CAPABILITIES),
    ),
)
POOL_MEMBER: Final = Resource(
    "PoolMember",
    {
        "sid": "string",
        "account_sid": "string",
        "service_sid": "string?",
        "date_created": "string",
        "date_updated": "string",
        "country_code": "string?",
        "capabilities": "array",
        "url": "string",
    },
)
add_to_pool: Final = operation(
    success=POOL_MEMBER,
    status=201,
    body="form+json",
    params=(
        text("PhoneNumberSid", "PhoneNumbers: a PN… sender of the account."),
        text("ShortCodeSid", "ShortCodes: an SC… sender of the account."),
        text("AlphaSender", "AlphaSenders: the alphanumeric ID to create.", max_length=11),
        *SENDER_FIELDS,
    ),
    errors=(409, 413, 415),
)
# The list's key is the pool's: phone_numbers, short_codes or alpha_senders.
list_pool: Final = operation(success=v1_page(None, POOL_MEMBER), params=V1_PAGING)
fetch_pool_member: Final = operation(success=POOL_MEMBER)
remove_from_pool: Final = operation(success=None, status=204)

SENDER: Final = Resource(
    "Sender",
    {
        "sid": "string",
        "account_sid": "string",
        "service_sid": "string?",
        "kind": "string",
        "sender": "string",
        "country": "string?",
        "area_code": "string?",
        "capabilities": "array",
        "mps": "integer",
        "integration_sid": "string?",
        "friendly_name": "string?",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
    },
)
create_sender: Final = operation(
    success=SENDER,
    status=201,
    body="form+json",
    params=(
        text("Sender", "E.164 number, short code or alphanumeric ID.", required=True),
        *SENDER_FIELDS,
    ),
    errors=(409, 413, 415),
)
list_senders: Final = operation(
    success=v1_page("senders", SENDER), params=(choice("Kind", KINDS), *V1_PAGING)
)
fetch_sender: Final = operation(success=SENDER)
delete_sender: Final = operation(success=None, status=204)
