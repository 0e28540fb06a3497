"""The whole declared schema: core tables plus each domain's own table module.

Domains declare their tables in their own ``tables.py`` on the shared ``metadata`` and are
imported here, so Alembic and the schema test see every table.
"""

from __future__ import annotations

from textwire import tables as core
from textwire.campaigns import template_tables as templates
from textwire.consent import tables as consent
from textwire.contacts import audience_tables as audiences
from textwire.contacts import tables as contacts
from textwire.links import tables as links
from textwire.messages import tables as messages
from textwire.outbox import tables as outbox
from textwire.providers import tables as providers
from textwire.senders import tables as senders
from textwire.tables import metadata

__all__ = [
    "audiences",
    "consent",
    "contacts",
    "core",
    "links",
    "messages",
    "metadata",
    "outbox",
    "providers",
    "senders",
    "templates",
]
