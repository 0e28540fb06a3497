"""OpenAPI declarations of the list, segment and audience routes (``contacts/audience_api.py``)."""

from __future__ import annotations

from typing import Final

from textwire.api.declare import (
    V1_PAGING,
    Param,
    Resource,
    integer,
    operation,
    text,
    v1_page,
)
from textwire.consent.declared import IDENTIFIERS
from textwire.contacts.filter_language import MAX_LENGTH
from textwire.contacts.lists import MAX_NAME
from textwire.contacts.segments import SAMPLE_MAX

NAME: Final = text("FriendlyName", "At most 64 characters.", max_length=MAX_NAME)
FILTER: Final = text(
    "Filter",
    'A segment filter, e.g. first_name = "Ana" and clicked within 30d (docs/campaigns.md).',
    max_length=MAX_LENGTH,
)
SAMPLE: Final = integer("SampleSize", 0, SAMPLE_MAX, "Contacts to show (default 10).")
CONTACT_SIDS: Final = Param(
    "ContactSid",
    "array",
    description="Contact SIDs; repeat the parameter.",
    item=text("ContactSid"),
)


def _sids(name: str, what: str) -> Param:
    return Param(name, "array", description=f"{what} SIDs; repeat the parameter.", item=text(name))


AUDIENCE: Final = (
    _sids("IncludeLists", "List"),
    _sids("IncludeSegments", "Segment"),
    _sids("ExcludeLists", "List"),
    _sids("ExcludeSegments", "Segment"),
)

LIST: Final = Resource(
    "ContactList",
    {
        "sid": "string",
        "account_sid": "string",
        "friendly_name": "string",
        "member_count": "integer",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
        "links": "object",
    },
)
MEMBER: Final = Resource(
    "ListMember", {"list_sid": "string", "contact_sid": "string", "date_created": "string"}
)
MEMBERSHIP_CHANGE: Final = Resource(
    "ListMembershipChange",
    {
        "list_sid": "string",
        "contact_sids": "array",
        "changed": "integer",
        "member_count": "integer",
    },
)
SEGMENT: Final = Resource(
    "Segment",
    {
        "sid": "string",
        "account_sid": "string",
        "friendly_name": "string",
        "filter": "string",
        "date_created": "string",
        "date_updated": "string",
        "url": "string",
        "links": "object",
    },
)
PREVIEW: Final = Resource("AudiencePreview", {"count": "integer", "sample": "array"})

create_list: Final = operation(
    success=LIST,
    status=201,
    body="form+json",
    params=(Param("FriendlyName", required=True, max_length=MAX_NAME),),
    errors=(409, 413, 415),
)
list_lists: Final = operation(success=v1_page("lists", LIST), params=V1_PAGING)
fetch_list: Final = operation(success=LIST)
update_list: Final = operation(
    success=LIST, body="form+json", params=(NAME,), errors=(409, 413, 415)
)
delete_list: Final = operation(success=None, status=204, errors=(409,))
list_members: Final = operation(success=v1_page("members", MEMBER), params=V1_PAGING)
add_members: Final = operation(
    success=MEMBERSHIP_CHANGE,
    body="form+json",
    params=(CONTACT_SIDS, *IDENTIFIERS),
    errors=(413, 415),
)
remove_members: Final = operation(success=MEMBERSHIP_CHANGE, params=(CONTACT_SIDS, *IDENTIFIERS))
remove_member: Final = operation(success=None, status=204)

create_segment: Final = operation(
    success=SEGMENT,
    status=201,
    body="form+json",
    params=(
        Param("FriendlyName", required=True, max_length=MAX_NAME),
        Param("Filter", required=True, max_length=MAX_LENGTH, description=FILTER.description),
    ),
    errors=(413, 415),
)
list_segments: Final = operation(success=v1_page("segments", SEGMENT), params=V1_PAGING)
fetch_segment: Final = operation(success=SEGMENT)
update_segment: Final = operation(
    success=SEGMENT, body="form+json", params=(NAME, FILTER), errors=(413, 415)
)
delete_segment: Final = operation(success=None, status=204)
preview_filter: Final = operation(
    success=PREVIEW.extended("FilterPreview", filter="string"),
    body="form+json",
    params=(
        Param("Filter", required=True, max_length=MAX_LENGTH, description=FILTER.description),
        SAMPLE,
    ),
    errors=(413, 415),
)
preview_segment: Final = operation(
    success=PREVIEW.extended("SegmentPreview", segment_sid="string", filter="string"),
    params=(SAMPLE,),
)
preview_audience: Final = operation(
    success=PREVIEW, body="form+json", params=(*AUDIENCE, SAMPLE), errors=(413, 415)
)
