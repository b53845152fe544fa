"""The bot's own tables: identities, link codes, audit, outbox, bindings, preferences.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 16:41:17.779967
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "bot_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("front", sa.String(length=16), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_audit")),
    )
    with op.batch_alter_table("bot_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bot_audit_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "bot_chat_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("bound_by_user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_chat_binding")),
        sa.UniqueConstraint(
            "platform",
            "team_id",
            "chat_id",
            "community_id",
            name=op.f("uq_bot_chat_binding_platform_team_id_chat_id_community_id"),
        ),
    )
    with op.batch_alter_table("bot_chat_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bot_chat_binding_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "bot_chat_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_chat_identity")),
        sa.UniqueConstraint(
            "platform",
            "team_id",
            "external_id",
            name=op.f("uq_bot_chat_identity_platform_team_id_external_id"),
        ),
    )
    with op.batch_alter_table("bot_chat_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_chat_identity_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bot_link_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_link_attempt")),
    )
    with op.batch_alter_table("bot_link_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bot_link_attempt_attempted_at"), ["attempted_at"], unique=False
        )
        batch_op.create_index(
            "ix_bot_link_attempt_who", ["platform", "team_id", "external_id"], unique=False
        )

    op.create_table(
        "bot_link_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by_identity_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_link_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_bot_link_code_code_hash")),
    )
    with op.batch_alter_table("bot_link_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_link_code_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bot_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_notification")),
        sa.UniqueConstraint("kind", "dedup_key", name=op.f("uq_bot_notification_kind_dedup_key")),
    )
    with op.batch_alter_table("bot_notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bot_notification_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bot_notification_membership_id"), ["membership_id"], unique=False
        )

    op.create_table(
        "bot_preference",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("push_enabled", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_bot_preference")),
    )
    op.create_table(
        "bot_watcher_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bot_watcher_state")),
    )
    op.create_table(
        "bot_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("binding_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("message_ref", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["bot_notification.id"],
            name=op.f("fk_bot_delivery_notification_id_bot_notification"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_delivery")),
    )
    with op.batch_alter_table("bot_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_bot_delivery_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bot_delivery_notification_id"), ["notification_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("bot_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_delivery_notification_id"))
        batch_op.drop_index("ix_bot_delivery_due")

    op.drop_table("bot_delivery")
    op.drop_table("bot_watcher_state")
    op.drop_table("bot_preference")
    with op.batch_alter_table("bot_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_notification_membership_id"))
        batch_op.drop_index(batch_op.f("ix_bot_notification_community_id"))

    op.drop_table("bot_notification")
    with op.batch_alter_table("bot_link_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_link_code_user_id"))

    op.drop_table("bot_link_code")
    with op.batch_alter_table("bot_link_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_bot_link_attempt_who")
        batch_op.drop_index(batch_op.f("ix_bot_link_attempt_attempted_at"))

    op.drop_table("bot_link_attempt")
    with op.batch_alter_table("bot_chat_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_chat_identity_user_id"))

    op.drop_table("bot_chat_identity")
    with op.batch_alter_table("bot_chat_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_chat_binding_community_id"))

    op.drop_table("bot_chat_binding")
    with op.batch_alter_table("bot_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_audit_community_id"))

    op.drop_table("bot_audit")
