"""OpenAPI declarations of ``/v1/Integrations``, a number's inbound URL, and the endpoints
providers call (``providers/api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    BASIC,
    CALLBACK_TOKEN,
    CALLBACK_TOKEN_HEADER,
    TWILIO_SIGNATURE,
    V1_PAGING,
    Param,
    Resource,
    Schema,
    choice,
    operation,
    text,
    url,
)
from textwire.api.declare import v1_page as page
from textwire.providers.kinds import TYPES

SETTINGS: Final = Param(
    "Settings", "object", description="The type's settings, a JSON object (see providers.md)."
)
SECRETS: Final = Param(
    "Secrets", "object", description="The type's secrets, a JSON object; shown masked."
)
INTEGRATION: Final = Resource(
    "Integration",
    {
        "sid": "string",
        "account_sid": "string",
        "friendly_name": "string",
        "type": "string",
        "settings": "object",
        "secrets": "object",
        "inbound_url": "string?",
        "status_callback_url": "string?",
        "health": "object?",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
    },
)
create_integration: Final = operation(
    success=INTEGRATION,
    status=201,
    body="form+json",
    params=(
        text("FriendlyName", "1 to 64 characters.", required=True, min_length=1, max_length=64),
        choice("Type", TYPES, required=True),
        SETTINGS,
        SECRETS,
    ),
    errors=(413, 415),
)
list_integrations: Final = operation(
    success=page("integrations", INTEGRATION), params=(choice("Type", TYPES), *V1_PAGING)
)
fetch_integration: Final = operation(success=INTEGRATION)
update_integration: Final = operation(
    success=INTEGRATION,
    body="form+json",
    params=(
        text("FriendlyName", "1 to 64 characters.", min_length=1, max_length=64),
        choice("Type", TYPES, "Cannot change; only the current type is accepted."),
        Param("Settings", "object", description="Keys to set; a null value removes the key."),
        Param("Secrets", "object", description="Keys to set; a masked value keeps the secret."),
    ),
    errors=(413, 415),
)
delete_integration: Final = operation(success=None, status=204, errors=(409,))
test_integration: Final = operation(
    success=Resource("IntegrationTest", {"type": "string"}),
    body="form+json",
    params=(
        text("From", "Sender of an http integration's test message."),
        text("To", "Recipient of an http integration's test message."),
        text("Body", "Text of an http integration's test message."),
    ),
    errors=(413, 415),
)
set_number_webhook: Final = operation(
    success=Resource("NumberWebhook", {"sender_sid": "string", "inbound_request_url": "string?"}),
    body="form+json",
    params=(url("InboundRequestUrl", "The number's own inbound URL; empty removes it."),),
    errors=(413, 415),
)

_CALLBACK_AUTH: Final = (TWILIO_SIGNATURE, CALLBACK_TOKEN, CALLBACK_TOKEN_HEADER)
_WEBHOOK_FORM: Final = (
    text("From", "Sender (twilio and sandbox integrations)."),
    text("To", "Recipient: one of the account's numbers."),
    text("Body"),
    text("MessageSid"),
    text("NumMedia"),
)
_TWIML: Final[Schema] = {"schema": {"type": "string"}}
inbound: Final = operation(
    # sid is null when the message was dropped (its To is not a number of the account).
    success=Resource("InboundAccepted", {"sid": "string?"}),
    body="form+json",
    params=_WEBHOOK_FORM,
    security=(BASIC, *_CALLBACK_AUTH),
    errors=(403, 413, 415),
    extra_responses={200: {"content": {"text/xml": _TWIML}}},
)
RECEIPT_FORM: Final = (
    text("MessageSid"),
    text("MessageStatus"),
    text("ErrorCode"),
)
receipts: Final = operation(
    success=None,
    body="form+json",
    params=RECEIPT_FORM,
    query=(text("MessageSid", "An http integration's message, when its body does not say."),),
    security=_CALLBACK_AUTH,
    errors=(403, 413, 415),
)
