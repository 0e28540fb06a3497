"""OpenAPI declarations of the contact-field, contact-settings, import and export routes
(``contacts/api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    JSON,
    V1_PAGING,
    Resource,
    choice,
    operation,
    text,
    v1_page,
)
from textwire.contacts.fields import FIELD_TYPES, MAX_KEY_LENGTH

FIELD: Final = Resource(
    "ContactField",
    {
        "account_sid": "string",
        "key": "string",
        "type": "string",
        "date_created": "string",
        "url": "string",
    },
)
create_field: Final = operation(
    success=FIELD,
    status=201,
    body="form+json",
    params=(
        text(
            "Key",
            "[a-z][a-z0-9_]{0,63}, unique in the account; not a CSV column name "
            "(phone, email, custom_id, friendly_name, time_zone, time_zone_source, language, sid).",
            required=True,
            max_length=MAX_KEY_LENGTH,
        ),
        choice("Type", FIELD_TYPES, "How values are checked and stored.", required=True),
    ),
    errors=(409, 413, 415),
)
list_fields: Final = operation(success=v1_page("contact_fields", FIELD), params=V1_PAGING)
fetch_field: Final = operation(success=FIELD)
delete_field: Final = operation(success=None, status=204)

SETTINGS: Final = Resource(
    "ContactSettings",
    {"account_sid": "string", "time_zone": "string", "time_zone_setting": "string?"},
)
get_settings: Final = operation(success=SETTINGS)
set_settings: Final = operation(
    success=SETTINGS.extended("ContactSettingsChange", contacts_moved="integer"),
    body="form+json",
    params=(
        text(
            "TimeZone",
            "The IANA zone of contacts with no zone of their own or from their number; "
            "empty goes back to UTC.",
            required=True,
            max_length=64,
        ),
    ),
    errors=(413, 415),
)

IMPORT: Final = Resource(
    "ContactImport",
    {
        "sid": "string",
        "account_sid": "string",
        "status": "string",
        "source": "string",
        "filename": "string?",
        "counts": "object",
        "bytes_read": "integer",
        "invalid_rows": "array",
        "error": "string?",
        "date_created": "string",
        "date_updated": "string",
        "date_completed": "string?",
        "url": "string",
    },
)
create_import: Final = operation(
    success=IMPORT,
    status=201,
    body="csv",
    query=(text("FileName", "Recorded with the import.", max_length=256),),
    errors=(413,),
    extra_responses={
        422: {
            "description": "The file was refused; the failed import says why",
            "content": {JSON: {"schema": IMPORT.schema()}},
        }
    },
)
list_imports: Final = operation(success=v1_page("imports", IMPORT), params=V1_PAGING)
fetch_import: Final = operation(success=IMPORT)
export_contacts: Final = operation(
    success=None,
    extra_responses={
        200: {
            "description": "Every contact of the account as CSV, streamed",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
