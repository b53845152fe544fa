"""The platform's tables, as the bot sees them.

Table names, column names and codes are Mobicoop's exactly, so the same models run on the
platform's real MariaDB database. Only the columns the bot reads or writes are mapped, plus the
NOT NULL columns without a default that an INSERT needs (demo data, adding a member). On SQLite
and on an empty PostgreSQL database `storage.schema` creates these tables from this metadata.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class PlatformBase(DeclarativeBase):
    """Base of the platform's tables; its metadata is never touched by the bot's migrations."""

    metadata = MetaData()


class Language(PlatformBase):
    __tablename__ = "language"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(255))


class SolidaryUser(PlatformBase):
    __tablename__ = "solidary_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary: Mapped[bool | None] = mapped_column(Boolean)
    volunteer: Mapped[bool | None] = mapped_column(Boolean)
    created_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class User(PlatformBase):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    gender: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[int] = mapped_column(SmallInteger)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    validated_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    phone_display: Mapped[int] = mapped_column(SmallInteger)
    solidary_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("solidary_user.id", ondelete="CASCADE"), unique=True
    )
    last_activity_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    language_id: Mapped[int | None] = mapped_column(ForeignKey("language.id", ondelete="SET NULL"))


class Address(PlatformBase):
    __tablename__ = "address"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    street_address: Mapped[str | None] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(15))
    address_locality: Mapped[str | None] = mapped_column(String(100))
    address_country: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Numeric(10, 6, asdecimal=False))
    longitude: Mapped[float | None] = mapped_column(Numeric(10, 6, asdecimal=False))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    home: Mapped[bool | None] = mapped_column(Boolean)
    created_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Territory(PlatformBase):
    """`geo_json_detail` (a MULTIPOLYGON) is not mapped: the bot only uses address_territory."""

    __tablename__ = "territory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    admin_level: Mapped[int | None] = mapped_column(Integer)
    created_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AddressTerritory(PlatformBase):
    __tablename__ = "address_territory"

    address_id: Mapped[int] = mapped_column(
        ForeignKey("address.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Community(PlatformBase):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    members_hidden: Mapped[bool | None] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(String(255))
    full_description: Mapped[str] = mapped_column(Text)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)
    proposals_hidden: Mapped[bool | None] = mapped_column(Boolean)
    updated_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("address.id", ondelete="CASCADE"), unique=True
    )
    validation_type: Mapped[int] = mapped_column(SmallInteger)
    domain: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[int | None] = mapped_column(SmallInteger)


class CommunityUser(PlatformBase):
    """A membership: a user's request to join a community and its outcome."""

    __tablename__ = "community_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)
    accepted_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    refused_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CommunitySecurity(PlatformBase):
    """One uploaded file of identifier pairs of a secured community."""

    __tablename__ = "community_security"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    original_name: Mapped[str] = mapped_column(String(255))


class Criteria(PlatformBase):
    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    frequency: Mapped[int] = mapped_column(SmallInteger)
    seats_driver: Mapped[int] = mapped_column(Integer)
    seats_passenger: Mapped[int] = mapped_column(Integer)
    from_date: Mapped[dt.date] = mapped_column(Date)
    to_date: Mapped[dt.date | None] = mapped_column(Date)
    driver: Mapped[bool | None] = mapped_column(Boolean)
    passenger: Mapped[bool | None] = mapped_column(Boolean)
    created_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Proposal(PlatformBase):
    """An ad. private=1 rows are not published ads."""

    __tablename__ = "proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    type: Mapped[int] = mapped_column(SmallInteger)
    criteria_id: Mapped[int | None] = mapped_column(ForeignKey("criteria.id"), unique=True)
    private: Mapped[bool | None] = mapped_column(Boolean)
    paused: Mapped[bool | None] = mapped_column(Boolean)
    active: Mapped[bool | None] = mapped_column(Boolean)
    updated_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Waypoint(PlatformBase):
    """A point of an ad's journey: position 0 is its origin, destination=1 its destination."""

    __tablename__ = "waypoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    address_id: Mapped[int] = mapped_column(
        ForeignKey("address.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    destination: Mapped[bool] = mapped_column(Boolean)


class ProposalCommunity(PlatformBase):
    __tablename__ = "proposal_community"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Matching(PlatformBase):
    """A driver's offer matched with a passenger's request; common_distance in metres."""

    __tablename__ = "matching"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_offer_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    proposal_request_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    criteria_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), unique=True)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)
    common_distance: Mapped[int | None] = mapped_column(Integer)


class Ask(PlatformBase):
    """A carpool asked on a matching; carpool items point to it."""

    __tablename__ = "ask"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    matching_id: Mapped[int] = mapped_column(
        ForeignKey("matching.id", ondelete="CASCADE"), index=True
    )
    criteria_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), unique=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    type: Mapped[int] = mapped_column(SmallInteger)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)


class CarpoolItem(PlatformBase):
    """One day of a carpool; item_status 1 means it was carried out.

    distance is in whole kilometres (Payment/Service/PaymentManager.php), NULL before June 2023.
    """

    __tablename__ = "carpool_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ask_id: Mapped[int | None] = mapped_column(
        ForeignKey("ask.id", ondelete="SET NULL"), index=True
    )
    debtor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    creditor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[int] = mapped_column(SmallInteger)
    item_status: Mapped[int] = mapped_column(SmallInteger)
    item_date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))
    debtor_status: Mapped[int] = mapped_column(SmallInteger)
    creditor_status: Mapped[int] = mapped_column(SmallInteger)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)
    distance: Mapped[int | None] = mapped_column(Integer)


class AuthItem(PlatformBase):
    """A role or permission of the platform (ids in storage.codes.AuthItemId)."""

    __tablename__ = "auth_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(255))


class UserAuthAssignment(PlatformBase):
    """A role given to a user, optionally limited to a territory."""

    __tablename__ = "user_auth_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    auth_item_id: Mapped[int] = mapped_column(
        ForeignKey("auth_item.id", ondelete="CASCADE"), index=True
    )
    territory_id: Mapped[int | None] = mapped_column(
        ForeignKey("territory.id", ondelete="CASCADE"), index=True
    )


# Indexes for the dashboard's indicators (storage.indicators), covering each GROUP BY query so
# the database reads an index only. Created only where the bot creates the platform tables itself
# (SQLite, an empty PostgreSQL); the README gives the same statements for a platform database.
Index(
    "ix_carpool_item_indicator",
    CarpoolItem.item_status,
    CarpoolItem.item_date,
    CarpoolItem.distance,
    # items before June 2023 (distance NULL) reach their matching's common_distance through it
    CarpoolItem.ask_id,
    # the community and territory filters test the driver and the passenger
    CarpoolItem.debtor_user_id,
    CarpoolItem.creditor_user_id,
)
Index(
    "ix_proposal_indicator",
    Proposal.created_date,
    Proposal.private,
    Proposal.type,
    Proposal.paused,
)

#: The platform tables the bot uses, in creation order.
PLATFORM_TABLES = tuple(t.name for t in PlatformBase.metadata.sorted_tables)


# --- Notifications (Communication/Entity): the `notified` row the platform writes per e-mail ---


class Action(PlatformBase):
    """Something the platform may notify, by name (e.g. community_membership_accepted)."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(SmallInteger)


class Medium(PlatformBase):
    """How a notification travels (Communication/Entity/Medium.php: 2 is e-mail)."""

    __tablename__ = "medium"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class Notification(PlatformBase):
    """One action on one medium, active or not, that users may or may not edit."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    medium_id: Mapped[int] = mapped_column(ForeignKey("medium.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool | None] = mapped_column(Boolean)
    user_editable: Mapped[bool | None] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(SmallInteger)


class UserNotification(PlatformBase):
    """A user's own choice of a notification, which replaces the defaults for its action."""

    __tablename__ = "user_notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool | None] = mapped_column(Boolean)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)


class Notified(PlatformBase):
    """A notification sent to a user (NotificationManager::createNotified), e.g. per e-mail."""

    __tablename__ = "notified"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    sent_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )


#: Again, with the tables mapped since the first count above.
PLATFORM_TABLES = tuple(t.name for t in PlatformBase.metadata.sorted_tables)
