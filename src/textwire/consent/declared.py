"""OpenAPI declarations of the consent routes (``consent/api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    BASIC,
    DY_API_KEY,
    JSON,
    V1_PAGING,
    Param,
    Resource,
    Schema,
    choice,
    flag,
    operation,
    text,
    v1_page,
)
from textwire.consent.contacts import EVENT_TYPES
from textwire.consent.identifiers import MAX_CUSTOM_ID_LENGTH, MAX_EMAIL_LENGTH
from textwire.consent.keywords import MAX_KEYWORD_LENGTH, MAX_REPLY_LENGTH

IDENTIFIERS: Final = (
    Param(
        "PhoneNumber",
        "array",
        description="E.164 numbers; repeat the parameter.",
        item=text("PhoneNumber", max_length=32),
    ),
    Param(
        "Email",
        "array",
        description="Email addresses (or their SHA-256 hashes); repeat the parameter.",
        item=text("Email", max_length=MAX_EMAIL_LENGTH),
    ),
    Param(
        "CustomId",
        "array",
        description="Your own identifiers; repeat the parameter.",
        item=text("CustomId", max_length=MAX_CUSTOM_ID_LENGTH),
    ),
)
FRIENDLY_NAME: Final = text("FriendlyName", "At most 64 characters.", max_length=64)
# F-CONTACT-1: typed field values, the explicit time zone and the language.
CONTACT_DATA: Final = (
    Param(
        "Fields",
        "object",
        description="Field values by key (declared with /v1/ContactFields); null removes "
        "one. A form may send 'Fields.<key>=value' parameters instead.",
    ),
    text("TimeZone", "An IANA time zone; empty infers it again.", max_length=64),
    text("Language", "A language tag such as en or pt-BR; empty clears it.", max_length=35),
)

CONTACT: Final = Resource(
    "Contact",
    {
        "sid": "string",
        "account_sid": "string",
        "friendly_name": "string?",
        "attributes": "any",
        "time_zone": "string?",
        "time_zone_source": "string?",
        "language": "string?",
        "identifiers": "array",
        "consent": "object",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
    },
)
create_contact: Final = operation(
    success=CONTACT,
    status=201,
    body="form+json",
    params=(*IDENTIFIERS, FRIENDLY_NAME, *CONTACT_DATA),
    errors=(409, 413, 415),
)
list_contacts: Final = operation(
    success=v1_page("contacts", CONTACT), params=(*IDENTIFIERS, *V1_PAGING)
)
identify_event: Final = operation(
    success=CONTACT.extended("IdentifyEvent", event="string", merged_contact_sids="array"),
    body="form+json",
    params=(choice("Event", EVENT_TYPES, required=True), *IDENTIFIERS),
    errors=(413, 415),
)
fetch_contact: Final = operation(success=CONTACT)
update_contact: Final = operation(
    success=CONTACT,
    body="form+json",
    params=(*IDENTIFIERS, FRIENDLY_NAME, *CONTACT_DATA),
    errors=(409, 413, 415),
)
delete_contact: Final = operation(success=None, status=204)

IDENTIFIER_BODY: Final[Schema] = {
    "type": "object",
    "properties": {
        "identifier": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["phoneNumber", "email", "custom"]},
                "value": {"type": "string", "maxLength": MAX_CUSTOM_ID_LENGTH},
            },
            "required": ["type", "value"],
        },
        "messagingServiceSid": {"type": "string"},
    },
    "required": ["identifier"],
}
CONSENT_CHANGE: Final = Resource(
    "ConsentChange",
    {
        "identifier": "object",
        "channel": "string",
        "status": "string",
        "contact_sid": "string",
        "phone_numbers": "array",
        "messaging_service_sid": "string?",
        "date_updated": "string",
    },
)
consent_change: Final = operation(
    success=CONSENT_CHANGE,
    body="json",
    json_schema=IDENTIFIER_BODY,
    security=(BASIC, DY_API_KEY),
    errors=(413, 415),
)

SYNC: Final = Resource(
    "SubscriberSync",
    {
        "sid": "string",
        "account_sid": "string",
        "messaging_service_sid": "string?",
        "status": "string",
        "source": "string",
        "filename": "string?",
        "counts": "object",
        "bytes_read": "integer?",
        "invalid_rows": "array",
        "duplicate_rows": "array",
        "error": "string?",
        "date_created": "string",
        "date_updated": "string",
        "date_applied": "string?",
        "url": "string",
    },
)
create_sync: Final = operation(
    success=SYNC,
    status=201,
    body="csv",
    query=(
        text(
            "MessagingServiceSid", "The service whose subscribers the file is (else the account)."
        ),
        flag("Strict", "Refuse the whole file if a row is invalid."),
        text("FileName", "Recorded with the run."),
    ),
    errors=(413,),
    extra_responses={
        422: {
            "description": "The file was refused; the failed run says why",
            "content": {JSON: {"schema": SYNC.schema()}},
        }
    },
)
list_syncs: Final = operation(success=v1_page("syncs", SYNC), params=V1_PAGING)
fetch_sync: Final = operation(success=SYNC)

_GROUP: Final[Schema] = {
    "type": "object",
    "properties": {
        "keywords": {
            "type": "array",
            "items": {"type": "string", "maxLength": MAX_KEYWORD_LENGTH},
        },
        "reply": {"type": "string", "maxLength": MAX_REPLY_LENGTH},
    },
    "required": ["keywords", "reply"],
    "additionalProperties": False,
}
_CUSTOM: Final[Schema] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "keyword": {"type": "string", "maxLength": MAX_KEYWORD_LENGTH},
            "reply": {"type": "string", "maxLength": MAX_REPLY_LENGTH},
        },
        "required": ["keyword", "reply"],
        "additionalProperties": False,
    },
}
_OVERRIDE: Final[Schema] = {
    "type": "object",
    "properties": {"opt_out": _GROUP, "opt_in": _GROUP, "help": _GROUP, "custom": _CUSTOM},
    "additionalProperties": False,
}
KEYWORDS_BODY: Final[Schema] = {
    "type": "object",
    "properties": {
        **_OVERRIDE["properties"],
        "languages": {"type": "object", "additionalProperties": _OVERRIDE},
        "countries": {"type": "object", "additionalProperties": _OVERRIDE},
    },
    "additionalProperties": False,
}
KEYWORDS: Final = Resource(
    "Keywords", {"messaging_service_sid": "string", "customized": "boolean", "keywords": "object"}
)
get_keywords: Final = operation(success=KEYWORDS)
set_keywords: Final = operation(
    success=KEYWORDS, body="json", json_schema=KEYWORDS_BODY, errors=(413, 415)
)
reset_keywords: Final = operation(success=None, status=204)

SERVICE_SCOPE: Final = text("MessagingServiceSid", "A service of the account (else the account).")
SETTINGS: Final = Resource(
    "ConsentSettings",
    {"account_sid": "string", "messaging_service_sid": "string?", "require_opt_in": "boolean?"},
)
get_settings: Final = operation(success=SETTINGS, params=(SERVICE_SCOPE,))
set_settings: Final = operation(
    success=SETTINGS,
    body="form+json",
    params=(
        SERVICE_SCOPE,
        Param(
            "RequireOptIn",
            "boolean",
            required=True,
            description="true or false; an empty value goes back to the default.",
        ),
    ),
    errors=(413, 415),
)
REFUSAL: Final = Resource(
    "Refusal",
    {
        "to": "string",
        "messaging_service_sid": "string?",
        "reason": "string",
        "transactional": "boolean",
        "error_code": "integer",
        "date_created": "string",
    },
)
list_refusals: Final = operation(
    success=v1_page("refusals", REFUSAL), params=(text("To"), *V1_PAGING)
)
