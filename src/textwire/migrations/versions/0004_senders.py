"""sender selection state: sticky mappings and sender leases

Revision ID: 0004_senders
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0004_senders"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sticky_mappings",
        sa.Column("service_sid", sa.String(length=34), nullable=False),
        sa.Column("to_addr", sa.String(length=32), nullable=False),
        sa.Column("to_country", sa.String(length=2), nullable=False),
        sa.Column("sender_sid", sa.String(length=34), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service_sid", "to_addr", name=op.f("pk_sticky_mappings")),
    )
    op.create_index("ix_sticky_mappings_sender", "sticky_mappings", ["sender_sid"])
    op.create_table(
        "sender_leases",
        sa.Column("sender_sid", sa.String(length=34), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender_sid", name=op.f("pk_sender_leases")),
    )


def downgrade() -> None:
    op.drop_table("sender_leases")
    op.drop_index("ix_sticky_mappings_sender", table_name="sticky_mappings")
    op.drop_table("sticky_mappings")
