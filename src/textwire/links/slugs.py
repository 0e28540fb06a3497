"""Short-link slugs and the short links built from them (SPEC F-LINK-2, F-LINK-3).

Pure: no I/O. A slug is ``DEFAULT_SLUG_LENGTH`` (7) characters drawn with ``secrets`` from
``SLUG_ALPHABET``, which leaves out the look-alikes ``0 O o 1 l I`` so a slug read aloud or
retyped from a screen survives. 56**7 is about 1.7e12 slugs; the link store still owns
uniqueness ("never reused", F-LINK-2) with a unique index and a retry on collision.

``https://tw.to/Ab3dE9x`` is 21 characters (F-LINK-3); ``drop_scheme`` gives
``tw.to/Ab3dE9x``. The scheme is the link domain's own: ``http`` stays ``http``.
"""

from __future__ import annotations

import secrets
from typing import Final
from urllib.parse import urlsplit

SLUG_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
"""Digits and ASCII letters without ``0 O o 1 l I``: 56 characters."""

DEFAULT_SLUG_LENGTH: Final = 7
MIN_SLUG_LENGTH: Final = 5
"""Below this a busy account would spend its time retrying collisions."""
MAX_SLUG_LENGTH: Final = 32

_SLUG_CHARS: Final = frozenset(SLUG_ALPHABET)
_SCHEMES: Final = ("http", "https")


def new_slug(length: int = DEFAULT_SLUG_LENGTH) -> str:
    """A cryptographically random slug of ``length`` characters from ``SLUG_ALPHABET``.

    Raises ``ValueError`` when ``length`` is outside ``MIN_SLUG_LENGTH..MAX_SLUG_LENGTH``.
    """
    if not MIN_SLUG_LENGTH <= length <= MAX_SLUG_LENGTH:
        raise ValueError(f"slug length must be {MIN_SLUG_LENGTH}..{MAX_SLUG_LENGTH}, not {length}")
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(length))


def is_valid_slug(value: str) -> bool:
    """Whether ``value`` could be a slug: right length, only ``SLUG_ALPHABET`` characters.

    Cheap enough for the redirect hot path; rejects ``..``, ``/``, ``%``, very long input.
    """
    return MIN_SLUG_LENGTH <= len(value) <= MAX_SLUG_LENGTH and _SLUG_CHARS.issuperset(value)


def slug_from_path(path: str) -> str | None:
    """The slug in a redirect request path (``/Ab3dE9x``, ``/Ab3dE9x/``), or None."""
    # The length guard keeps a megabyte-long path from being copied by the slicing below.
    if not path.startswith("/") or len(path) > MAX_SLUG_LENGTH + 2:
        return None
    slug = path[1:-1] if path.endswith("/") else path[1:]
    return slug if is_valid_slug(slug) else None


def short_link(base_url: str, slug: str, *, drop_scheme: bool = False) -> str:
    """The short link for ``slug`` on the link domain ``base_url`` (F-LINK-3).

    ``base_url`` is ``http[s]://host[:port]`` with an optional trailing ``/``; its scheme
    is kept (lower-cased) unless ``drop_scheme``. Raises ``ValueError`` for any other
    ``base_url`` or an invalid slug: both come from configuration or code, not users.
    """
    if not is_valid_slug(slug):
        raise ValueError(f"invalid slug {slug!r}")
    scheme, netloc = _split_base(base_url)
    prefix = netloc if drop_scheme else f"{scheme}://{netloc}"
    return f"{prefix}/{slug}"


def _split_base(base_url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(base_url.strip())
        _ = parts.port  # raises for a port that is not a number in 0..65535
    except ValueError as exc:  # also an unbalanced IPv6 bracket
        raise ValueError(f"invalid link base URL {base_url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname or _has_space(parts.netloc):
        raise ValueError(f"link base URL must be http(s)://host[:port], not {base_url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"link base URL must have no path, query or user: {base_url!r}")
    return scheme, parts.netloc


def _has_space(value: str) -> bool:
    return any(char.isspace() for char in value)
