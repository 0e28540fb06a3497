"""The composition root: builds a process's ``Runtime`` and wires what crosses layers.

The only module, with the app factory (``api/app.py``), allowed to know every layer: the
ingest sink is a providers-domain object, but the keyword handling it hands each inbound
message to (``consent.inbound``) sends replies through the send pipeline, a front door.
Wiring the one into the other here keeps both imports pointing down.
"""

from __future__ import annotations

from functools import partial

from textwire.accounts import Authenticator, TokenCache
from textwire.clock import Clock
from textwire.config import Settings
from textwire.consent.inbound import on_inbound
from textwire.consent.state import ConsentCache
from textwire.crypto import SecretBox, load_or_create_key
from textwire.db import Database
from textwire.links.shortener import Shortener
from textwire.messages.inserter import MessageInserter
from textwire.metrics import Metrics
from textwire.migrate import upgrade
from textwire.providers.ingest import Ingest
from textwire.providers.sandbox import SandboxProvider
from textwire.runtime import Runtime
from textwire.senders.directory import Directory


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
    rt = Runtime(
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
    rt.providers.sink = Ingest(rt, on_inbound=partial(on_inbound, rt))
    return rt
