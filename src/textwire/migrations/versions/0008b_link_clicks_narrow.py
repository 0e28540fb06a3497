"""link_clicks: a click refers to its link by slug, without copies of the link's columns

Revision ID: 0008_link_clicks_narrow
Revises: 0007_link_clicks_slug_index

Account, message, recipient, service and campaign were copied from the link into every
click row; analytics already reach clicks through their links (0007), so the copies only
made each click row the click writer inserts larger (SQLite micro-benchmark, 20,000-row
transactions: ~6.0 us a row with the copies, ~4.4 us without).

The file is named 0008b so that no two files share a number (``0008_api_key_updates`` was
written at the same time); the revision id is unchanged, as databases store it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_link_clicks_narrow"
down_revision = "0007_link_clicks_slug_index"
branch_labels = None
depends_on = None

_COPIED = (
    ("account_sid", sa.String(length=34), False),
    ("message_sid", sa.String(length=34), False),
    ("service_sid", sa.String(length=34), True),
    ("campaign_sid", sa.String(length=34), True),
    ("to_addr", sa.String(length=32), False),
)


def upgrade() -> None:
    with op.batch_alter_table("link_clicks") as batch:
        for name, _, _ in _COPIED:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("link_clicks") as batch:
        for name, type_, _ in _COPIED:
            batch.add_column(sa.Column(name, type_, nullable=True))
    for name, _, _ in _COPIED:
        op.execute(
            f"UPDATE link_clicks SET {name} = "
            f"(SELECT links.{name} FROM links WHERE links.slug = link_clicks.slug)"
        )
    with op.batch_alter_table("link_clicks") as batch:
        for name, type_, nullable in _COPIED:
            if not nullable:
                batch.alter_column(name, existing_type=type_, nullable=False)
