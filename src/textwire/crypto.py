"""Secrets at rest: Fernet encryption for what must be read back, SHA-256 for what is only checked.

Auth tokens and API-key secrets are 128+ random bits, so a fast hash is safe for
verifying them (no dictionary to attack), and keeps auth cheap on the hot path.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class WrongSecretKey(RuntimeError):
    """The key does not open the secrets this database holds."""


class SecretBox:
    """Encrypts and decrypts secrets with one Fernet key."""

    def __init__(self, key: str | bytes):
        self._fernet = Fernet(key if isinstance(key, bytes) else key.encode())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:  # wrong TEXTWIRE_SECRET_KEY for this database
            raise WrongSecretKey(
                "cannot decrypt a stored secret: is TEXTWIRE_SECRET_KEY right?"
            ) from exc


def load_or_create_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, else the one in ``data_dir/secret.key``, created on first run."""
    if configured:
        return configured
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def new_token() -> str:
    """A 32-hex-digit auth token, like Twilio's."""
    return secrets.token_hex(16)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
