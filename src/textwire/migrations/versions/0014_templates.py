"""templates: campaign templates (bodies, language and A/B variants) and the price table

Revision ID: 0014_templates
Revises: 0013_audiences
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0014_templates"
down_revision = "0013_audiences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=True),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_templates")),
    )
    op.create_index(
        "ix_templates_account_created", "templates", ["account_sid", "date_created"], unique=False
    )
    op.create_table(
        "prices",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sender_kind", sa.String(length=16), nullable=False),
        sa.Column("price", sa.String(length=24), nullable=False),
        sa.Column("price_unit", sa.String(length=3), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_prices")),
        sa.UniqueConstraint(
            "account_sid",
            "country",
            "sender_kind",
            name=op.f("uq_prices_account_sid_country_sender_kind"),
        ),
    )


def downgrade() -> None:
    op.drop_table("prices")
    op.drop_index("ix_templates_account_created", table_name="templates")
    op.drop_table("templates")
