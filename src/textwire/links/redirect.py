"""The redirect server: ``GET``/``HEAD /{slug}`` → 302 (F-LINK-6, issue 4 item 4).

A bare ASGI app, the hottest path in textwire. A request does, in order: check the path
is a slug (``slugs.slug_from_path``: no ``..``, no ``%``, bounded length), look the slug up
in an in-process cache (the database is read only on a miss, never written), answer 302
to the original URL and append the click to the ``ClickRecorder`` buffer.

Unknown and expired slugs (retention ``link_retention_days``) and anything that is not a
slug go to the fallback URL of the domain the request came in on (its ``Host``), or of the
default domain (``link_fallback_url``); with none set, a small 404 page. They record no
click and fire no click event. A database failure on a cache miss is a 503, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import select
from starlette.types import Receive, Scope, Send

from textwire.clock import Clock
from textwire.db import Database
from textwire.links import tables as lt
from textwire.links.clicks import ClickRecorder, LinkTarget, PendingClick
from textwire.links.slugs import slug_from_path
from textwire.links.useragent import UserAgentClassifier
from textwire.runtime import Runtime

log = logging.getLogger("textwire.links.redirect")

NOT_FOUND_PAGE: Final = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Link not found</title></head>"
    b"<body><h1>Link not found</h1><p>This link does not exist or has expired.</p></body></html>"
)
UNAVAILABLE_PAGE: Final = b"Link service temporarily unavailable; please try again.\n"
DOMAIN_REFRESH_SECONDS: Final = 5.0
NEGATIVE_TTL: Final = 5.0
# Characters a Location header may carry as they are (RFC 3986 reserved + unreserved + %).
_URL_SAFE: Final = "!#$%&'()*+,/:;=?@[]~-._"

_REDIRECT_HEADERS: Final = [(b"content-length", b"0"), (b"cache-control", b"no-store")]


def ascii_location(url: str) -> bytes:
    """``url`` as an ASCII ``Location``: IDNA host, percent-encoded path and query."""
    try:
        return url.encode("ascii")
    except UnicodeEncodeError:
        pass
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = quote(host, safe="")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE),
            quote(parts.fragment, safe=_URL_SAFE),
        )
    ).encode("ascii")


class SlugCache:
    """Slug → ``LinkTarget`` (or None for an unknown slug, for ``NEGATIVE_TTL`` seconds).

    Links never change once written, so a found entry stays until evicted (oldest first
    once ``size`` is reached); concurrent misses on one slug share one query.
    """

    def __init__(self, db: Database, size: int):
        self._db = db
        self._size = size
        self.found: dict[str, LinkTarget] = {}
        self._missing: dict[str, float] = {}
        self._loading: dict[str, asyncio.Future[LinkTarget | None]] = {}

    async def get(self, slug: str) -> LinkTarget | None:
        target = self.found.get(slug)
        if target is not None:
            return target
        missing_until = self._missing.get(slug)
        if missing_until is not None and missing_until > time.monotonic():
            return None
        pending = self._loading.get(slug)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[LinkTarget | None] = asyncio.get_running_loop().create_future()
        self._loading[slug] = fut
        try:
            target = await self._load(slug)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: a lone request re-raises it below
            raise
        else:
            fut.set_result(target)
            self._remember(slug, target)
            return target
        finally:
            del self._loading[slug]

    def _remember(self, slug: str, target: LinkTarget | None) -> None:
        if target is None:
            if len(self._missing) >= self._size:
                self._missing.clear()
            self._missing[slug] = time.monotonic() + NEGATIVE_TTL
            return
        self._missing.pop(slug, None)
        if len(self.found) >= self._size:
            del self.found[next(iter(self.found))]
        self.found[slug] = target

    async def _load(self, slug: str) -> LinkTarget | None:
        k = lt.links
        async with self._db.read() as conn:
            row = (await conn.execute(select(k).where(k.c.slug == slug))).first()
        if row is None:
            return None
        return LinkTarget(
            slug=row.slug,
            url=row.url,
            location=ascii_location(row.url),
            expires_at=row.date_expires.timestamp(),
            account_sid=row.account_sid,
            message_sid=row.message_sid,
            service_sid=row.service_sid,
            campaign_sid=row.campaign_sid,
            domain_sid=row.domain_sid,
            to_addr=row.to_addr,
            short_url=row.short_url,
        )


class DomainFallbacks:
    """Host name → fallback URL, reloaded at most every ``DOMAIN_REFRESH_SECONDS``."""

    def __init__(self, db: Database, default: str | None):
        self._db = db
        self._default = ascii_location(default) if default else None
        self._by_host: dict[str, bytes | None] = {}
        self._by_sid: dict[str, bytes | None] = {}
        self._loaded_at = -DOMAIN_REFRESH_SECONDS

    async def for_request(self, host: str | None, domain_sid: str | None) -> bytes | None:
        if time.monotonic() - self._loaded_at >= DOMAIN_REFRESH_SECONDS:
            await self._reload()
        if domain_sid is not None and domain_sid in self._by_sid:
            return self._by_sid[domain_sid]
        if host:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            name = name.lower().rstrip(".")
            if name in self._by_host:
                return self._by_host[name]
            # A prefix subdomain (promo.links.acme.com) falls back like its domain.
            parent = name.partition(".")[2]
            if parent in self._by_host:
                return self._by_host[parent]
        return self._default

    async def _reload(self) -> None:
        d = lt.link_domains
        async with self._db.read() as conn:
            rows = (await conn.execute(select(d.c.sid, d.c.domain_name, d.c.fallback_url))).all()
        by_host: dict[str, bytes | None] = {}
        by_sid: dict[str, bytes | None] = {}
        for r in rows:
            location = ascii_location(r.fallback_url) if r.fallback_url else None
            by_host[r.domain_name] = location
            by_sid[r.sid] = location
        self._by_host, self._by_sid = by_host, by_sid
        self._loaded_at = time.monotonic()


class RedirectApp:
    """The ASGI app of the redirect server."""

    def __init__(
        self,
        cache: SlugCache,
        fallbacks: DomainFallbacks,
        clicks: ClickRecorder,
        clock: Clock,
    ):
        self.cache = cache
        self.fallbacks = fallbacks
        self.clicks = clicks
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        if method != "GET" and method != "HEAD":
            await _respond(send, 405, [(b"allow", b"GET, HEAD")], b"", method)
            return
        slug = slug_from_path(scope["path"])
        target: LinkTarget | None = None
        if slug is not None and (target := self.cache.found.get(slug)) is None:
            try:
                target = await self.cache.get(slug)
            except Exception:
                log.exception("slug look-up failed", extra={"slug": slug})
                await _respond(send, 503, [(b"retry-after", b"5")], UNAVAILABLE_PAGE, method)
                return
        now = time.time() + self.clock.offset.total_seconds()  # clock.now(), cheaper
        if target is not None and target.expires_at > now:
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [(b"location", target.location), *_REDIRECT_HEADERS],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            self.clicks.add(
                PendingClick(target, now, method, _client_ip(scope), _user_agent(scope))
            )
            return
        await self._fallback(scope, send, method, target)

    async def _fallback(
        self, scope: Scope, send: Send, method: str, target: LinkTarget | None
    ) -> None:
        try:
            location = await self.fallbacks.for_request(
                _header(scope, b"host"), target.domain_sid if target else None
            )
        except Exception:
            log.exception("fallback look-up failed")
            location = None
        if location is None:
            headers = [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"cache-control", b"no-store"),
            ]
            await _respond(send, 404, headers, NOT_FOUND_PAGE, method)
            return
        await _respond(
            send, 302, [(b"location", location), (b"cache-control", b"no-store")], b"", method
        )


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _user_agent(scope: Scope) -> str | None:
    return _header(scope, b"user-agent")


def _client_ip(scope: Scope) -> str | None:
    client: Any = scope.get("client")
    return str(client[0]) if client else None


def redirect_app(rt: Runtime) -> RedirectApp:
    """The redirect server's app and its click buffer, built from the runtime's settings."""
    s = rt.settings
    clicks = ClickRecorder(
        rt.db,
        rt.tokens,
        UserAgentClassifier(),
        batch_size=s.click_batch_size,
        interval=s.click_flush_interval,
    )
    return RedirectApp(
        SlugCache(rt.db, s.slug_cache_size),
        DomainFallbacks(rt.db, s.link_fallback_url),
        clicks,
        rt.clock,
    )
