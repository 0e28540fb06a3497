"""A contact's language (F-CONTACT-1): a BCP 47 tag, for keyword replies and template
variants. Normalised to the usual casing (``en``, ``pt-BR``, ``zh-Hant-TW``) so that two
spellings of one tag match."""

from __future__ import annotations

import re
from typing import Final

MAX_LENGTH: Final = 35
_TAG: Final = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


class LanguageError(ValueError):
    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


def normalize_language(value: object, *, field: str = "Language") -> str:
    """The normalised tag; LanguageError if ``value`` is not a language tag like ``pt-BR``."""
    text = value.strip().replace("_", "-") if isinstance(value, str) else ""
    if len(text) > MAX_LENGTH or not _TAG.fullmatch(text):
        raise LanguageError(field, "must be a language tag such as en, fr or pt-BR")
    first, *rest = text.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())  # region
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script
        else:
            parts.append(part.lower())
    return "-".join(parts)
