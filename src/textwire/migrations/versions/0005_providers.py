"""providers: provider message references, multi-part inbound, numbers' inbound URLs

Revision ID: 0005_providers
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0005_providers"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_refs",
        sa.Column("integration_sid", sa.String(length=34), nullable=False),
        sa.Column("provider_ref", sa.String(length=80), nullable=False),
        sa.Column("message_sid", sa.String(length=34), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("integration_sid", "provider_ref", name=op.f("pk_provider_refs")),
    )
    op.create_index("ix_provider_refs_message_sid", "provider_refs", ["message_sid"])
    op.create_table(
        "inbound_parts",
        sa.Column("integration_sid", sa.String(length=34), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "integration_sid", "source", "reference", "seq", name=op.f("pk_inbound_parts")
        ),
    )
    op.create_table(
        "number_webhooks",
        sa.Column("sender_sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("inbound_url", sa.Text(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender_sid", name=op.f("pk_number_webhooks")),
    )


def downgrade() -> None:
    op.drop_table("number_webhooks")
    op.drop_table("inbound_parts")
    op.drop_index("ix_provider_refs_message_sid", table_name="provider_refs")
    op.drop_table("provider_refs")
