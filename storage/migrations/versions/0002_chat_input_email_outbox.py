"""Pending chat input (a reason, domains, a file awaited after a button) and the e-mail outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 17:20:49.581155
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "bot_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_email")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_bot_email_dedup_key")),
    )
    with op.batch_alter_table("bot_email", schema=None) as batch_op:
        batch_op.create_index("ix_bot_email_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "bot_pending_input",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("prompt_ref", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_pending_input")),
        sa.UniqueConstraint(
            "platform",
            "team_id",
            "chat_id",
            "external_id",
            name=op.f("uq_bot_pending_input_platform_team_id_chat_id_external_id"),
        ),
    )


def downgrade() -> None:

    op.drop_table("bot_pending_input")
    with op.batch_alter_table("bot_email", schema=None) as batch_op:
        batch_op.drop_index("ix_bot_email_due")

    op.drop_table("bot_email")
