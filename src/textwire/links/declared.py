"""OpenAPI declarations of ``/v1/LinkShortening/...`` (``links/api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    JSON,
    V1_PAGING,
    Param,
    Resource,
    choice,
    flag,
    operation,
    text,
    url,
    v1_page,
)
from textwire.links.rewrite import LINK_MODES

SERVICE_ACTIONS: Final = ("add", "delete", "replace")
CONFIG_FIELDS: Final = (
    url("FallbackUrl", "Where an unknown or expired link goes; empty removes it."),
    url("CallbackUrl", "Where click events are posted; empty removes it."),
    flag("ContinueOnFailure", "Send the message unshortened if shortening fails."),
    flag("DisableHttps", "Short links use http://."),
)

DOMAIN: Final = Resource(
    "LinkDomain",
    {
        "domain_sid": "string",
        "account_sid": "string",
        "domain_name": "string",
        "verified": "boolean",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
        "links": "object",
    },
)
CONFIG: Final = Resource(
    "LinkDomainConfig",
    {
        "domain_sid": "string",
        "config_sid": "string",
        "fallback_url": "string?",
        "callback_url": "string?",
        "continue_on_failure": "boolean",
        "disable_https": "boolean",
        "messaging_service_sids": "array",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
    },
)
create_domain: Final = operation(
    success=DOMAIN,
    status=201,
    body="form+json",
    params=(
        text(
            "DomainName", "A bare host name such as links.acme.com.", required=True, max_length=253
        ),
        *CONFIG_FIELDS,
    ),
    errors=(409, 413, 415),
)
list_domains: Final = operation(success=v1_page("domains", DOMAIN), params=V1_PAGING)
fetch_domain: Final = operation(success=DOMAIN)
delete_domain: Final = operation(success=None, status=204)
validate_dns: Final = operation(
    success=Resource(
        "DnsValidation",
        {"domain_sid": "string", "is_valid": "boolean", "reason": "string", "url": "string"},
    )
)
fetch_config: Final = operation(success=CONFIG)
update_config: Final = operation(
    success=CONFIG,
    body="form+json",
    params=(
        *CONFIG_FIELDS,
        Param(
            "MessagingServiceSids",
            "array",
            description="Services to add, delete or replace; repeated or comma-separated.",
            item=text("MessagingServiceSids"),
        ),
        choice("MessagingServiceSidsAction", SERVICE_ACTIONS, "add (default), delete, replace."),
    ),
    errors=(413, 415),
)
ASSOCIATION: Final = Resource(
    "LinkDomainService",
    {"domain_sid": "string", "messaging_service_sid": "string", "url": "string"},
)
# Reads nothing but the path; a body, if any, is ignored.
add_service: Final = operation(success=ASSOCIATION, status=201, body="form+json")
remove_service: Final = operation(success=None, status=204)
service_domain: Final = operation(success=ASSOCIATION)
service_domain_config: Final = operation(
    success=CONFIG.extended("ServiceDomainConfig", messaging_service_sid="string")
)
LINK_SETTINGS: Final = Resource(
    "LinkSettings",
    {
        "messaging_service_sid": "string",
        "link_mode": "string",
        "link_prefix": "string?",
        "drop_scheme": "boolean",
        "url": "string",
    },
)
fetch_service_settings: Final = operation(success=LINK_SETTINGS)
update_service_settings: Final = operation(
    success=LINK_SETTINGS,
    body="form+json",
    params=(
        choice("LinkMode", LINK_MODES, "Which links of a message to shorten."),
        text("LinkPrefix", "One word (letters, digits, inner hyphens), or empty for none."),
        flag("DropScheme", "Short links without https://."),
    ),
    errors=(413, 415),
)
CERTIFICATE: Final = Resource(
    "LinkCertificate",
    {
        "domain_sid": "string",
        "certificate_sid": "string",
        "domain_name": "string",
        "subject_names": "array",
        "date_created": "string",
        "date_updated": "string",
        "date_expires": "string",
        "expires_soon": "boolean",
        "warning": "string?",
        "url": "string",
    },
)
upload_certificate: Final = operation(
    success=CERTIFICATE,
    body="form+json",
    params=(
        text(
            "TlsCert",
            "PEM certificate (chain), with the PKCS#8 key here or in PrivateKey.",
            required=True,
        ),
        text("PrivateKey", "PEM PKCS#8 private key."),
    ),
    errors=(413, 415),
    extra_responses={
        201: {
            "description": "The domain's first certificate",
            "content": {JSON: {"schema": CERTIFICATE.schema()}},
        }
    },
)
fetch_certificate: Final = operation(success=CERTIFICATE)
delete_certificate: Final = operation(success=None, status=204)

INCLUDE_BOTS: Final = flag("IncludeBots", "Count clicks by bots too.")
STATS: Final = Resource(
    "LinkStats",
    {
        "account_sid": "string",
        "links": "integer",
        "total_clicks": "integer",
        "unique_clicks": "integer",
        "bot_clicks": "integer",
        "first_click": "string?",
        "last_click": "string?",
        "devices": "any",
        "os": "any",
        "browsers": "any",
        "messages_delivered_with_links": "integer",
        "messages_clicked": "integer",
        "click_through_rate": "number?",
        "include_bots": "boolean",
    },
)
account_analytics: Final = operation(success=STATS, params=(INCLUDE_BOTS,))
scoped_analytics: Final = operation(
    success=STATS.extended("ScopedLinkStats", scope="string", id="string"),
    params=(INCLUDE_BOTS,),
)
CLICK: Final = Resource(
    "Click",
    {
        "slug": "string",
        "account_sid": "string",
        "message_sid": "string?",
        "messaging_service_sid": "string?",
        "campaign_sid": "string?",
        "to": "string?",
        "clicked_at": "string",
        "is_bot": "boolean",
    },
)
list_clicks: Final = operation(
    success=v1_page("clicks", CLICK),
    params=(
        text("Slug"),
        text("MessageSid"),
        text("To"),
        text("MessagingServiceSid"),
        text("CampaignSid"),
        INCLUDE_BOTS,
        *V1_PAGING,
    ),
)
