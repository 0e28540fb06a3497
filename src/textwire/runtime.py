"""The ``Runtime`` record: one per process, holding every shared object.

Caches and registries live here, not in module globals, so tests can run several
runtimes side by side and each API, worker or CLI call gets what it needs passed in.

It sits above the domains whose objects it holds and below the front doors (routes, the
send pipeline, inbound keyword handling) that read it; no domain module imports it. Domain
code that needs part of it declares a Protocol of that part (``dispatch.worker.WorkerDeps``,
``providers.ingest.IngestDeps``), which this record satisfies. ``compose.open_runtime``
builds it and wires what crosses layers (the ingest sink's inbound hook).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textwire.accounts import Authenticator, TokenCache
from textwire.clock import Clock
from textwire.config import Settings
from textwire.consent.state import ConsentCache
from textwire.crypto import SecretBox
from textwire.db import Database
from textwire.links.shortener import Shortener
from textwire.loops import LoopRegistry
from textwire.messages.inserter import MessageInserter
from textwire.metrics import Metrics
from textwire.providers.base import Provider
from textwire.providers.registry import ProviderRegistry
from textwire.providers.sandbox import SandboxProvider
from textwire.senders.directory import Directory
from textwire.senders.pool import PoolCache


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    clock: Clock
    auth: Authenticator
    tokens: TokenCache
    directory: Directory
    inserter: MessageInserter
    metrics: Metrics
    sandbox: SandboxProvider
    consent: ConsentCache
    links: Shortener
    loops: LoopRegistry = field(default_factory=LoopRegistry)
    """This process's background loops, supervised (server.py) and reported by /healthz."""
    providers: ProviderRegistry = field(init=False)
    pools: PoolCache = field(init=False)

    def __post_init__(self) -> None:
        self.providers = ProviderRegistry(self.db, self.box, self.settings, self.sandbox)
        self.pools = PoolCache(self.db)

    def provider_for(self, integration_sid: str | None) -> Provider:
        """The provider behind an integration (its connector, or its backup while down)."""
        return self.providers.get(integration_sid)

    async def close(self) -> None:
        await self.providers.close()
        await self.db.dispose()
