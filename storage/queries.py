"""Reads the use cases need, each one query (no query in a loop)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Exists, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from storage.codes import ACCEPTED_STATUSES, MembershipStatus, UserStatus
from storage.models import Address, Community, CommunitySecurity, CommunityUser, User
from storage.roles import in_territories

#: The platform leaves pseudonymised users (deleted accounts) out of every member list and count
#: (Community/Repository/CommunityUserRepository: findAllCommunityMembers, findForCommunity...:
#: `u.status != STATUS_PSEUDONYMIZED`); their community_user rows stay.
LISTED = User.status != int(UserStatus.PSEUDONYMIZED)


@dataclass(frozen=True)
class CommunityCounts:
    community: Community
    members: int
    pending: int


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).first()


def user_ids_by_emails(session: Session, emails: Sequence[str]) -> set[int]:
    if not emails:
        return set()
    lowered = [e.strip().lower() for e in emails]
    return set(session.scalars(select(User.id).where(func.lower(User.email).in_(lowered))))


def _moderates() -> Exists:
    """EXISTS: the user (parameter user_id) moderates the community (parameter community_id)."""
    return (
        select(CommunityUser.id)
        .where(
            CommunityUser.community_id == bindparam("community_id"),
            CommunityUser.user_id == bindparam("user_id"),
            CommunityUser.status == MembershipStatus.MODERATOR,
        )
        .exists()
    )


def _is_administrator_statement() -> Select[bool]:
    """Built once, with parameters: building it cost as much CPU as running it."""
    community: BindParameter[int] = bindparam("community_id")
    user: BindParameter[int] = bindparam("user_id")
    creator = select(Community.id).where(Community.id == community, Community.user_id == user)
    return select(creator.exists() | _moderates())


_IS_ADMINISTRATOR = _is_administrator_statement()

#: The community and whether the user administers it (creator or moderator), in one statement,
#: built once: every use case on a community reads both first.
_COMMUNITY_AND_RIGHT = select(
    Community, or_(Community.user_id == bindparam("user_id"), _moderates()).label("administers")
).where(Community.id == bindparam("community_id"))
#: The same for a territory admin: or the community's address lies in one of their territories.
_COMMUNITY_AND_RIGHT_IN_TERRITORIES = select(
    Community,
    or_(
        Community.user_id == bindparam("user_id"),
        _moderates(),
        in_territories(bindparam("territories", expanding=True)),
    ).label("administers"),
).where(Community.id == bindparam("community_id"))


def community_and_right(
    session: Session, community_id: int, user_id: int, territories: frozenset[int] = frozenset()
) -> tuple[Community | None, bool]:
    """The community (None if there is none) and whether the user administers it now: its
    creator, a moderator, or an admin of a territory that holds it (`territories`)."""
    params: dict[str, object] = {"community_id": community_id, "user_id": user_id}
    statement = _COMMUNITY_AND_RIGHT
    if territories:
        statement = _COMMUNITY_AND_RIGHT_IN_TERRITORIES
        params["territories"] = sorted(territories)
    row = session.execute(statement, params).first()
    if row is None:
        return None, False
    return row[0], bool(row[1])


def is_administrator(session: Session, user_id: int, community_id: int) -> bool:
    """The creator, or a moderator (status 2) of the community: read now, never cached."""
    return session.execute(
        _IS_ADMINISTRATOR, {"community_id": community_id, "user_id": user_id}
    ).scalar_one()


def _administered_statements() -> tuple[
    Select[int], Select[int], Select[Community, int, int], Select[Community, int, int]
]:
    """The two queries of administered_communities, built once (building them took as long as
    running them): the communities a user administers, then those with their counts."""
    user: BindParameter[int] = bindparam("user_id")
    created_or_moderated = (
        Community.user_id == user,
        Community.id.in_(
            select(CommunityUser.community_id).where(
                CommunityUser.user_id == user,
                CommunityUser.status == MembershipStatus.MODERATOR,
            )
        ),
    )
    mine = select(Community.id).where(or_(*created_or_moderated))
    # A territory admin's: also those whose address lies in one of their territories.
    mine_or_territories = select(Community.id).where(
        or_(*created_or_moderated, in_territories(bindparam("territories", expanding=True)))
    )

    def with_counts(ids: bool) -> Select[Community, int, int]:
        counts = (
            select(
                CommunityUser.community_id.label("community_id"),
                func.sum(case((CommunityUser.status.in_(ACCEPTED_STATUSES), 1), else_=0)).label(
                    "members"
                ),
                func.sum(
                    case((CommunityUser.status == MembershipStatus.PENDING, 1), else_=0)
                ).label("pending"),
            )
            .join(User, User.id == CommunityUser.user_id)
            .where(LISTED)
        )
        query = select(Community)
        if ids:
            counts = counts.where(
                CommunityUser.community_id.in_(bindparam("counted", expanding=True))
            )
            query = query.where(Community.id.in_(bindparam("shown", expanding=True)))
        counted = counts.group_by(CommunityUser.community_id).subquery()
        return (
            query.add_columns(
                func.coalesce(counted.c.members, 0), func.coalesce(counted.c.pending, 0)
            )
            .outerjoin(counted, counted.c.community_id == Community.id)
            .order_by(Community.name, Community.id)
        )

    return mine, mine_or_territories, with_counts(True), with_counts(False)


_MINE, _MINE_OR_TERRITORIES, _MINE_WITH_COUNTS, _ALL_WITH_COUNTS = _administered_statements()


def _mine(territories: frozenset[int]) -> tuple[Select[int], dict[str, Any]]:
    """The statement of the ids a user administers, and its parameters beyond user_id."""
    if territories:
        return _MINE_OR_TERRITORIES, {"territories": sorted(territories)}
    return _MINE, {}


def administered_communities(
    session: Session,
    user_id: int,
    everything: bool = False,
    territories: frozenset[int] = frozenset(),
) -> list[CommunityCounts]:
    """Communities the user administers (all of them for an operator; those of their
    territories too for a territory admin), with member and pending counts, by name."""
    if everything:
        rows = session.execute(_ALL_WITH_COUNTS)
    else:
        # The referent's communities first: counting the members of every community of the
        # platform (740,000 memberships) took 0.1-0.3 s on each /attente without an id.
        statement, params = _mine(territories)
        mine = list(session.scalars(statement, {"user_id": user_id, **params}))
        if not mine:
            return []
        rows = session.execute(_MINE_WITH_COUNTS, {"counted": mine, "shown": mine})
    return [
        CommunityCounts(community, int(members), int(pending))
        for community, members, pending in rows
    ]


def administered_names(
    session: Session,
    user_id: int,
    everything: bool = False,
    territories: frozenset[int] = frozenset(),
) -> list[tuple[int, str]]:
    """(id, name) of the communities the user administers, by name: enough to pick one,
    without counting their members (a command with no community id runs this first)."""
    query = select(Community.id, Community.name).order_by(Community.name, Community.id)
    params: dict[str, object] = {"user_id": user_id}
    if not everything:
        mine, extra = _mine(territories)
        query = query.where(Community.id.in_(mine))
        params.update(extra)
    return [(id_, name) for id_, name in session.execute(query, params)]


def in_any_territory(session: Session, community_id: int, territories: frozenset[int]) -> bool:
    """Whether the community's address lies in one of `territories`."""
    if not territories:
        return False
    found = session.scalar(
        select(Community.id).where(
            Community.id == community_id, in_territories(sorted(territories))
        )
    )
    return found is not None


def community_counts(session: Session, community_id: int) -> tuple[int, int]:
    """(members, pending) of one community."""
    row = session.execute(
        select(
            func.sum(case((CommunityUser.status.in_(ACCEPTED_STATUSES), 1), else_=0)),
            func.sum(case((CommunityUser.status == MembershipStatus.PENDING, 1), else_=0)),
        )
        .join(User, User.id == CommunityUser.user_id)
        .where(CommunityUser.community_id == community_id, LISTED)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def address_of(session: Session, address_id: int | None) -> Address | None:
    return session.get(Address, address_id) if address_id else None


def security_files(session: Session, community_id: int) -> list[CommunitySecurity]:
    return list(
        session.scalars(
            select(CommunitySecurity)
            .where(CommunitySecurity.community_id == community_id)
            .order_by(CommunitySecurity.id)
        )
    )


def memberships_page(
    session: Session,
    community_id: int,
    statuses: Sequence[int] | None = None,
    search: str | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[tuple[CommunityUser, User]], int]:
    """One page of a community's memberships with their users, and the total matching."""
    conditions = [CommunityUser.community_id == community_id, LISTED]
    if statuses is not None:
        conditions.append(CommunityUser.status.in_([int(s) for s in statuses]))
    if search:
        pattern = "%" + _escape_like(search.strip()) + "%"
        full_name = func.coalesce(User.given_name, "") + " " + func.coalesce(User.family_name, "")
        conditions.append(
            or_(
                User.given_name.ilike(pattern, escape="\\"),
                User.family_name.ilike(pattern, escape="\\"),
                full_name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
            )
        )
    where = and_(*conditions)
    total = session.execute(
        select(func.count())
        .select_from(CommunityUser)
        .join(User, User.id == CommunityUser.user_id)
        .where(where)
    ).scalar_one()
    rows = session.execute(
        select(CommunityUser, User)
        .join(User, User.id == CommunityUser.user_id)
        .where(where)
        .order_by(CommunityUser.created_date, CommunityUser.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [(m, u) for m, u in rows], int(total)


#: Built once (every /attente runs it): building a statement costs about as much as running it.
_PENDING_WITH_USERS = (
    select(CommunityUser, User)
    .join(User, User.id == CommunityUser.user_id)
    .where(
        CommunityUser.community_id == bindparam("community_id"),
        CommunityUser.status == MembershipStatus.PENDING,
        LISTED,
    )
    .order_by(CommunityUser.created_date, CommunityUser.id)
)


@dataclass(frozen=True)
class PendingPerson:
    """A pending request as a listing shows it: the membership and its user's name."""

    membership_id: int
    requested_at: dt.datetime
    given_name: str | None
    family_name: str | None
    email: str


#: Built once, and reading only what a listing shows: one page, with the total (a window
#: count, computed before the LIMIT): every /attente runs it, and loading every request of a
#: community as two ORM objects cost four times the query for the ten shown.
_PENDING_PAGE = (
    select(
        CommunityUser.id, CommunityUser.created_date, User.given_name, User.family_name,
        User.email, func.count().over(),
    )
    .join(User, User.id == CommunityUser.user_id)
    .where(
        CommunityUser.community_id == bindparam("community_id"),
        CommunityUser.status == MembershipStatus.PENDING,
        LISTED,
    )
    .order_by(CommunityUser.created_date, CommunityUser.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)  # fmt: skip


def pending_page(
    session: Session, community_id: int, offset: int, limit: int
) -> tuple[list[PendingPerson], int]:
    """One page of a community's pending requests, oldest first, and how many there are."""
    rows = session.execute(
        _PENDING_PAGE, {"community_id": community_id, "limit": limit, "offset": offset}
    ).all()
    if not rows and offset > 0:  # past the end: the total alone
        return [], community_counts(session, community_id)[1]
    total = int(rows[0][5]) if rows else 0
    return [PendingPerson(*row[:5]) for row in rows], total


@dataclass(frozen=True)
class PendingIn:
    """A pending request with its community: the oldest ones across several communities."""

    person: PendingPerson
    community: Community


def oldest_pending(
    session: Session, community_ids: Sequence[int] | None, limit: int
) -> list[PendingIn]:
    """The `limit` oldest pending requests of these communities (of every one: None)."""
    query = (
        select(
            CommunityUser.id, CommunityUser.created_date, User.given_name, User.family_name,
            User.email, Community,
        )
        .join(User, User.id == CommunityUser.user_id)
        .join(Community, Community.id == CommunityUser.community_id)
        .where(CommunityUser.status == MembershipStatus.PENDING, LISTED)
        .order_by(CommunityUser.created_date, CommunityUser.id)
        .limit(limit)
    )  # fmt: skip
    if community_ids is not None:
        if not community_ids:
            return []
        query = query.where(CommunityUser.community_id.in_(sorted(community_ids)))
    return [PendingIn(PendingPerson(*row[:5]), row[5]) for row in session.execute(query)]


def pending_with_users(session: Session, community_id: int) -> list[tuple[CommunityUser, User]]:
    rows = session.execute(_PENDING_WITH_USERS, {"community_id": community_id}).all()
    return [(m, u) for m, u in rows]


def moderator_count(session: Session, community_id: int) -> int:
    """The moderators as committed now, read with a lock: on MariaDB (REPEATABLE READ) a plain
    count would read the transaction's snapshot, older than the community lock taken before."""
    return len(
        session.scalars(
            select(CommunityUser.id)
            .where(
                CommunityUser.community_id == community_id,
                CommunityUser.status == MembershipStatus.MODERATOR,
            )
            .with_for_update()
        ).all()
    )


def lock_community(session: Session, community_id: int) -> Community | None:
    """The community row, locked for this transaction (a no-op on SQLite, which serialises
    writers with BEGIN IMMEDIATE)."""
    return session.scalars(
        select(Community)
        .where(Community.id == community_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lock_membership(session: Session, membership_id: int) -> CommunityUser | None:
    """The membership as committed now, locked: a decision always reads the latest state."""
    return session.scalars(
        select(CommunityUser)
        .where(CommunityUser.id == membership_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def users_by_ids(session: Session, ids: Sequence[int | None]) -> dict[int, User]:
    known = [i for i in set(ids) if i is not None]
    if not known:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(known)))}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def administrators_overview(session: Session, limit: int) -> list[tuple[User, list[str], int]]:
    """Creators and moderators with their communities and pending counts, busiest first."""
    communities = {c.community.id: c for c in administered_communities(session, 0, everything=True)}
    roles = session.execute(
        select(CommunityUser.user_id, CommunityUser.community_id).where(
            CommunityUser.status == MembershipStatus.MODERATOR
        )
    ).all()
    by_user: dict[int, set[int]] = {}
    for counts in communities.values():
        if counts.community.user_id:
            by_user.setdefault(counts.community.user_id, set()).add(counts.community.id)
    for user_id, community_id in roles:
        by_user.setdefault(user_id, set()).add(community_id)
    ranked = sorted(
        by_user.items(),
        key=lambda item: (-sum(communities[c].pending for c in item[1]), item[0]),
    )[:limit]
    users = users_by_ids(session, [user_id for user_id, _ in ranked])
    result = []
    for user_id, ids in ranked:
        names = sorted(communities[c].community.name for c in ids)
        pending = sum(communities[c].pending for c in ids)
        result.append((users[user_id], names, pending))
    return result
