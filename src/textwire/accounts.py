"""Accounts, API keys and authentication.

An account's auth token is stored twice: hashed (to check a request quickly) and
encrypted (to sign the callbacks we send, which needs the token itself).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from textwire import tables as t
from textwire.clock import Clock
from textwire.crypto import SecretBox, hash_secret, new_token, secret_matches
from textwire.db import Database
from textwire.errors import TextwireError, invalid, not_found
from textwire.ids import new_sid
from textwire.providers import tables as pt
from textwire.snapshots import SnapshotCache


@dataclass(frozen=True)
class NewAccount:
    account_sid: str
    auth_token: str


@dataclass(frozen=True)
class Account:
    """What Twilio's Accounts resource shows of an account (never its token)."""

    sid: str
    friendly_name: str
    status: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True)
class ApiKey:
    sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True)
class NewApiKey:
    sid: str
    secret: str
    key: ApiKey


@dataclass(frozen=True)
class _Credential:
    account_sid: str
    secret_hash: str


@dataclass(frozen=True)
class _Lookup:
    """What the database held for a username when read: its credential, or None."""

    loaded_at: float
    credential: _Credential | None


SANDBOX_INTEGRATION_NAME = "Sandbox"


MAX_ACCOUNT_NAME = 64


def check_account_name(name: str) -> str:
    """An account's FriendlyName without surrounding blanks: 1 to 64 characters."""
    name = name.strip()
    if not name or len(name) > MAX_ACCOUNT_NAME:
        raise invalid("FriendlyName", f"must be 1 to {MAX_ACCOUNT_NAME} characters")
    return name


async def create_account(db: Database, box: SecretBox, clock: Clock, name: str) -> NewAccount:
    """A new account with its auth token and its default sandbox integration."""
    name = check_account_name(name)
    sid = new_sid("AC")
    token = new_token()
    now = clock.now()
    async with db.write() as conn:
        await conn.execute(
            insert(t.accounts).values(
                sid=sid,
                friendly_name=name,
                auth_token_hash=hash_secret(token),
                auth_token_enc=box.encrypt(token),
                date_created=now,
                date_updated=now,
            )
        )
        await conn.execute(
            insert(pt.integrations).values(
                sid=new_sid("IN"),
                account_sid=sid,
                friendly_name=SANDBOX_INTEGRATION_NAME,
                type="sandbox",
                settings={},
                secrets_enc=None,
                date_created=now,
                date_updated=now,
            )
        )
    return NewAccount(sid, token)


_ACCOUNT_COLUMNS = (
    t.accounts.c.sid,
    t.accounts.c.friendly_name,
    t.accounts.c.status,
    t.accounts.c.date_created,
    t.accounts.c.date_updated,
)


def _account(row: Any) -> Account:
    return Account(row.sid, row.friendly_name, row.status, row.date_created, row.date_updated)


async def get_account(db: Database, sid: str) -> Account:
    """Account ``sid``; 20404 when there is none."""
    async with db.read() as conn:
        row = (await conn.execute(select(*_ACCOUNT_COLUMNS).where(t.accounts.c.sid == sid))).first()
    if row is None:
        raise not_found("Account", sid)
    return _account(row)


async def rename_account(db: Database, clock: Clock, sid: str, name: str) -> Account:
    """Set account ``sid``'s FriendlyName (checked: 1 to 64 characters)."""
    name = check_account_name(name)
    a = t.accounts
    async with db.write() as conn:
        row = (
            await conn.execute(
                update(a)
                .where(a.c.sid == sid)
                .values(friendly_name=name, date_updated=clock.now())
                .returning(*_ACCOUNT_COLUMNS)
            )
        ).first()
    if row is None:
        raise not_found("Account", sid)
    return _account(row)


MAX_KEY_NAME = 64


def check_key_name(name: str) -> str:
    """A key's FriendlyName: optional (empty), at most 64 characters, as the column holds."""
    if len(name) > MAX_KEY_NAME:
        raise invalid("FriendlyName", f"must be at most {MAX_KEY_NAME} characters")
    return name


def _key(row: Any) -> ApiKey:
    return ApiKey(row.sid, row.friendly_name, row.date_created, row.date_updated)


async def create_api_key(db: Database, clock: Clock, account_sid: str, name: str) -> NewApiKey:
    """A new key of ``account_sid``; its secret is returned here once and only hashed after."""
    check_key_name(name)
    sid = new_sid("SK")
    secret = new_token() + new_token()
    now = clock.now()
    async with db.write() as conn:
        # Checked, not left to the foreign key: SQLite may not enforce it, and the CLI takes
        # any --account it is given.
        if (
            await conn.scalar(select(t.accounts.c.sid).where(t.accounts.c.sid == account_sid))
            is None
        ):
            raise TextwireError(20404, f"Account {account_sid} not found")
        await conn.execute(
            insert(t.api_keys).values(
                sid=sid,
                account_sid=account_sid,
                friendly_name=name,
                secret_hash=hash_secret(secret),
                date_created=now,
                date_updated=now,
            )
        )
    return NewApiKey(sid, secret, ApiKey(sid, name, now, now))


_KEY_COLUMNS = (
    t.api_keys.c.sid,
    t.api_keys.c.friendly_name,
    t.api_keys.c.date_created,
    t.api_keys.c.date_updated,
)


async def list_api_keys(db: Database, account_sid: str, offset: int, limit: int) -> list[ApiKey]:
    """Oldest first: a new key lands on the last page, so offset paging neither skips nor
    repeats a key while keys are being created."""
    k = t.api_keys
    query = (
        select(*_KEY_COLUMNS)
        .where(k.c.account_sid == account_sid)
        .order_by(k.c.date_created, k.c.sid)
        .offset(offset)
        .limit(limit)
    )
    async with db.read() as conn:
        return [_key(r) for r in await conn.execute(query)]


async def get_api_key(db: Database, account_sid: str, sid: str) -> ApiKey:
    """Key ``sid`` of ``account_sid``; another account's key is 20404, like a missing one."""
    k = t.api_keys
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(*_KEY_COLUMNS).where(k.c.sid == sid, k.c.account_sid == account_sid)
            )
        ).first()
    if row is None:
        raise not_found("Key", sid)
    return _key(row)


async def rename_api_key(
    db: Database, clock: Clock, account_sid: str, sid: str, name: str
) -> ApiKey:
    check_key_name(name)
    k = t.api_keys
    async with db.write() as conn:
        row = (
            await conn.execute(
                update(k)
                .where(k.c.sid == sid, k.c.account_sid == account_sid)
                .values(friendly_name=name, date_updated=clock.now())
                .returning(*_KEY_COLUMNS)
            )
        ).first()
    if row is None:
        raise not_found("Key", sid)
    return _key(row)


async def delete_api_key(db: Database, account_sid: str, sid: str) -> None:
    """Remove key ``sid`` of ``account_sid``. Processes that cached it accept it until their
    cache entry expires (``Authenticator.TTL``); the caller's own process should
    ``forget()`` it."""
    k = t.api_keys
    async with db.write() as conn:
        result = await conn.execute(delete(k).where(k.c.sid == sid, k.c.account_sid == account_sid))
    if result.rowcount != 1:
        raise not_found("Key", sid)


async def default_integration_sid(db: Database, account_sid: str) -> str:
    async with db.read() as conn:
        sid = await conn.scalar(
            select(pt.integrations.c.sid)
            .where(
                pt.integrations.c.account_sid == account_sid, pt.integrations.c.type == "sandbox"
            )
            .order_by(pt.integrations.c.date_created)
            .limit(1)
        )
    if sid is None:
        raise TextwireError(20404, f"Account {account_sid} has no sandbox integration")
    return str(sid)


class Authenticator:
    """Checks Basic-auth credentials (account SID + token, or API key SID + secret).

    Credentials are cached for a few seconds: every API request authenticates, and a
    database round trip per request would cost more than the request's own work. The cache is
    a ``SnapshotCache`` keyed by username, so when an entry expires under load the requests in
    flight share one read, and an unknown username is cached as such (a credential-stuffing
    burst costs one read a name). A key deleted through this process is ``forget()``-ed at
    once, and a read under way at that moment is handed to its waiters but not cached, as it
    may have seen the key before; other processes stop accepting it when their entry
    expires, within ``TTL``.
    """

    TTL = 5.0

    def __init__(self, db: Database):
        self._db = db
        self._cache: SnapshotCache[_Lookup] = SnapshotCache(self._read, self.TTL)

    def forget(self, username: str) -> None:
        """Drop ``username``'s cached credential: the next request reads the database."""
        self._cache.invalidate(username)

    async def _read(self, username: str) -> _Lookup:
        # Stamped before the read: the entry expires TTL after what it saw, not after.
        loaded_at = time.monotonic()
        async with self._db.read() as conn:
            if username.startswith("AC"):
                row = (
                    await conn.execute(
                        select(t.accounts.c.sid, t.accounts.c.auth_token_hash).where(
                            t.accounts.c.sid == username, t.accounts.c.status == "active"
                        )
                    )
                ).first()
                if row is not None:
                    return _Lookup(loaded_at, _Credential(row.sid, row.auth_token_hash))
            elif username.startswith("SK"):
                row = (
                    await conn.execute(
                        select(t.api_keys.c.account_sid, t.api_keys.c.secret_hash).where(
                            t.api_keys.c.sid == username
                        )
                    )
                ).first()
                if row is not None:
                    return _Lookup(loaded_at, _Credential(row.account_sid, row.secret_hash))
        return _Lookup(loaded_at, None)

    async def authenticate(self, username: str, password: str) -> str | None:
        """The account SID these credentials act for, or None."""
        cred = (await self._cache.get(username)).credential
        if cred is None or not secret_matches(password, cred.secret_hash):
            return None
        return cred.account_sid


class TokenCache:
    """Decrypted auth tokens, for signing callbacks, kept so each sign is not a decrypt."""

    def __init__(self, db: Database, box: SecretBox):
        self._db = db
        self._box = box
        self._tokens: dict[str, str] = {}

    async def check_key(self) -> None:
        """Raise ``WrongSecretKey`` now if the key cannot open this database's secrets.

        Found later, it would fail every dispatch batch with a status callback (a callback
        is signed with the account's token) and every integration load, over and over.
        """
        try:
            async with self._db.read() as conn:
                enc = await conn.scalar(select(t.accounts.c.auth_token_enc).limit(1))
        except DBAPIError:  # no schema yet (opened without migrating): nothing to open
            return
        if enc is not None:
            self._box.decrypt(enc)

    async def token(self, account_sid: str) -> str:
        cached = self._tokens.get(account_sid)
        if cached is not None:
            return cached
        async with self._db.read() as conn:
            enc = await conn.scalar(
                select(t.accounts.c.auth_token_enc).where(t.accounts.c.sid == account_sid)
            )
        if enc is None:
            raise TextwireError(20404, f"Account {account_sid} not found")
        token = self._box.decrypt(enc)
        self._tokens[account_sid] = token
        return token
