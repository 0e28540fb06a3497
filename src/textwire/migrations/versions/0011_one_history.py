"""one history: merge every domain branch into a single head

Revision ID: 0011_one_history
Revises: 0003_consent, 0005_providers, 0006_sandbox_refs, 0008_api_key_updates,
    0008_link_clicks_narrow, 0009_service_transactional, 0010_sender_owner_unique

Until here each domain had its own branch off 0001 and ``textwire db upgrade`` went to
every head. A database made before this revision sits at those seven heads (or at fewer, if
it was made before some of them existed); upgrading applies whatever it lacks and then this
revision, which changes no table. From here on the history is linear: a new migration revises
the one head (issue 12 §5), and ``textwire.migrate`` refuses to run if there are two.
"""

from __future__ import annotations

revision = "0011_one_history"
down_revision = (
    "0003_consent",
    "0005_providers",
    "0006_sandbox_refs",
    "0008_api_key_updates",
    "0008_link_clicks_narrow",
    "0009_service_transactional",
    "0010_sender_owner_unique",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
