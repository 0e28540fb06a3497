"""The composition root: one ``Runtime`` per process holds every shared object.

Caches and registries live here, not in module globals, so tests can run several
runtimes side by side and each API, worker or CLI call gets what it needs passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textwire.accounts import Authenticator, TokenCache
from textwire.clock import Clock
from textwire.config import Settings
from textwire.consent.state import ConsentCache
from textwire.crypto import SecretBox, load_or_create_key
from textwire.db import Database
from textwire.links.shortener import Shortener
from textwire.loops import LoopRegistry
from textwire.messages.inserter import MessageInserter
from textwire.metrics import Metrics
from textwire.migrate import upgrade
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
        from textwire.providers.ingest import Ingest  # it needs this module's Runtime

        self.providers.sink = Ingest(self)

    def provider_for(self, integration_sid: str | None) -> Provider:
        """The provider behind an integration (its connector, or its backup while down)."""
        return self.providers.get(integration_sid)

    async def close(self) -> None:
        await self.providers.close()
        await self.db.dispose()


async def open_runtime(
    settings: Settings, *, migrate: bool = True, clock: Clock | None = None
) -> Runtime:
    """Build the runtime for ``settings``, applying migrations first unless told not to."""
    url = settings.resolved_database_url()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        await upgrade(url)
    db = Database(url)
    box = SecretBox(load_or_create_key(settings.secret_key, settings.data_dir))
    tokens = TokenCache(db, box)
    try:
        await tokens.check_key()
    except BaseException:
        await db.dispose()
        raise
    return Runtime(
        settings=settings,
        db=db,
        box=box,
        clock=clock or Clock(),
        auth=Authenticator(db),
        tokens=tokens,
        directory=Directory(db),
        inserter=MessageInserter(db, settings.insert_batch_max),
        metrics=Metrics(),
        links=Shortener(settings, db),
        consent=ConsentCache(db),
        sandbox=SandboxProvider(
            db,
            delay=settings.sandbox_delivery_delay,
            failure_rate=settings.sandbox_failure_rate,
            seed=settings.sandbox_seed,
        ),
    )
