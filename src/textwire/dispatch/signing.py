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
    payload = url
    for name in sorted(set(params)):
        value = params[name]
        values = [value] if isinstance(value, str) else list(value)
        for item in sorted(set(values)):
            payload += name + item
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def textwire_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
