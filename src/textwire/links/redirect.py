"""The redirect decision: ``GET``/``HEAD /{slug}`` → 302 (F-LINK-6, issue 4 item 4).

What the redirect server answers, decided in one place (``Redirector.answer``) for the
listener that speaks HTTP (``links/listener.py``). A request does, in order: check the
path is a slug (``slugs.slug_from_path``: no ``..``, no ``%``, bounded length), look the
slug up in an in-process cache (the database is read only on a miss, never written),
answer 302 to the original URL and append the click to the ``ClickRecorder`` buffer.

A cache hit is decided synchronously and answered with bytes built once per link
(``LinkTarget.response``); everything else returns a coroutine the listener awaits.

Unknown and expired slugs (retention ``link_retention_days``) and anything that is not a
slug go to the fallback URL of the domain the request came in on (its ``Host``), or of the
default domain (``link_fallback_url``); with none set, a small 404 page. They record no
click and fire no click event. A database failure on a cache miss is a 503, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import select

from textwire.clock import Clock
from textwire.db import Database
from textwire.links import responses
from textwire.links import tables as lt
from textwire.links.clicks import ClickRecorder, LinkTarget
from textwire.links.responses import Connection, http_response
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

_NOT_FOUND_HEADERS: Final = (
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
)
_METHODS: Final = {b"GET": "GET", b"HEAD": "HEAD"}
# Distinct user agents decoded once and shared by the clicks that carry them: a buffered
# click then holds a reference, not its own ~200-byte copy. Cleared when it grows past this.
_AGENTS_KEPT: Final = 4096
_NOT_ALLOWED: Final = http_response(405, [(b"allow", b"GET, HEAD")])

Answer = bytes | Coroutine[Any, Any, bytes]
"""The response bytes, or (off the fast path) a coroutine that produces them."""


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
        location = ascii_location(row.url)
        return LinkTarget(
            slug=row.slug,
            url=row.url,
            location=location,
            response=responses.redirect(location),
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


class Redirector:
    """Decides every answer of the redirect server; the listener only speaks HTTP."""

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
        self._agents: dict[bytes, str] = {}

    def answer(
        self,
        method: bytes,
        path: bytes,
        host: bytes | None,
        ip: str | None,
        user_agent: bytes | None,
        connection: Connection = None,
    ) -> Answer:
        """The response to one request (``path`` without its query string).

        Synchronous on a cache hit: the click is buffered and the link's pre-built 302
        returned. Otherwise a coroutine: look-up, fallback, 404 or 503.
        """
        click_method = _METHODS.get(method)
        if click_method is None:
            if connection is None:
                return _NOT_ALLOWED
            return http_response(405, [(b"allow", b"GET, HEAD")], connection=connection)
        slug = slug_from_path(path.decode("latin-1"))
        if slug is None:
            return self._fallback(method, host, None, connection)
        target = self.cache.found.get(slug)
        if target is None:
            return self._look_up(slug, method, host, ip, user_agent, connection)
        return self._redirect(target, click_method, host, ip, user_agent, connection)

    def _redirect(
        self,
        target: LinkTarget,
        method: str,
        host: bytes | None,
        ip: str | None,
        user_agent: bytes | None,
        connection: Connection,
    ) -> Answer:
        now = time.time() + self.clock.offset.total_seconds()  # clock.now(), cheaper
        if target.expires_at <= now:
            return self._fallback(method.encode(), host, target, connection)
        agent = None
        if user_agent is not None:
            agent = self._agents.get(user_agent)
            if agent is None:
                if len(self._agents) >= _AGENTS_KEPT:
                    self._agents.clear()
                agent = self._agents[user_agent] = user_agent.decode("latin-1")
        self.clicks.add(target, now, method, ip, agent)
        if connection is None:
            return target.response
        return responses.redirect(target.location, connection=connection)

    async def _look_up(
        self,
        slug: str,
        method: bytes,
        host: bytes | None,
        ip: str | None,
        user_agent: bytes | None,
        connection: Connection,
    ) -> bytes:
        try:
            target = await self.cache.get(slug)
        except Exception:
            log.exception("slug look-up failed", extra={"slug": slug})
            return http_response(
                503,
                [(b"retry-after", b"5")],
                UNAVAILABLE_PAGE,
                head=method == b"HEAD",
                connection=connection,
            )
        if target is None:
            return await self._fallback(method, host, None, connection)
        answer = self._redirect(target, _METHODS[method], host, ip, user_agent, connection)
        return answer if isinstance(answer, bytes) else await answer

    async def _fallback(
        self,
        method: bytes,
        host: bytes | None,
        target: LinkTarget | None,
        connection: Connection,
    ) -> bytes:
        try:
            location = await self.fallbacks.for_request(
                host.decode("latin-1") if host is not None else None,
                target.domain_sid if target else None,
            )
        except Exception:
            log.exception("fallback look-up failed")
            location = None
        if location is None:
            return http_response(
                404,
                _NOT_FOUND_HEADERS,
                NOT_FOUND_PAGE,
                head=method == b"HEAD",
                connection=connection,
            )
        return responses.redirect(location, connection=connection)


def redirector(rt: Runtime) -> Redirector:
    """The redirect decision and its click buffer, built from the runtime's settings."""
    s = rt.settings
    clicks = ClickRecorder(
        rt.db,
        rt.tokens,
        UserAgentClassifier(),
        batch_size=s.click_batch_size,
        interval=s.click_flush_interval,
        high_water=s.click_high_water,
    )
    return Redirector(
        SlugCache(rt.db, s.slug_cache_size),
        DomainFallbacks(rt.db, s.link_fallback_url),
        clicks,
        rt.clock,
    )
