"""api_keys.date_updated: a key's FriendlyName can be changed through the Keys API

Revision ID: 0008_api_key_updates
Revises: 0001

Existing keys were never updated, so they start with ``date_updated = date_created``.

The file is named 0008a so that no two files share a number (``0008_link_clicks_narrow`` was
written at the same time); the revision id is unchanged, as databases store it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from textwire.tables import UTCDateTime

revision = "0008_api_key_updates"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("date_updated", UTCDateTime(), nullable=True))
    op.execute("UPDATE api_keys SET date_updated = date_created")
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("date_updated", existing_type=UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("date_updated")
