"""Reads and writes behind adding a member, renaming a community and deleting it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, func, inspect, or_, select, text
from sqlalchemy.orm import Session

from storage.codes import UserStatus
from storage.models import (
    Address,
    Community,
    CommunitySecurity,
    CommunityUser,
    ProposalCommunity,
    User,
)

#: Other tables of the platform's real schema that reference `community`, and what the
#: database does with their rows when the community is deleted (schema.sql). The bot does not
#: map them; where they exist (the platform's MariaDB) their rows are counted for the summary
#: and left to these foreign keys, exactly as when the platform deletes a community.
OTHER_REFERENCES = {
    "community_import": "cascade",
    "event": "set null",
    "image": "cascade",
    "log": "cascade",
    "mass": "set null",
    "notified": "cascade",
    "relay_point": "cascade",
}


@dataclass(frozen=True)
class DeletionSummary:
    """What goes with a community: memberships by status, ad links, identifier files."""

    statuses: Counter[int] = field(default_factory=Counter)
    ads: int = 0
    files: int = 0
    #: Rows of OTHER_REFERENCES tables deleted with it, by table (where those tables exist).
    others: dict[str, int] = field(default_factory=dict)


def users_matching_name(session: Session, words: str, limit: int) -> list[User]:
    """Users whose given or family name contains every word typed (any case), but neither
    anonymised ones nor pseudonymised ones, whom the platform's user searches leave out
    (User/Admin/DataProvider/UserCollectionDataProvider: `u.status != STATUS_PSEUDONYMIZED`)."""
    conditions = []
    for word in words.split():
        pattern = "%" + _escape_like(word) + "%"
        conditions.append(
            or_(
                User.given_name.ilike(pattern, escape="\\"),
                User.family_name.ilike(pattern, escape="\\"),
            )
        )
    if not conditions:
        return []
    return list(
        session.scalars(
            select(User)
            .where(
                *conditions,
                User.status.not_in([int(UserStatus.ANONYMIZED), int(UserStatus.PSEUDONYMIZED)]),
            )
            .order_by(User.family_name, User.given_name, User.id)
            .limit(limit)
        )
    )


def membership_of(session: Session, community_id: int, user_id: int) -> CommunityUser | None:
    return session.scalars(
        select(CommunityUser)
        .where(CommunityUser.community_id == community_id, CommunityUser.user_id == user_id)
        .order_by(CommunityUser.id)
    ).first()


def community_named(session: Session, name: str, other_than: int) -> Community | None:
    """Another community of the platform with this name, whatever the case."""
    return session.scalars(
        select(Community)
        .where(func.lower(Community.name) == name.lower(), Community.id != other_than)
        .order_by(Community.id)
    ).first()


def other_community_names(session: Session, other_than: int) -> list[tuple[int, str, int]]:
    """(id, name, validation type) of every other community, by id: the names a new name is
    compared with for look-alikes (in Python: no database computes a confusable skeleton)."""
    rows = session.execute(
        select(Community.id, Community.name, Community.validation_type)
        .where(Community.id != other_than)
        .order_by(Community.id)
    )
    return [(row.id, row.name or "", row.validation_type) for row in rows]


def community_row(session: Session, community_id: int) -> dict[str, object]:
    """Every column of the community row, mapped or not (the audit's record of what was)."""
    quote = session.get_bind().dialect.identifier_preparer.quote
    row = (
        session.execute(
            text(f"SELECT * FROM {quote('community')} WHERE id = :id"), {"id": community_id}
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else {}


def deletion_summary(session: Session, community_id: int) -> DeletionSummary:
    statuses = Counter(
        {
            int(status): int(count)
            for status, count in session.execute(
                select(CommunityUser.status, func.count())
                .where(CommunityUser.community_id == community_id)
                .group_by(CommunityUser.status)
            )
        }
    )
    ads = session.scalar(
        select(func.count())
        .select_from(ProposalCommunity)
        .where(ProposalCommunity.community_id == community_id)
    )
    files = session.scalar(
        select(func.count())
        .select_from(CommunitySecurity)
        .where(CommunitySecurity.community_id == community_id)
    )
    existing = set(inspect(session.connection()).get_table_names())
    others: dict[str, int] = {}
    for table, on_delete in OTHER_REFERENCES.items():
        if table in existing and on_delete == "cascade":  # "set null" rows stay
            quote = session.get_bind().dialect.identifier_preparer.quote
            count = session.scalar(
                text(f"SELECT COUNT(*) FROM {quote(table)} WHERE community_id = :id"),
                {"id": community_id},
            )
            if count:
                others[table] = int(count)
    return DeletionSummary(statuses, int(ads or 0), int(files or 0), others)


def delete_community_rows(session: Session, community_id: int) -> list[str]:
    """Delete the community as the platform does; returns its identifier files' names.

    community_security has no ON DELETE CASCADE in the platform's schema, so its rows go
    first; memberships and ad links are deleted explicitly (their foreign keys cascade on the
    platform, but not every embedded database enforces them); the rest is the database's.
    The community's address goes with it (Community/Admin/Service/CommunityManager::
    deleteCommunity: Community.address is a OneToOne with orphanRemoval).
    """
    address_id = session.scalar(select(Community.address_id).where(Community.id == community_id))
    files = list(
        session.scalars(
            select(CommunitySecurity.filename).where(CommunitySecurity.community_id == community_id)
        )
    )
    for model in (CommunitySecurity, ProposalCommunity, CommunityUser):
        session.execute(
            delete(model)
            .where(model.community_id == community_id)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(Community)
        .where(Community.id == community_id)
        .execution_options(synchronize_session=False)
    )
    if address_id is not None:
        session.execute(
            delete(Address)
            .where(Address.id == address_id)
            .execution_options(synchronize_session=False)
        )
    return files


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
