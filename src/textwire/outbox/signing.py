"""Webhook signatures (pure).

``X-Twilio-Signature`` is what Twilio's ``RequestValidator`` checks: base64 HMAC-SHA1 of
the URL followed by every parameter name and value, names sorted, with the account's auth
token as key. ``X-Textwire-Signature`` signs JSON bodies: HMAC-SHA256 over
``timestamp.body`` so a receiver can also reject replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence


def twilio_signature(token: str, url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    parts = [url]
    for name in sorted(params):
        value = params[name]
        if isinstance(value, str):  # the usual case: one value per name
            parts += (name, value)
        else:
            for item in sorted(set(value)):
                parts += (name, item)
    payload = "".join(parts)
    digest = hmac.digest(token.encode(), payload.encode(), "sha1")  # one-shot: OpenSSL's
    return base64.b64encode(digest).decode()


def textwire_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
