"""Every connector kind textwire has, in one place.

An integration's ``type`` names one entry here; the registry builds its connector, the
Integrations API validates, tests and shows it, and the provider endpoints read its inbound
messages and receipts, all through this entry (``common.Kind``). Adding a connector is a
module that defines its ``KIND`` and one line below (docs/providers.md, "Adding a connector").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from textwire.providers import http_json, sandbox, smpp, twilio
from textwire.providers.common import Kind

KINDS: Final[Mapping[str, Kind]] = MappingProxyType(
    {k.name: k for k in (sandbox.KIND, twilio.KIND, http_json.KIND, smpp.KIND)}
)
TYPES: Final[tuple[str, ...]] = tuple(KINDS)


def kind(name: str) -> Kind:
    """The kind an integration's ``type`` names; ValueError for one textwire does not know."""
    found = KINDS.get(name)
    if found is None:
        raise ValueError(f"no connector for integration type {name!r}")
    return found
