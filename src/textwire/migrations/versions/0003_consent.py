"""consent: contacts, identifiers, consent state and history, settings, subscriber syncs

Revision ID: 0003_consent
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0003_consent"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_history")),
    )
    with op.batch_alter_table("consent_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_history_account_phone", ["account_sid", "phone"], unique=False
        )

    op.create_table(
        "consent_refusals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("service_sid", sa.String(length=34), nullable=True),
        sa.Column("to_addr", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_refusals")),
    )
    with op.batch_alter_table("consent_refusals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_refusals_account_created", ["account_sid", "date_created"], unique=False
        )

    op.create_table(
        "consent_settings",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("scope", sa.String(length=34), nullable=False),
        sa.Column("require_opt_in", sa.Boolean(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=True),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", "scope", name=op.f("pk_consent_settings")),
    )
    op.create_table(
        "consent_states",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("at", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", "phone", "scope", name=op.f("pk_consent_states")),
    )
    op.create_table(
        "contact_identifiers",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("contact_sid", sa.String(length=34), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_sid", "type", "value", name=op.f("pk_contact_identifiers")
        ),
    )
    with op.batch_alter_table("contact_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_identifiers_contact_sid"), ["contact_sid"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_account_created", ["account_sid", "date_created"], unique=False
        )

    op.create_table(
        "subscribers",
        sa.Column("run_sid", sa.String(length=34), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("run_sid", "phone", name=op.f("pk_subscribers")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sync_runs",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("scope", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=256), nullable=True),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("added", sa.Integer(), server_default="0", nullable=False),
        sa.Column("removed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("invalid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lines", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bytes_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("applied_at", textwire.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_runs_account_scope_status", ["account_sid", "scope", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_account_scope_status")

    op.drop_table("sync_runs")
    op.drop_table("subscribers")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_account_created")

    op.drop_table("contacts")
    with op.batch_alter_table("contact_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identifiers_contact_sid"))

    op.drop_table("contact_identifiers")
    op.drop_table("consent_states")
    op.drop_table("consent_settings")
    with op.batch_alter_table("consent_refusals", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_refusals_account_created")

    op.drop_table("consent_refusals")
    with op.batch_alter_table("consent_history", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_history_account_phone")

    op.drop_table("consent_history")
