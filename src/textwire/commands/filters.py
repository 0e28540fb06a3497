"""Checks on the command line's filter options: a malformed one is a usage error (exit 2
naming the option), never a query that quietly matches nothing (issue 11 §6)."""

from __future__ import annotations

from typing import get_args

import typer

from textwire.ids import is_sid
from textwire.links.slugs import is_valid_slug
from textwire.messages.status import Status
from textwire.phone import InvalidPhoneNumber, parse_phone

MESSAGE_STATUSES = get_args(Status)


def _sid(prefix: str, value: str | None) -> str | None:
    if value is not None and not is_sid(value, prefix):
        raise typer.BadParameter(f"{value!r} is not a SID: {prefix} and 32 hex digits")
    return value


def account_sid(value: str | None) -> str | None:
    return _sid("AC", value)


def message_sid(value: str | None) -> str | None:
    if value is not None and not (is_sid(value, "SM") or is_sid(value, "MM")):
        raise typer.BadParameter(f"{value!r} is not a message SID: SM and 32 hex digits")
    return value


def service_sid(value: str | None) -> str | None:
    return _sid("MG", value)


def campaign_sid(value: str | None) -> str | None:
    return _sid("CA", value)


def slug(value: str | None) -> str | None:
    if value is not None and not is_valid_slug(value):
        raise typer.BadParameter(f"{value!r} is not a short link's slug (e.g. Ab3dE9x)")
    return value


def phone(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_phone(value)
        except InvalidPhoneNumber as exc:
            raise typer.BadParameter(f"{value!r} is not an E.164 number: {exc.rule}") from None
    return value


def message_status(value: str | None) -> str | None:
    if value is not None and value not in MESSAGE_STATUSES:
        raise typer.BadParameter(f"{value!r} is not a status; one of {', '.join(MESSAGE_STATUSES)}")
    return value


def at_most_one(**selectors: str | None) -> None:
    """Refuse two selectors at once: each names a different scope (a link, a message...)."""
    names = [f"--{name.replace('_', '-')}" for name in selectors]
    given = [name for name, value in zip(names, selectors.values(), strict=True) if value]
    if len(given) > 1:
        raise typer.BadParameter(
            f"give at most one of {', '.join(names)} (got {' and '.join(given)})"
        )
