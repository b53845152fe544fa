"""Updates already taken by a replica (bot_seen_update), so a redelivered one is dropped.

Revision ID: 0004_seen_update
Revises: 0003_indicator_days
Create Date: 2026-11-29 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_seen_update"
down_revision = "0003_indicator_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_seen_update",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("update_key", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "update_key", name=op.f("pk_bot_seen_update")),
    )
    with op.batch_alter_table("bot_seen_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_seen_update_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_seen_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_seen_update_seen_at"))
    op.drop_table("bot_seen_update")
