"""The platform's roles the bot reads and writes (`auth_item`, `user_auth_assignment`).

Two rules of the platform (Covivo/mobicoop 43afc69e2131, under api/src/):

- A moderator holds ROLE_COMMUNITY_MANAGER_PUBLIC (auth_item 8), which the web admin requires.
  Community/EventListener/CommunityUserSaveListener::checkRole adds it, when the user holds no
  row of that item yet, after every persist or update of a community_user row whose status is
  2; the row has no territory. Nothing removes it when a moderator is demoted, removed or their
  community deleted: the only removal (Community/Admin/Service/CommunityManager::
  checkUserIsReferrer) runs when an admin gives a community another referrer, and only if the
  old referrer is the creator of no other community. The bot never changes a referrer, so it
  only ever adds the row (`grant_moderator_role`).
- Platform administrators: ROLE_SUPER_ADMIN (1) and ROLE_ADMIN (2, a child of 1) manage every
  community. Community/Admin/Extension/CommunityTerritoryFilterExtension limits the admin's
  list to the communities whose address (`community.address_id`) lies in one of the admin's
  territories (`address_territory`), plus those they moderate, when
  Auth/Service/AuthManager::getTerritoriesForItem('community_list') gives territories: the
  territory_id of each assignment of the item or one of its ancestors (1 and 2 here), unless an
  assignment without territory of an item without parent (ROLE_SUPER_ADMIN) says 'all'. So an
  admin is limited when they hold a scoped assignment of 1 or 2 and no unscoped ROLE_SUPER_ADMIN;
  an unscoped ROLE_ADMIN does not lift a scoped one (`admin_scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ColumnExpressionArgument,
    Connection,
    Label,
    String,
    bindparam,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage.codes import AuthItemId, MembershipStatus, UserStatus
from storage.models import (
    AddressTerritory,
    AuthItem,
    Community,
    CommunityUser,
    User,
    UserAuthAssignment,
)

#: auth_item rows the bot relies on, as the platform's migration Version20200307180232 inserts
#: them (id, auth_rule_id, type 2 = role, name, description).
AUTH_ITEMS: tuple[dict[str, object], ...] = (
    {"id": 1, "type": 2, "name": "ROLE_SUPER_ADMIN", "description": "Super admin"},
    {"id": 2, "type": 2, "name": "ROLE_ADMIN", "description": "Admin"},
    {"id": 7, "type": 2, "name": "ROLE_COMMUNITY_MANAGER", "description": "Community manager"},
    {
        "id": 8,
        "type": 2,
        "name": "ROLE_COMMUNITY_MANAGER_PUBLIC",
        "description": "Community manager for public communities",
    },
    {
        "id": 9,
        "type": 2,
        "name": "ROLE_COMMUNITY_MANAGER_PRIVATE",
        "description": "Community manager for private communities",
    },
)

#: The roles that make a platform administrator.
ADMIN_ITEMS = (int(AuthItemId.SUPER_ADMIN), int(AuthItemId.ADMIN))


def ensure_auth_items(connection: Connection | Session) -> int:
    """Insert the AUTH_ITEMS rows that are missing (a Connection or a Session); returns how many.

    The platform's database has them from its migrations; a database whose platform tables the
    bot created (SQLite, PostgreSQL), or a platform schema loaded without data, needs them
    before a role can be assigned (user_auth_assignment.auth_item_id is a foreign key).
    """
    present = set(connection.execute(select(AuthItem.id)).scalars())
    missing = [row for row in AUTH_ITEMS if row["id"] not in present]
    if missing:
        connection.execute(insert(AuthItem), missing)
    return len(missing)


def grant_moderator_role(session: Session, user_id: int) -> bool:
    """Give the user ROLE_COMMUNITY_MANAGER_PUBLIC unless they hold it (whatever its territory),
    as CommunityUserSaveListener::checkRole does after a community_user row is written with
    status 2. Call it in the transaction that writes that row. Returns True when a row was added.

    Two transactions making the same person a moderator at the same instant may both add it
    (the platform has the same race and no unique key); the platform reads "any row".
    """
    held = session.execute(_HOLDS_MODERATOR_ROLE, {"user_id": user_id}).scalar()
    if held:
        return False
    session.execute(
        insert(UserAuthAssignment).values(
            user_id=user_id,
            auth_item_id=int(AuthItemId.COMMUNITY_MANAGER_PUBLIC),
            territory_id=None,
        )
    )
    return True


_HOLDS_MODERATOR_ROLE = select(
    exists().where(
        UserAuthAssignment.user_id == bindparam("user_id"),
        UserAuthAssignment.auth_item_id == int(AuthItemId.COMMUNITY_MANAGER_PUBLIC),
    )
)


# --- Platform administrators ---------------------------------------------------------------


@dataclass(frozen=True)
class AdminScope:
    """What a user administers as a platform admin: every community, or the communities of
    these territories, or nothing (not an admin)."""

    everywhere: bool = False
    territories: frozenset[int] = frozenset()


NO_SCOPE = AdminScope()


def admin_columns(user_id: ColumnExpressionArgument[int]) -> tuple[Label[str | None]]:
    """One correlated column (a string, "item:territory" per admin assignment, comma-separated)
    that `admin_scope` turns into the user's admin scope: cheap (the assignment table's user_id
    index), and added to the one statement that identifies a chat account
    (handlers.chat.identity)."""
    # Two equalities rather than IN: a literal IN list is expanded again on every execution.
    is_admin = or_(*(UserAuthAssignment.auth_item_id == item for item in ADMIN_ITEMS))
    pair = (
        cast(UserAuthAssignment.auth_item_id, String)
        + ":"
        + func.coalesce(cast(UserAuthAssignment.territory_id, String), "")
    )
    roles = (
        select(func.aggregate_strings(pair, ","))
        .where(UserAuthAssignment.user_id == user_id, is_admin)
        .scalar_subquery()
    )
    return (roles.label("admin_roles"),)


def admin_scope(roles: str | None) -> AdminScope:
    """AuthManager::getTerritories for the admin roles (see the module docstring), from the
    column of `admin_columns`."""
    if not roles:
        return NO_SCOPE
    super_everywhere = False
    territories: set[int] = set()
    for pair in roles.split(","):
        item, _, territory = pair.partition(":")
        if territory.strip():
            territories.add(int(territory))
        elif int(item) == AuthItemId.SUPER_ADMIN:
            super_everywhere = True
    if super_everywhere or not territories:
        return AdminScope(everywhere=True)
    return AdminScope(territories=frozenset(territories))


_ADMIN_SCOPE = select(*admin_columns(bindparam("user_id")))


def platform_admin_scope(session: Session, user_id: int) -> AdminScope:
    """The user's admin scope, read now (one statement)."""
    return admin_scope(session.execute(_ADMIN_SCOPE, {"user_id": user_id}).scalar())


def in_territories(territories: BindParameter[Any] | Sequence[int]) -> ColumnElement[bool]:
    """SQL: the community's address lies in one of `territories` (an expanding parameter or a
    list), as CommunityTerritoryFilterExtension joins community.address -> address_territory."""
    return Community.address_id.in_(
        select(AddressTerritory.address_id).where(AddressTerritory.territory_id.in_(territories))
    )


def territory_admins(session: Session, community_id: int) -> set[int]:
    """Active users who administer the community only through a territory that holds it (not
    admins of everything: like the configured operators, they are not pushed every request)."""
    candidates = set(
        session.scalars(
            select(UserAuthAssignment.user_id)
            .join(User, User.id == UserAuthAssignment.user_id)
            .join(
                AddressTerritory,
                AddressTerritory.territory_id == UserAuthAssignment.territory_id,
            )
            .join(Community, Community.address_id == AddressTerritory.address_id)
            .where(
                Community.id == community_id,
                UserAuthAssignment.auth_item_id.in_(ADMIN_ITEMS),
                User.status == int(UserStatus.ACTIVE),
            )
            .distinct()
        )
    )
    return {uid for uid in candidates if not platform_admin_scope(session, uid).everywhere}


__all__ = [
    "ADMIN_ITEMS",
    "AUTH_ITEMS",
    "AdminScope",
    "NO_SCOPE",
    "admin_columns",
    "admin_scope",
    "ensure_auth_items",
    "grant_moderator_role",
    "in_territories",
    "platform_admin_scope",
    "territory_admins",
]


def moderators_without_role(session: Session) -> list[int]:
    """Moderators (community_user status 2) who lack ROLE_COMMUNITY_MANAGER_PUBLIC: written
    by a version of the bot that did not give it, or by hand. The platform's listener would
    have given it to each."""
    return list(
        session.scalars(
            select(CommunityUser.user_id)
            .where(
                CommunityUser.status == int(MembershipStatus.MODERATOR),
                ~exists().where(
                    UserAuthAssignment.user_id == CommunityUser.user_id,
                    UserAuthAssignment.auth_item_id == int(AuthItemId.COMMUNITY_MANAGER_PUBLIC),
                ),
            )
            .distinct()
            .order_by(CommunityUser.user_id)
        )
    )


def repair_moderator_roles(session: Session) -> list[int]:
    """Give each moderator without it the role, as CommunityUserSaveListener::checkRole would
    have; returns who got it. Call in a transaction."""
    fixed = moderators_without_role(session)
    for user_id in fixed:
        grant_moderator_role(session, user_id)
    return fixed
