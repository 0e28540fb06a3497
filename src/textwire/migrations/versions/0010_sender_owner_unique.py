"""senders.owner_key: a phone number or short code has one owning account

Revision ID: 0010_sender_owner_unique
Revises: 0004_senders

Inbound messages, replies and opt-outs for a number must reach one account, so a long code
or toll-free number (by its E.164 value) and a short code (by country and code) may be
registered by one account only across the installation. Alphanumeric sender IDs cannot
receive and stay shareable: their owner_key is NULL, which a unique index never compares.

Databases made before this revision may already hold the same number in several accounts.
The migration must not fail on them, and must not delete a sender that messages and services
refer to: the oldest registration (date_created, then sid) becomes the owner; the others
keep working as before but own nothing (owner_key NULL), and are logged as a warning so the
operator can delete the ones that should not be there. Any new registration of the number
is refused.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0010_sender_owner_unique"
down_revision = "0004_senders"
branch_labels = None
depends_on = None

log = logging.getLogger("textwire.migrations")


def _owner_key(kind: str, value: str, country: str | None) -> str | None:
    # The same rule as textwire.senders.api.owner_key, frozen here as of this revision.
    if kind == "alphanumeric":
        return None
    if kind == "short_code":
        return f"{country or ''}:{value}"
    return value


def upgrade() -> None:
    op.add_column("senders", sa.Column("owner_key", sa.String(length=40), nullable=True))
    senders = sa.table(
        "senders",
        sa.column("sid", sa.String),
        sa.column("account_sid", sa.String),
        sa.column("kind", sa.String),
        sa.column("value", sa.String),
        sa.column("country", sa.String),
        sa.column("date_created", sa.String),
        sa.column("owner_key", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            senders.c.sid,
            senders.c.account_sid,
            senders.c.kind,
            senders.c.value,
            senders.c.country,
        ).order_by(senders.c.date_created, senders.c.sid)
    ).all()
    owners: dict[str, str] = {}
    for row in rows:
        key = _owner_key(row.kind, row.value, row.country)
        if key is None:
            continue
        if key in owners:
            log.warning(
                "sender registered in several accounts; the oldest owns it",
                extra={"sender_sid": row.sid, "owner_sender_sid": owners[key]},
            )
            continue
        owners[key] = row.sid
        conn.execute(sa.update(senders).where(senders.c.sid == row.sid).values(owner_key=key))
    op.create_index("ux_senders_owner_key", "senders", ["owner_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_senders_owner_key", table_name="senders")
    with op.batch_alter_table("senders") as batch:
        batch.drop_column("owner_key")
