"""Which provider carries an integration's messages: built once, cached, failed over.

``ProviderRegistry.get(integration_sid)`` is what ``Runtime.provider_for`` returns: a
``RoutedProvider`` that loads the integration (re-read every few seconds, so another
process's edit arrives), builds its connector once per version of its settings, records
every reference the provider gave (``provider_refs``) and, when the integration names a
``backup_integration_sid``, sends through the backup while the primary has been down
(connection errors, lost bind, 5xx) for ``failover_after`` seconds. Each result says which
integration carried it (``SendResult.route``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from textwire.config import Settings
from textwire.crypto import SecretBox
from textwire.db import Database
from textwire.egress import client_factory
from textwire.messages import store
from textwire.providers import tables as pt
from textwire.providers.base import OutboundMessage, Provider, SendResult
from textwire.providers.common import Connector, IntegrationConfig, ProviderEnv, Sink
from textwire.providers.kinds import KINDS, kind
from textwire.providers.sandbox import Refusal, SandboxProvider
from textwire.providers.sandbox import refusal as sandbox_refusal

log = logging.getLogger("textwire.providers")

CONFIG_TTL = 2.0
PROBE_EVERY = 5.0
KEEPER_EVERY = 10.0


def callback_base(settings: Settings) -> str:
    """Where providers reach textwire: the public URL, else the address it listens on."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def build_connector(cfg: IntegrationConfig, env: ProviderEnv) -> Connector:
    """A new connector for this integration, by its kind (``providers.kinds``)."""
    build = kind(cfg.type).build
    if build is None:
        raise ValueError(f"a {cfg.type} integration is handed over locally, with no connector")
    return build(cfg, env)


@dataclass(frozen=True)
class Route:
    """What the worker needs to know of an integration before handing messages to it."""

    local: bool
    """The sandbox, which keeps its record of each message in textwire's own database: the
    worker hands messages over inside the transaction that marks them sent, so the hand-over
    and its record commit together."""
    concurrency: int | None = None
    """Requests the integration allows in flight (its ``concurrency`` setting), if it has one."""


LOCAL = Route(local=True)
# The kinds whose connectors hold a session open (``Kind.keep_bound``): SMPP.
_KEPT_BOUND = [k.name for k in KINDS.values() if k.keep_bound]


class ProviderRegistry:
    """Connectors per integration, for one runtime."""

    def __init__(self, db: Database, box: SecretBox, settings: Settings, sandbox: SandboxProvider):
        self.db = db
        self.box = box
        self.settings = settings
        self.sandbox = sandbox
        self.sink: Sink | None = None
        self._routes: dict[str | None, RoutedProvider] = {}
        self._configs: dict[str, tuple[float, IntegrationConfig | None]] = {}
        self._connectors: dict[str, tuple[IntegrationConfig, Connector]] = {}
        self._build_lock = asyncio.Lock()
        self._keeper: asyncio.Task[None] | None = None

    def get(self, integration_sid: str | None) -> Provider:
        route = self._routes.get(integration_sid)
        if route is None:
            route = self._routes[integration_sid] = RoutedProvider(self, integration_sid)
        return route

    def env(self) -> ProviderEnv:
        return ProviderEnv(
            callback_base=callback_base(self.settings),
            sink=self.sink,
            http=client_factory(self.settings),
        )

    def decode(self, row: Any) -> IntegrationConfig:
        secrets = json.loads(self.box.decrypt(row.secrets_enc)) if row.secrets_enc else {}
        return IntegrationConfig(
            sid=row.sid,
            account_sid=row.account_sid,
            friendly_name=row.friendly_name,
            type=row.type,
            settings=dict(row.settings or {}),
            secrets=secrets,
            updated=row.date_updated,
        )

    async def config(self, integration_sid: str) -> IntegrationConfig | None:
        cached = self._configs.get(integration_sid)
        now = time.monotonic()
        if cached is not None and now - cached[0] < CONFIG_TTL:
            return cached[1]
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(pt.integrations).where(pt.integrations.c.sid == integration_sid)
                )
            ).first()
        cfg = self.decode(row) if row is not None else None
        self._configs[integration_sid] = (now, cfg)
        return cfg

    async def route(self, integration_sid: str | None) -> Route:
        """How the worker hands this integration's messages over (``Route``)."""
        if integration_sid is None:
            return LOCAL
        cfg = await self.config(integration_sid)
        if cfg is None:  # deleted: RoutedProvider fails its messages
            return Route(local=False)
        if kind(cfg.type).local:
            return LOCAL
        concurrency = cfg.settings.get("concurrency")
        return Route(local=False, concurrency=int(concurrency) if concurrency else None)

    async def refusal(
        self, integration_sid: str | None, from_addr: str | None, to_addr: str
    ) -> Refusal | None:
        """What this route refuses at create, before anything is written: the sandbox
        answers Twilio's magic test numbers as Twilio's test credentials do. Other providers
        decide at hand-over. Checked on the numbers first, so an ordinary create reads no
        configuration."""
        found = sandbox_refusal(from_addr, to_addr)
        if found is None or not (await self.route(integration_sid)).local:
            return None
        return found

    def invalidate(self, integration_sid: str) -> None:
        """Forget a cached integration now (this process changed it)."""
        self._configs.pop(integration_sid, None)

    async def connector(self, cfg: IntegrationConfig) -> Connector:
        """The connector for this version of the integration, built on first use."""
        current = self._connectors.get(cfg.sid)
        if current is not None and current[0].updated == cfg.updated:
            return current[1]
        async with self._build_lock:
            current = self._connectors.get(cfg.sid)
            if current is not None and current[0].updated == cfg.updated:
                return current[1]
            connector = build_connector(cfg, self.env())
            self._connectors[cfg.sid] = (cfg, connector)
        if current is not None:
            await current[1].close()
        return connector

    def health(self, integration_sid: str) -> dict[str, Any] | None:
        current = self._connectors.get(integration_sid)
        if current is None:
            return None
        h = current[1].health
        return {
            "up": h.down_since is None,
            "down_for": max(0.0, h.down_for()),
            "error": h.last_error,
        }

    def start(self) -> None:
        """Keep the sessions of every account's bound kinds up (SMPP binds also carry
        receipts and inbound messages)."""
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._keep_bound())

    async def _keep_bound(self) -> None:
        while True:
            try:
                async with self.db.read() as conn:
                    rows = (
                        await conn.execute(
                            select(pt.integrations).where(pt.integrations.c.type.in_(_KEPT_BOUND))
                        )
                    ).all()
                for row in rows:
                    cfg = self.decode(row)
                    self._configs[cfg.sid] = (time.monotonic(), cfg)
                    connector = await self.connector(cfg)
                    start = getattr(connector, "start", None)
                    if start is not None:
                        start()
            except Exception:
                log.exception("could not load SMPP integrations; retrying")
            await asyncio.sleep(KEEPER_EVERY)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        for _, connector in list(self._connectors.values()):
            await connector.close()
        self._connectors.clear()


class RoutedProvider:
    """An integration as the worker sees it: its connector, or its backup while it is down."""

    def __init__(self, registry: ProviderRegistry, integration_sid: str | None):
        self._reg = registry
        self.integration_sid = integration_sid

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        sid = self.integration_sid
        cfg = await self._reg.config(sid) if sid is not None else None
        if cfg is None or kind(cfg.type).local:
            if sid is not None and cfg is None:
                return [
                    SendResult(
                        m.sid,
                        "failed",
                        error_code=30008,
                        error_message=f"integration {sid} was deleted",
                    )
                    for m in messages
                ]
            return await self._reg.sandbox.send_batch(messages, route=sid)
        primary = await self._reg.connector(cfg)
        backup = cfg.settings.get("backup_integration_sid")
        after = float(cfg.settings.get("failover_after", 30.0))
        if (
            backup
            and primary.health.down_for() >= after
            and not primary.health.probe_due(PROBE_EVERY)
        ):
            return await self._via_backup(cfg, backup, messages)
        results = await self._send(cfg, primary, messages)
        if backup and primary.health.down_for() >= after:
            again = [m for m, r in zip(messages, results, strict=True) if r.outcome == "retry"]
            if again:
                rerouted = {r.sid: r for r in await self._via_backup(cfg, backup, again)}
                results = [rerouted.get(r.sid, r) for r in results]
        return results

    async def _via_backup(
        self, cfg: IntegrationConfig, backup_sid: str, messages: Sequence[OutboundMessage]
    ) -> list[SendResult]:
        backup = await self._reg.config(backup_sid)
        if backup is None or backup.account_sid != cfg.account_sid:
            return [
                SendResult(m.sid, "retry", error_message="backup integration missing")
                for m in messages
            ]
        log.warning(
            "primary integration down; sending through its backup",
            extra={"integration": cfg.sid, "backup": backup_sid, "messages": len(messages)},
        )
        if kind(backup.type).local:
            return await self._reg.sandbox.send_batch(messages, route=backup_sid)
        return await self._send(backup, await self._reg.connector(backup), messages)

    async def _send(
        self, cfg: IntegrationConfig, connector: Connector, messages: Sequence[OutboundMessage]
    ) -> list[SendResult]:
        try:
            results = await connector.send_batch(messages)
        except Exception as exc:  # a connector fault is a retry, never a lost message
            log.exception("connector failed", extra={"integration": cfg.sid})
            connector.health.failed(f"{type(exc).__name__}: {exc}")
            results = [SendResult(m.sid, "retry", error_message=str(exc)) for m in messages]
        for r in results:
            if r.outcome != "accepted":
                log.info(
                    "provider did not accept a message",
                    extra={
                        "integration": cfg.sid,
                        "message_sid": r.sid,
                        "outcome": r.outcome,
                        "error_code": r.error_code,
                        "error": r.error_message,
                    },
                )
        await store.record_refs(self._reg.db, cfg.sid, results)
        return [replace(r, route=cfg.sid) for r in results]

    async def lookup(self, sids: Sequence[str]) -> dict[str, SendResult]:
        """Hand-overs any route of this integration already accepted (crash recovery).

        Keyed as asked: by message SID, or ``SID#n`` for a later attempt of the same message
        (which only the sandbox can tell apart; the references record the first).
        """
        if not sids:
            return {}
        first = [ref for ref in sids if "#" not in ref]
        rows = await store.first_refs(self._reg.db, first) if first else []
        found = {
            r.message_sid: SendResult(
                r.message_sid,
                "accepted",
                provider_sid=None if r.provider_ref.startswith("textwire:") else r.provider_ref,
                route=r.integration_sid,
            )
            for r in rows
        }
        rest = [s for s in sids if s not in found]
        if rest:
            for ref, result in (await self._reg.sandbox.lookup(rest)).items():
                found[ref] = replace(result, route=self.integration_sid)
        return found
