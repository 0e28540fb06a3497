"""link_clicks: one secondary index (slug); analytics reach clicks through their links

Revision ID: 0007_link_clicks_slug_index
Revises: 0002_links

Every column a click copies from its link (account, message, recipient, service,
campaign) is already indexed on ``links``, so analytics select the links in scope there
and join their clicks by slug. The three other indexes on ``link_clicks`` cost the click
writer most of its time (bench/redirect.py: ~20 us a row with four indexes, ~7 us with
the slug index alone) and served no query the join does not.
"""

from __future__ import annotations

from alembic import op

revision = "0007_link_clicks_slug_index"
down_revision = "0002_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_link_clicks_account_to", table_name="link_clicks")
    op.drop_index(op.f("ix_link_clicks_message_sid"), table_name="link_clicks")
    op.drop_index(op.f("ix_link_clicks_service_sid"), table_name="link_clicks")


def downgrade() -> None:
    op.create_index(
        op.f("ix_link_clicks_service_sid"), "link_clicks", ["service_sid"], unique=False
    )
    op.create_index(
        op.f("ix_link_clicks_message_sid"), "link_clicks", ["message_sid"], unique=False
    )
    op.create_index(
        "ix_link_clicks_account_to", "link_clicks", ["account_sid", "to_addr"], unique=False
    )
