"""Clear the indicators' daily aggregate so that it is rebuilt with the platform's rules.

The aggregate kept carpool_item.distance as if it were metres (it is whole kilometres, NULL
before June 2023), ads filtered on proposal.active, and every solidary_user: its rows are
wrong, not stale. With no bot_indicator_refresh row, charts read the live tables (same
numbers) until the refresher's next run, which is then a full build
(storage.indicator_days.refresh); `referent-bot db indicators` builds it at once.

Revision ID: 0005_indicator_rebuild
Revises: 0004_seen_update
Create Date: 2026-12-03 10:00:00
"""

from alembic import op

revision = "0005_indicator_rebuild"
down_revision = "0004_seen_update"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM bot_indicator_day")
    op.execute("DELETE FROM bot_indicator_refresh")


def downgrade() -> None:
    """Nothing to restore: the aggregate is derived data, rebuilt by the next refresh."""
