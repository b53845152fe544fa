"""Pre-aggregated dashboard indicators: one row per scope, measure and day, and their freshness.

Revision ID: 0003_indicator_days
Revises: 0002
Create Date: 2026-11-29 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_indicator_days"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_indicator_day",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "measure", "day", name=op.f("pk_bot_indicator_day")),
    )
    op.create_table(
        "bot_indicator_refresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.Column("full_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_indicator_refresh")),
    )


def downgrade() -> None:
    op.drop_table("bot_indicator_refresh")
    op.drop_table("bot_indicator_day")
