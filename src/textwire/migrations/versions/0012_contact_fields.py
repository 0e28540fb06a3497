"""contacts: typed fields, time zone and language per contact, settings, imports

Revision ID: 0012_contact_fields
Revises: 0011_one_history
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0012_contact_fields"
down_revision = "0011_one_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_fields",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", "key", name=op.f("pk_contact_fields")),
    )
    op.create_table(
        "contact_settings",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", name=op.f("pk_contact_settings")),
    )
    op.create_table(
        "contact_imports",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=256), nullable=True),
        sa.Column("lines", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("invalid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bytes_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_completed", textwire.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_contact_imports")),
    )
    with op.batch_alter_table("contact_imports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_imports_account_created", ["account_sid", "date_created"], unique=False
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("time_zone_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("time_zone_source")
        batch_op.drop_column("time_zone")
    with op.batch_alter_table("contact_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_imports_account_created")
    op.drop_table("contact_imports")
    op.drop_table("contact_settings")
    op.drop_table("contact_fields")
