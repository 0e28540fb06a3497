"""link shortening: domains, certificates, service link settings, links and clicks

Revision ID: 0002_links
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import textwire.tables

revision = "0002_links"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_clicks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("message_sid", sa.String(length=34), nullable=False),
        sa.Column("service_sid", sa.String(length=34), nullable=True),
        sa.Column("campaign_sid", sa.String(length=34), nullable=True),
        sa.Column("to_addr", sa.String(length=32), nullable=False),
        sa.Column("clicked_at", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=4), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("browser", sa.String(length=64), nullable=False),
        sa.Column("os", sa.String(length=64), nullable=False),
        sa.Column("device_type", sa.String(length=8), nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("bot", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_clicks")),
    )
    op.create_index(
        "ix_link_clicks_account_to", "link_clicks", ["account_sid", "to_addr"], unique=False
    )
    op.create_index(
        op.f("ix_link_clicks_message_sid"), "link_clicks", ["message_sid"], unique=False
    )
    op.create_index(
        op.f("ix_link_clicks_service_sid"), "link_clicks", ["service_sid"], unique=False
    )
    op.create_index(op.f("ix_link_clicks_slug"), "link_clicks", ["slug"], unique=False)
    op.create_table(
        "links",
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("message_sid", sa.String(length=34), nullable=False),
        sa.Column("service_sid", sa.String(length=34), nullable=True),
        sa.Column("campaign_sid", sa.String(length=34), nullable=True),
        sa.Column("domain_sid", sa.String(length=34), nullable=True),
        sa.Column("to_addr", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("short_url", sa.Text(), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_expires", textwire.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_links")),
    )
    op.create_index("ix_links_account_to", "links", ["account_sid", "to_addr"], unique=False)
    op.create_index(op.f("ix_links_message_sid"), "links", ["message_sid"], unique=False)
    op.create_index(op.f("ix_links_service_sid"), "links", ["service_sid"], unique=False)
    op.create_table(
        "link_domains",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("domain_name", sa.String(length=253), nullable=False),
        sa.Column("verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("config_sid", sa.String(length=34), nullable=False),
        sa.Column("fallback_url", sa.Text(), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column(
            "continue_on_failure", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("disable_https", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_link_domains_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_link_domains")),
        sa.UniqueConstraint("domain_name", name=op.f("uq_link_domains_domain_name")),
    )
    op.create_index(
        op.f("ix_link_domains_account_sid"), "link_domains", ["account_sid"], unique=False
    )
    op.create_table(
        "link_certificates",
        sa.Column("domain_sid", sa.String(length=34), nullable=False),
        sa.Column("certificate_sid", sa.String(length=34), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("key_enc", sa.Text(), nullable=False),
        sa.Column("subject_names", sa.Text(), nullable=False),
        sa.Column("date_expires", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_sid"],
            ["link_domains.sid"],
            name=op.f("fk_link_certificates_domain_sid_link_domains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain_sid", name=op.f("pk_link_certificates")),
    )
    op.create_table(
        "link_domain_services",
        sa.Column("service_sid", sa.String(length=34), nullable=False),
        sa.Column("domain_sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("date_created", textwire.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_sid"],
            ["link_domains.sid"],
            name=op.f("fk_link_domain_services_domain_sid_link_domains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_sid"],
            ["services.sid"],
            name=op.f("fk_link_domain_services_service_sid_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_sid", name=op.f("pk_link_domain_services")),
    )
    op.create_index(
        op.f("ix_link_domain_services_domain_sid"),
        "link_domain_services",
        ["domain_sid"],
        unique=False,
    )
    op.create_table(
        "link_service_settings",
        sa.Column("service_sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("link_mode", sa.String(length=8), server_default="off", nullable=False),
        sa.Column("link_prefix", sa.String(length=63), nullable=True),
        sa.Column("drop_scheme", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("date_updated", textwire.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_sid"],
            ["services.sid"],
            name=op.f("fk_link_service_settings_service_sid_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_sid", name=op.f("pk_link_service_settings")),
    )
    op.create_index(
        op.f("ix_link_service_settings_account_sid"),
        "link_service_settings",
        ["account_sid"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_link_service_settings_account_sid"), table_name="link_service_settings")
    op.drop_table("link_service_settings")
    op.drop_index(op.f("ix_link_domain_services_domain_sid"), table_name="link_domain_services")
    op.drop_table("link_domain_services")
    op.drop_table("link_certificates")
    op.drop_index(op.f("ix_link_domains_account_sid"), table_name="link_domains")
    op.drop_table("link_domains")
    op.drop_index(op.f("ix_links_service_sid"), table_name="links")
    op.drop_index(op.f("ix_links_message_sid"), table_name="links")
    op.drop_index("ix_links_account_to", table_name="links")
    op.drop_table("links")
    op.drop_index(op.f("ix_link_clicks_slug"), table_name="link_clicks")
    op.drop_index(op.f("ix_link_clicks_service_sid"), table_name="link_clicks")
    op.drop_index(op.f("ix_link_clicks_message_sid"), table_name="link_clicks")
    op.drop_index("ix_link_clicks_account_to", table_name="link_clicks")
    op.drop_table("link_clicks")
