"""The bot's own tables, all prefixed `bot_`, created and upgraded only by its Alembic migrations.

They live beside the platform's tables in the same database, so that a decision and its audit
entry are written in one transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class BotBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ChatIdentity(BotBase):
    """A chat account (Telegram user; Slack team + user) linked to a platform user."""

    __tablename__ = "bot_chat_identity"
    __table_args__ = (UniqueConstraint("platform", "team_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LinkCode(BotBase):
    """A one-time code tying a chat identity to a platform user; only its hash is stored."""

    __tablename__ = "bot_link_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    used_by_identity_id: Mapped[int | None] = mapped_column(Integer)


class LinkAttempt(BotBase):
    """A failed link attempt, kept to slow down guessing."""

    __tablename__ = "bot_link_attempt"
    __table_args__ = (Index("ix_bot_link_attempt_who", "platform", "team_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class AuditEntry(BotBase):
    """What a referent did, written in the same transaction as the change itself."""

    __tablename__ = "bot_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    front: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[int | None] = mapped_column(Integer, index=True)
    target_user_id: Mapped[int | None] = mapped_column(Integer)
    membership_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    reason: Mapped[str | None] = mapped_column(Text)


class Notification(BotBase):
    """The outbox: one row per event to push (a pending request, a settings change...)."""

    __tablename__ = "bot_notification"
    __table_args__ = (UniqueConstraint("kind", "dedup_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int | None] = mapped_column(Integer, index=True)
    membership_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str | None] = mapped_column(Text)  # JSON
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(Text)  # JSON


class Delivery(BotBase):
    """One recipient of a notification, with its state and the reference of the message sent."""

    __tablename__ = "bot_delivery"
    __table_args__ = (Index("ix_bot_delivery_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("bot_notification.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(64), default="")
    chat_id: Mapped[str] = mapped_column(String(64))
    identity_id: Mapped[int | None] = mapped_column(Integer)
    binding_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message_ref: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @classmethod
    def pending(
        cls,
        notification_id: int,
        platform: str,
        team_id: str,
        chat_id: str,
        created: dt.datetime,
        due: dt.datetime | None = None,
        identity_id: int | None = None,
        binding_id: int | None = None,
    ) -> Delivery:
        """A delivery not yet attempted, due at `due` (by default at once; later when held
        back by the recipient's quiet hours)."""
        return cls(
            notification_id=notification_id,
            platform=platform,
            team_id=team_id,
            chat_id=chat_id,
            identity_id=identity_id,
            binding_id=binding_id,
            state="pending",
            attempts=0,
            next_attempt_at=due or created,
            created_at=created,
        )


class ChatBinding(BotBase):
    """A group chat or channel bound to a community, to receive its notifications."""

    __tablename__ = "bot_chat_binding"
    __table_args__ = (UniqueConstraint("platform", "team_id", "chat_id", "community_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(64), default="")
    chat_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int] = mapped_column(Integer, index=True)
    bound_by_user_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Preference(BotBase):
    """Per platform user: language, push on or off, quiet hours."""

    __tablename__ = "bot_preference"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[dt.time | None] = mapped_column(Time)
    quiet_end: Mapped[dt.time | None] = mapped_column(Time)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WatcherState(BotBase):
    """Named progress markers (e.g. the pending-member watcher's high-water mark)."""

    __tablename__ = "bot_watcher_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PendingInput(BotBase):
    """A chat waiting for one person's text or file after a button asked for it (a refusal
    reason, domains, a search, an identifiers file). Kept in the database so that any replica
    can receive the answer."""

    __tablename__ = "bot_pending_input"
    __table_args__ = (UniqueConstraint("platform", "team_id", "chat_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(64), default="")
    chat_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64), default="")
    #: The message that asked (to edit it, or to match a reply to it).
    prompt_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class EmailMessage(BotBase):
    """The e-mail outbox: what the bot must tell a member (request pending, accepted, refused)
    because its own decisions bypass the platform's e-mails. One row per message, sent once."""

    __tablename__ = "bot_email"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_bot_email_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(Integer)
    membership_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    to_address: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="fr")
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class IndicatorDay(BotBase):
    """One day of one dashboard measure for one scope ('a', 'c<id>', 't<id>'), pre-aggregated
    by storage.indicator_days so that a chart reads a few hundred rows, not millions."""

    __tablename__ = "bot_indicator_day"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class IndicatorRefresh(BotBase):
    """The single row (id 1) saying how fresh bot_indicator_day is: its data as of
    `refreshed_at`; `full_at` is the last complete rebuild (every scope's history)."""

    __tablename__ = "bot_indicator_refresh"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    full_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SeenUpdate(BotBase):
    """An incoming update a replica has taken (a Telegram update, a Slack event or interaction):
    the primary key lets one insert win, so a redelivered copy is dropped, whichever replica
    receives it. Kept a day (handlers.chat.seen_updates)."""

    __tablename__ = "bot_seen_update"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class HomeView(BotBase):
    """A chat account that opened the bot's Home (Slack's App Home tab). Only these get their
    Home published again when what it shows changes: `version` counts the changes (a request
    arrived or was decided in one of their communities), `shown_version` the last one a
    published Home includes (claimed before rendering, so one replica publishes each change)."""

    __tablename__ = "bot_home_view"
    __table_args__ = (UniqueConstraint("platform", "team_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(64))
    #: Saw every community when last rendered (an operator): every change concerns them.
    everything: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    shown_version: Mapped[int] = mapped_column(Integer, default=0)
    #: The outcome of the last press made in the Home, shown on top of it for a while.
    notice: Mapped[str | None] = mapped_column(Text)
    notice_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime)


BOT_TABLES = tuple(t.name for t in BotBase.metadata.sorted_tables)
