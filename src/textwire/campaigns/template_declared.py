"""OpenAPI declarations of ``/v1/Templates`` and ``/v1/Prices`` (``campaigns/template_api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    V1_PAGING,
    Param,
    Resource,
    choice,
    flag,
    operation,
    text,
    v1_page,
)
from textwire.campaigns.pricing import ANY, SENDER_KINDS
from textwire.campaigns.templates import MAX_SOURCE
from textwire.links.rewrite import LINK_MODES

TEMPLATE: Final = Resource(
    "Template",
    {
        "sid": "string",
        "account_sid": "string",
        "friendly_name": "string?",
        "body": "string",
        "languages": "object",
        "variants": {"type": ["array", "null"]},
        "variables": "array",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
        "links": "object",
    },
)
_BODY_FIELDS: Final = (
    text("FriendlyName", "A name for people.", max_length=64),
    text(
        "Body",
        "The default body: text with {{ field }} variables (Jinja2 syntax, sandboxed).",
        max_length=MAX_SOURCE,
    ),
    Param(
        "Languages",
        "object",
        description='Bodies by language tag, e.g. {"es": "Hola {{ first_name }}"}.',
    ),
    Param(
        "Variants",
        "object",
        description='2-5 A/B variants by name: {"A": {"weight": 50, "body": "...", '
        '"languages": {...}}}; empty removes them.',
    ),
)
create_template: Final = operation(
    success=TEMPLATE,
    status=201,
    body="form+json",
    params=(
        _BODY_FIELDS[0],
        Param(
            "Body",
            required=True,
            description=_BODY_FIELDS[1].description,
            max_length=MAX_SOURCE,
        ),
        *_BODY_FIELDS[2:],
    ),
    errors=(413, 415),
)
list_templates: Final = operation(success=v1_page("templates", TEMPLATE), params=V1_PAGING)
fetch_template: Final = operation(success=TEMPLATE)
update_template: Final = operation(
    success=TEMPLATE, body="form+json", params=_BODY_FIELDS, errors=(413, 415)
)
delete_template: Final = operation(success=None, status=204)

PREVIEW: Final = Resource(
    "TemplatePreview",
    {
        "template_sid": "string",
        "contact_sid": "string?",
        "variant": "string?",
        "language": "string?",
        "body": "string",
        "encoding": "string",
        "num_segments": "integer",
        "num_characters": "integer",
        "smart_encoded": "boolean",
        "link_mode": "string",
        "urls": "array",
        "country": "string?",
        "sender_kind": "string",
        "price": "string?",
        "price_unit": "string?",
        "estimated_cost": "string?",
    },
)
preview_template: Final = operation(
    success=PREVIEW,
    body="form+json",
    params=(
        text("ContactSid", "A contact of this account (CT...); or give Fields and PhoneNumber."),
        Param("Fields", "object", description="Field values of an inline contact."),
        text("PhoneNumber", "The inline contact's number (E.164)."),
        text("Language", "A language tag; overrides the contact's."),
        text("Variant", "Which A/B variant to show; else the one the contact would get."),
        flag("SmartEncoded", "Smart encoding; else the service's setting (else off)."),
        text("MessagingServiceSid", "The service that would send (smart encoding, links)."),
        choice("LinkMode", LINK_MODES, "Which links would be shortened; else the service's."),
        choice("SenderKind", (*SENDER_KINDS, ANY), "The sender kind priced (default long_code)."),
    ),
    errors=(413, 415),
)

PRICE: Final = Resource(
    "Price",
    {
        "sid": "string",
        "account_sid": "string",
        "country": "string",
        "sender_kind": "string",
        "price": "string",
        "price_unit": "string",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
    },
)
set_price: Final = operation(
    success=PRICE,
    body="form+json",
    params=(
        text("Country", "ISO 3166 alpha-2 destination country, or *.", required=True),
        choice("SenderKind", (*SENDER_KINDS, ANY), "The sender kind, or * (default *)."),
        text("Price", "Price per segment, e.g. 0.0079.", required=True),
        text("PriceUnit", "ISO 4217 currency (default USD)."),
    ),
    errors=(413, 415),
)
list_prices: Final = operation(success=v1_page("prices", PRICE), params=V1_PAGING)
fetch_price: Final = operation(success=PRICE)
delete_price: Final = operation(success=None, status=204)
