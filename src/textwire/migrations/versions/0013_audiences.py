"""audiences: contact lists, their members, saved segments (F-CONTACT-3)

Revision ID: 0013_audiences
Revises: 0012_contact_fields
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0013_audiences"
down_revision = "0012_contact_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_lists",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_contact_lists")),
        sa.UniqueConstraint(
            "account_sid", "friendly_name", name=op.f("uq_contact_lists_account_sid_friendly_name")
        ),
    )
    op.create_table(
        "contact_list_members",
        sa.Column("list_sid", sa.String(length=34), nullable=False),
        sa.Column("contact_sid", sa.String(length=34), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("list_sid", "contact_sid", name=op.f("pk_contact_list_members")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("contact_list_members", schema=None) as batch_op:
        batch_op.create_index("ix_contact_list_members_contact_sid", ["contact_sid"], unique=False)
    op.create_table(
        "contact_segments",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_contact_segments")),
    )
    with op.batch_alter_table("contact_segments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_segments_account_created", ["account_sid", "date_created"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_segments_account_created")
    op.drop_table("contact_segments")
    with op.batch_alter_table("contact_list_members", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_list_members_contact_sid")
    op.drop_table("contact_list_members")
    op.drop_table("contact_lists")
