"""sandbox keys hand-overs by reference (SID or SID#attempt)

Revision ID: 0006_sandbox_refs
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sandbox_refs"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_messages") as batch:
        batch.alter_column(
            "message_sid", type_=sa.String(length=40), existing_type=sa.String(length=34)
        )


def downgrade() -> None:
    with op.batch_alter_table("sandbox_messages") as batch:
        batch.alter_column(
            "message_sid", type_=sa.String(length=34), existing_type=sa.String(length=40)
        )
