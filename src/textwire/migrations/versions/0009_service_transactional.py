"""services.transactional: a service's default for the Transactional extension

Revision ID: 0009_service_transactional
Revises: 0001

Twilio's client cannot pass textwire's ``Transactional`` through ``messages.create()``, so a
service can carry it as a default for the messages that name it (issue 11 §5). Existing
services keep today's behaviour: false.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_service_transactional"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("transactional", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("transactional")
