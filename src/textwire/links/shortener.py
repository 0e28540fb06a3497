"""The send pipeline's shortening step (F-LINK-1..4, F-LINK-11).

``Shortener.shorten`` picks the URLs a mode selects, gives each distinct URL its own slug
on the right link domain and returns the rewritten text with the ``links`` rows to insert
in the message's own transaction. The per-account link settings (service mode, prefix,
domain) come from a small snapshot cache, like the sender directory's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from textwire.config import Settings
from textwire.db import Database
from textwire.errors import TextwireError, invalid
from textwire.links import slugs
from textwire.links import tables as lt
from textwire.links.rewrite import LINK_MODES, LinkMode, UnknownLinkMode, parse_mode, rewrite
from textwire.ratelimit import RateLimiter
from textwire.snapshots import SnapshotCache

log = logging.getLogger("textwire.links")

RATE_WINDOW: Final = 60.0


@dataclass(frozen=True)
class DomainInfo:
    sid: str
    account_sid: str
    domain_name: str
    verified: bool
    fallback_url: str | None
    callback_url: str | None
    disable_https: bool
    # Twilio's ContinueOnFailure: when shortening fails, send the original links (true) or
    # do not send the message at all (false).
    continue_on_failure: bool = True


@dataclass(frozen=True)
class ServiceLinks:
    """How one messaging service shortens: its mode, prefix, scheme choice and domain."""

    mode: LinkMode = "off"
    prefix: str | None = None
    drop_scheme: bool = False
    domain: DomainInfo | None = None


@dataclass
class _Snapshot:
    services: dict[str, ServiceLinks] = field(default_factory=dict)
    loaded_at: float = 0.0


@dataclass(frozen=True)
class Shortened:
    """The text to send, the link rows to store with it, and what to record on the message."""

    text: str
    rows: list[dict[str, Any]]
    record: dict[str, Any] | None

    @property
    def withheld(self) -> bool:
        """Shortening failed and the link domain's ContinueOnFailure is false."""
        return self.record is not None and self.record.get("continue_on_failure") is False


async def store_links(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert the short links of a hand-over (per-recipient links made by the worker) in the
    caller's transaction, with the message rows they belong to."""
    await conn.execute(insert(lt.links), rows)


def default_base_url(settings: Settings) -> str:
    """The default link domain: ``link_base_url``, else this host's redirect port."""
    if settings.link_base_url:
        return settings.link_base_url.rstrip("/")
    return f"http://{settings.host}:{settings.redirect_port}"


def with_prefix(base_url: str, prefix: str | None) -> str:
    """``https://tw.to`` with prefix ``promo`` → ``https://promo.tw.to`` (F-LINK-4)."""
    if not prefix:
        return base_url
    scheme, _, rest = base_url.partition("://")
    return f"{scheme}://{prefix}.{rest}"


def resolve_mode(
    shorten_urls: bool | None, link_mode: str | None, service_sid: str | None, service_mode: str
) -> LinkMode:
    """The mode one message uses: its own ``LinkMode``/``ShortenUrls``, else its service's."""
    if shorten_urls and service_sid is None:
        raise invalid("ShortenUrls", "requires 'MessagingServiceSid' (links shorten per service)")
    if link_mode is not None:
        try:
            return parse_mode(link_mode)
        except UnknownLinkMode:
            raise invalid("LinkMode", f"must be one of {', '.join(LINK_MODES)}") from None
    if shorten_urls is False:
        return "off"
    mode = parse_mode(service_mode)
    if shorten_urls and mode == "off":
        return "all"
    return mode


class Shortener:
    """Link settings cache, per-account rate limit and slug making, for one process."""

    def __init__(self, settings: Settings, db: Database, ttl: float = 2.0):
        self._settings = settings
        self._db = db
        self._cache: SnapshotCache[_Snapshot] = SnapshotCache(self._load, ttl)
        self._limiter = RateLimiter(window=RATE_WINDOW, guard=0.0)
        self.default_base = default_base_url(settings)
        # Replaceable so a test can force a slug collision; production uses ``secrets``.
        self.new_slug: Callable[[int], str] = slugs.new_slug

    def invalidate(self, account_sid: str) -> None:
        self._cache.invalidate(account_sid)

    async def service_links(self, account_sid: str, service_sid: str | None) -> ServiceLinks:
        if service_sid is None:
            return ServiceLinks()
        snap = await self._cache.get(account_sid)
        return snap.services.get(service_sid, ServiceLinks())

    async def _load(self, account_sid: str) -> _Snapshot:
        snap = _Snapshot(loaded_at=time.monotonic())
        domains: dict[str, DomainInfo] = {}
        s, ds, d = lt.link_service_settings, lt.link_domain_services, lt.link_domains
        async with self._db.read() as conn:
            for r in await conn.execute(select(d).where(d.c.account_sid == account_sid)):
                domains[r.sid] = DomainInfo(
                    sid=r.sid,
                    account_sid=r.account_sid,
                    domain_name=r.domain_name,
                    verified=bool(r.verified),
                    fallback_url=r.fallback_url,
                    callback_url=r.callback_url,
                    disable_https=bool(r.disable_https),
                    continue_on_failure=bool(r.continue_on_failure),
                )
            by_service = {
                r.service_sid: domains.get(r.domain_sid)
                for r in await conn.execute(select(ds).where(ds.c.account_sid == account_sid))
            }
            settings = {
                r.service_sid: r
                for r in await conn.execute(select(s).where(s.c.account_sid == account_sid))
            }
        for sid in set(by_service) | set(settings):
            row = settings.get(sid)
            snap.services[sid] = ServiceLinks(
                mode=parse_mode(row.link_mode) if row else "off",
                prefix=row.link_prefix if row else None,
                drop_scheme=bool(row.drop_scheme) if row else False,
                domain=by_service.get(sid),
            )
        return snap

    def check_rate(self, account_sid: str, links: int) -> None:
        """Count ``links`` new links against the account's per-minute limit, or 20429."""
        limit = self._settings.link_rate_limit
        if self._limiter.reserve(account_sid, limit, links, time.monotonic()) > 0:
            raise TextwireError(
                20429,
                f"Too many short links: this account may create {limit} per minute; "
                "the message was not created",
            )

    def base_for(self, links: ServiceLinks) -> tuple[str, bool, str | None]:
        """``(base_url, drop_scheme, domain_sid)`` for a service's links."""
        domain = links.domain
        if domain is not None and domain.verified:
            scheme = "http" if domain.domain_name == "localhost" else "https"
            base = with_prefix(f"{scheme}://{domain.domain_name}", links.prefix)
            return base, domain.disable_https or links.drop_scheme, domain.sid
        return with_prefix(self.default_base, links.prefix), links.drop_scheme, None

    def shorten(
        self,
        *,
        text: str,
        mode: LinkMode,
        links: ServiceLinks,
        account_sid: str,
        service_sid: str | None,
        to: str,
        now: datetime,
    ) -> Shortened:
        """Rewrite ``text``; on an internal failure keep the original links (F-LINK-11).

        The rows lack ``message_sid``; the pipeline sets it. Rate limiting is checked
        before this is called, so a 20429 has written and reserved nothing else.
        """
        rows: list[dict[str, Any]] = []
        try:
            base, drop_scheme, domain_sid = self.base_for(links)
            expires = now + timedelta(days=self._settings.link_retention_days)

            def make_link(url: str) -> str:
                slug = self.new_slug(self._settings.slug_length)
                short = slugs.short_link(base, slug, drop_scheme=drop_scheme)
                rows.append(
                    {
                        "slug": slug,
                        "account_sid": account_sid,
                        "service_sid": service_sid,
                        "campaign_sid": None,
                        "domain_sid": domain_sid,
                        "to_addr": to,
                        "url": url,
                        "short_url": short,
                        "date_created": now,
                        "date_expires": expires,
                    }
                )
                return short

            result = rewrite(text, mode, make_link)
        except Exception as exc:  # F-LINK-11: the message goes out with its own links...
            record: dict[str, Any] = {"status": "failed", "error": str(exc)[:200]}
            if links.domain is not None and not links.domain.continue_on_failure:
                # ...unless its domain says ContinueOnFailure=false: then it does not go out.
                log.exception("link shortening failed; the domain says not to send")
                record["continue_on_failure"] = False
            else:
                log.exception("link shortening failed; sending the original links")
            return Shortened(text, [], record)
        if not rows:
            return Shortened(text, [], None)
        return Shortened(
            result.text, rows, {"status": "shortened", "mode": mode, "links": len(rows)}
        )
