"""The accounts that opened the bot's Home (bot_home_view), published again when it changes.

Revision ID: 0006_home_view
Revises: 0005_indicator_rebuild
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_home_view"
down_revision = "0005_indicator_rebuild"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_home_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("everything", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shown_version", sa.Integer(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("notice_at", sa.DateTime(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_home_view")),
        sa.UniqueConstraint(
            "platform",
            "team_id",
            "external_id",
            name=op.f("uq_bot_home_view_platform_team_id_external_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("bot_home_view")
