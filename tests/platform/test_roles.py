"""Parity: the moderator role (ROLE_COMMUNITY_MANAGER_PUBLIC) and platform administrators.

Rows are built as the platform writes them: auth_item rows as its migration
Version20200307180232 inserts them (tests/support/world.py), one `user_auth_assignment` row
(user_id, auth_item_id = 8, no territory) per moderator as CommunityUserSaveListener adds it,
and admins as (user_id, 1 or 2, territory_id or NULL). Territories hold a community through
`address_territory` rows of its address (`community.address_id`).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, insert, select, text

from handlers.chat.actions import Press, press
from handlers.chat.bindings import ChatPlace
from handlers.chat.entry import on_command
from handlers.chat.identity import actor_for_account
from handlers.chat.linking import ChatAccount, issue_link_code, redeem_link_code
from handlers.community import communities, members
from handlers.community.admin import add_member, delete_community
from handlers.core.context import Context
from handlers.outbox import claims, watcher
from storage.bot_models import Notification
from storage.codes import AuthItemId, MembershipStatus
from storage.models import AddressTerritory, Community, CommunityUser, Territory, User
from storage.models import UserAuthAssignment as UAA
from tests.handlers.helpers import actor
from tests.support.world import World, add_platform_admin

MODERATOR_ROLE = int(AuthItemId.COMMUNITY_MANAGER_PUBLIC)
NORD, SOMME = 4242, 4243
PLACE = ChatPlace("telegram", "1", is_group=False)


def role_rows(ctx: Context, person_id: int) -> list[tuple[int, int | None]]:
    """(auth_item_id, territory_id) of the user's assignments."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(UAA.auth_item_id, UAA.territory_id)
            .where(UAA.user_id == person_id)
            .order_by(UAA.id)
        ).all()
    return [tuple(row) for row in rows]


def add_territories(ctx: Context, world: World) -> None:
    """Nord holds Arc France's and GSK's addresses, Somme holds LeNord covoiture's."""
    with ctx.sessions() as session, session.begin():
        for tid, name in ((NORD, "Nord"), (SOMME, "Somme")):
            if session.get_bind().dialect.name == "mysql":  # the platform's NOT NULL geometry
                session.execute(
                    text(
                        "INSERT INTO territory (id, name, geo_json_detail, admin_level) VALUES "
                        "(:id, :name, ST_GeomFromText('MULTIPOLYGON(((0 0,0 1,1 1,1 0,0 0)))'), 6)"
                    ),
                    {"id": tid, "name": name},
                )
            else:
                session.add(Territory(id=tid, name=name, admin_level=6))
        session.flush()
        for key, tid in (("arc", NORD), ("gsk", NORD), ("lenord", SOMME)):
            address_id = session.get(Community, world.communities[key]).address_id
            session.add(AddressTerritory(address_id=address_id, territory_id=tid))


def add_admin(ctx: Context, world: World, key: str, *roles: tuple[AuthItemId, int | None]) -> int:
    """A platform user holding `roles` ((item, territory or None)), and no membership."""
    with ctx.sessions() as session, session.begin():
        world.users[key] = add_platform_admin(session, key, roles)
    return world.users[key]


def names(reply) -> list[str]:
    return [b.label for b in reply.all_buttons if b.action == "card"]


# --- ROLE_COMMUNITY_MANAGER_PUBLIC ----------------------------------------------------------


def test_a_member_made_moderator_gets_the_role_once(ctx, world):
    """Community/EventListener/CommunityUserSaveListener::postUpdate -> checkRole: a row with
    status 2 written, and no row of item 8 held: (user_id, 8, NULL) is added."""
    marion = world.users["marion"]
    assert role_rows(ctx, marion) == []
    reply = members.set_member_status(
        ctx, actor(ctx, world, "jeanmarc"), world.membership("arc", "marion"), 2, 1
    )
    assert reply.ok, reply.text
    assert role_rows(ctx, marion) == [(MODERATOR_ROLE, None)]


def test_a_person_added_as_moderator_gets_the_role(ctx, world):
    """CommunityUserSaveListener::postPersist: a new community_user row with status 2."""
    lila = world.users["lila"]
    reply = add_member(ctx, actor(ctx, world, "jeanmarc"), world.communities["arc"], lila, 2)
    assert reply.ok, reply.text
    assert role_rows(ctx, lila) == [(MODERATOR_ROLE, None)]


def test_a_person_added_as_member_gets_no_role(ctx, world):
    """CommunityUserSaveListener::checkRole: only status 2 (STATUS_ACCEPTED_AS_MODERATOR)."""
    lila = world.users["lila"]
    reply = add_member(ctx, actor(ctx, world, "jeanmarc"), world.communities["arc"], lila, 1)
    assert reply.ok, reply.text
    assert role_rows(ctx, lila) == []


def test_a_moderator_of_another_community_keeps_a_single_row(ctx, world):
    """CommunityUserSaveListener::checkRole -> UserManager::checkUserHaveAuthItem: any row of
    item 8, whatever its territory, means the user holds it: nothing is added."""
    eddy = world.users["eddy"]
    with ctx.sessions() as session, session.begin():
        session.execute(delete(UAA).where(UAA.user_id == eddy))
        session.execute(insert(UAA).values(user_id=eddy, auth_item_id=MODERATOR_ROLE))
    reply = add_member(ctx, actor(ctx, world, "jeanmarc"), world.communities["arc"], eddy, 2)
    assert reply.ok, reply.text
    assert role_rows(ctx, eddy) == [(MODERATOR_ROLE, None)]


def test_a_demoted_moderator_keeps_the_role_as_on_the_platform(ctx, world):
    """Nothing on the platform removes item 8 when a moderator is demoted: the listener only
    adds, and CommunityManager::checkUserIsReferrer runs only on a change of referrer."""
    emilie = world.users["emilie"]
    reply = members.set_member_status(
        ctx, actor(ctx, world, "jeanmarc"), world.membership("arc", "emilie"), 1, 2
    )
    assert reply.ok, reply.text
    assert role_rows(ctx, emilie) == [(MODERATOR_ROLE, None)]


def test_a_removed_moderator_keeps_the_role_as_on_the_platform(ctx, world):
    """Community/Admin/Service/CommunityManager::deleteCommunityUser removes the row only."""
    emilie = world.users["emilie"]
    arc_emilie = world.membership("arc", "emilie")
    jeanmarc = actor(ctx, world, "jeanmarc")
    assert members.remove_member(ctx, jeanmarc, arc_emilie, 2).ok
    assert role_rows(ctx, emilie) == [(MODERATOR_ROLE, None)]
    with ctx.sessions() as session:
        assert session.get(CommunityUser, arc_emilie) is None


def test_moderators_of_a_deleted_community_keep_the_role_as_on_the_platform(ctx, world):
    """Community/Admin/Service/CommunityManager::deleteCommunity: the community goes (its
    memberships by cascade); no role is touched."""
    reply = delete_community(
        ctx, actor(ctx, world, "jeanmarc"), world.communities["arc"], "Arc France"
    )
    assert reply.ok, reply.text
    for person in ("jeanmarc", "emilie"):
        assert role_rows(ctx, world.users[person]) == [(MODERATOR_ROLE, None)]


def test_the_role_alone_administers_nothing(ctx, world):
    """Auth/Rule/CommunityManagerSelf: item 8 manages only the communities where the user is a
    moderator (status 2)."""
    marion = world.users["marion"]
    with ctx.sessions() as session, session.begin():
        session.execute(insert(UAA).values(user_id=marion, auth_item_id=MODERATOR_ROLE))
    who = actor(ctx, world, "marion")
    assert names(communities.my_communities(ctx, who)) == []
    refused = press(ctx, who, Press("pending", str(world.communities["arc"])))
    assert refused.ok is False


# --- Platform administrators ----------------------------------------------------------------

ALL = ["Arc France", "GSK Saint Amand les Eaux", "LeNord covoiture"]


@pytest.mark.parametrize("item", [AuthItemId.SUPER_ADMIN, AuthItemId.ADMIN])
def test_an_admin_manages_every_community(ctx, world, item):
    """Community/Admin/Extension/CommunityManagerFilterExtension: ROLE_ADMIN (and its parent
    ROLE_SUPER_ADMIN) is not limited to its own communities; no territory, no limit
    (AuthManager::getTerritoriesForItem)."""
    add_admin(ctx, world, "admin", (item, None))
    who = actor(ctx, world, "admin")
    assert who.is_operator and not who.territories
    listed = communities.my_communities(ctx, who)
    assert [label.split(" (")[0] for label in names(listed)] == ALL
    pending = press(ctx, who, Press("pending", str(world.communities["gsk"])))
    assert pending.ok and "Aurélien G." in pending.text
    approved = press(ctx, who, Press("approve", str(world.membership("gsk", "aurelien"))))
    assert approved.ok, approved.text
    with ctx.sessions() as session:
        row = session.get(CommunityUser, world.membership("gsk", "aurelien"))
        assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, world.users["admin"])


def test_a_territory_admin_manages_only_the_territory_communities(ctx, world):
    """CommunityTerritoryFilterExtension: the communities whose address is in one of the
    admin's territories (address_territory), and those they moderate."""
    add_territories(ctx, world)
    add_admin(ctx, world, "nord", (AuthItemId.ADMIN, NORD))
    who = actor(ctx, world, "nord")
    assert not who.is_operator and who.territories == frozenset({NORD})
    listed = communities.my_communities(ctx, who)
    assert [label.split(" (")[0] for label in names(listed)] == [
        "Arc France",
        "GSK Saint Amand les Eaux",
    ]
    assert press(ctx, who, Press("pending", str(world.communities["arc"]))).ok
    refused = press(ctx, who, Press("pending", str(world.communities["lenord"])))
    assert refused.ok is False
    # refused as an unknown community: its name is not told to someone who cannot see it
    assert "LeNord covoiture" not in refused.text
    assert f"n° {world.communities['lenord']}" in refused.text
    # ... and may delete a community of the territory (the platform's admins may), not others.
    assert press(ctx, who, Press("delete_ask", str(world.communities["gsk"]))).ok
    assert press(ctx, who, Press("delete_ask", str(world.communities["lenord"]))).ok is False


def test_a_territory_admin_who_moderates_elsewhere_sees_both(ctx, world):
    """CommunityTerritoryFilterExtension: `tctfe.id in (:territories) OR (c.user = :user AND
    c.status = moderator)`."""
    add_territories(ctx, world)
    with ctx.sessions() as session, session.begin():
        session.execute(
            insert(UAA).values(
                user_id=world.users["eddy"], auth_item_id=int(AuthItemId.ADMIN), territory_id=NORD
            )
        )
    listed = communities.my_communities(ctx, actor(ctx, world, "eddy"))
    assert [label.split(" (")[0] for label in names(listed)] == ALL


def test_an_unscoped_super_admin_lifts_a_territory_limit(ctx, world):
    """AuthManager::getTerritories: an assignment without territory of an item without parent
    (ROLE_SUPER_ADMIN) gives 'all'; an unscoped ROLE_ADMIN (whose parent is ROLE_SUPER_ADMIN)
    does not lift a scoped assignment."""
    add_territories(ctx, world)
    add_admin(ctx, world, "both", (AuthItemId.ADMIN, NORD), (AuthItemId.SUPER_ADMIN, None))
    add_admin(ctx, world, "mixed", (AuthItemId.ADMIN, NORD), (AuthItemId.ADMIN, None))
    assert actor(ctx, world, "both").is_operator
    mixed = actor(ctx, world, "mixed")
    assert not mixed.is_operator and mixed.territories == frozenset({NORD})


def test_a_territory_admin_is_pushed_the_requests_of_the_territory_only(ctx, world):
    """The platform tells a new request to the creator and moderators
    (Communication/Service/NotificationManager); the bot also pushes it to the linked admins
    of a territory that holds the community (docs/platform.md)."""
    add_territories(ctx, world)
    add_admin(ctx, world, "nord", (AuthItemId.ADMIN, NORD))
    account = ChatAccount("telegram", "7001", display_name="nord")
    code = issue_link_code(ctx, "nord@hautsdefrance.fr").code
    assert redeem_link_code(ctx, account, code, "fr").ok
    watcher.scan_new_pending(ctx)  # the requests already there
    when = dt.datetime(2024, 1, 17, 9, 0)
    with ctx.sessions() as session, session.begin():
        for key, person in (("arc", "lila"), ("lenord", "marion")):
            session.add(CommunityUser(
                community_id=world.communities[key], user_id=world.users[person],
                status=int(MembershipStatus.PENDING), created_date=when,
            ))  # fmt: skip
    assert watcher.scan_new_pending(ctx) == 2
    mine = [row[0] for row in claims.delivery_states(ctx) if row[2] == "7001"]
    with ctx.sessions() as session:
        arc_lila = session.scalar(
            select(CommunityUser.id).where(
                CommunityUser.community_id == world.communities["arc"],
                CommunityUser.user_id == world.users["lila"],
            )
        )
        pushed = set(
            session.scalars(select(Notification.membership_id).where(Notification.id.in_(mine)))
        )
        # every pending request of Arc France and GSK (Nord), none of LeNord covoiture (Somme)
        expected = set(
            session.scalars(
                select(CommunityUser.id).where(
                    CommunityUser.status == int(MembershipStatus.PENDING),
                    CommunityUser.community_id.in_(
                        [world.communities["arc"], world.communities["gsk"]]
                    ),
                )
            )
        )
    assert arc_lila in pushed and pushed == expected


def test_a_territory_admin_charts_the_territory_only(ctx, world):
    """Stats/Admin/Service/AnalyticManager: an admin's dashboard is filtered by the territories
    of their assignment."""
    add_territories(ctx, world)
    add_admin(ctx, world, "nord", (AuthItemId.ADMIN, NORD))
    who = actor(ctx, world, "nord")
    menu = on_command(ctx, _account(ctx, "nord"), PLACE, "graphique", [], "fr")
    assert menu.ok, menu.text
    assert [(b.label, b.ref) for b in menu.all_buttons][:2] == [
        ("Nord", f"t{NORD}"),
        ("Toutes mes communautés (2)", "a"),
    ]
    assert press(ctx, who, Press("chart_menu", f"t{NORD}")).ok
    refused = press(ctx, who, Press("chart_menu", f"t{SOMME}"))
    assert refused.ok is False and "administrateurs de ce territoire" in refused.text


def test_a_revoked_assignment_removes_the_rights_on_the_next_press(ctx, world):
    """Rights come from user_auth_assignment as it is now (AuthManager reads it per request)."""
    add_territories(ctx, world)
    account = _account(ctx, "nord", (AuthItemId.ADMIN, NORD), world=world)
    ref = str(world.communities["arc"])
    who = actor_for_account(ctx, account)
    assert press(ctx, who, Press("pending", ref)).ok
    with ctx.sessions() as session, session.begin():
        session.execute(delete(UAA).where(UAA.user_id == world.users["nord"]))
    who = actor_for_account(ctx, account)
    assert who.territories == frozenset() and not who.is_operator
    assert press(ctx, who, Press("pending", ref)).ok is False
    listed = on_command(ctx, account, PLACE, "communautes", [], "fr")
    assert names(listed) == []


def _account(ctx: Context, key: str, *roles, world: World | None = None) -> ChatAccount:
    """A linked Telegram account of the admin `key` (created with `roles` when `world`)."""
    if world is not None:
        add_admin(ctx, world, key, *roles)
    account = ChatAccount("telegram", "8001", display_name=key)
    with ctx.sessions() as session:
        linked = session.scalar(select(User.id).where(User.email == f"{key}@hautsdefrance.fr"))
    assert linked is not None
    code = issue_link_code(ctx, f"{key}@hautsdefrance.fr").code
    redeem_link_code(ctx, account, code, "fr")
    return account


def test_the_roles_exist_where_the_bot_creates_the_platform_tables(tmp_path):
    """api/src/Migrations/Version20200307180232.php inserts the roles into auth_item; where
    the bot creates the platform tables (SQLite here) it inserts the ones it uses, the same."""
    from storage import schema
    from storage.engine import make_engine
    from storage.models import AuthItem

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    schema.prepare(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuthItem.id, AuthItem.type, AuthItem.name, AuthItem.description).order_by(
                AuthItem.id
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, 2, "ROLE_SUPER_ADMIN", "Super admin"),
        (2, 2, "ROLE_ADMIN", "Admin"),
        (7, 2, "ROLE_COMMUNITY_MANAGER", "Community manager"),
        (8, 2, "ROLE_COMMUNITY_MANAGER_PUBLIC", "Community manager for public communities"),
        (9, 2, "ROLE_COMMUNITY_MANAGER_PRIVATE", "Community manager for private communities"),
    ]


def test_moderators_left_without_the_role_are_found_and_given_it(ctx, world, engine):
    """A moderator written without the role (by an earlier version of the bot) gets it as
    CommunityUserSaveListener::checkRole would have given it: once, whatever they moderate.
    `referent-bot db moderator-roles [--apply]` runs these two functions."""
    from sqlalchemy.orm import Session

    from storage.roles import moderators_without_role, repair_moderator_roles

    jeanmarc, emilie = world.users["jeanmarc"], world.users["emilie"]
    with ctx.sessions() as session, session.begin():
        session.execute(delete(UAA).where(UAA.user_id.in_([jeanmarc, emilie])))
    with Session(engine) as session, session.begin():
        assert moderators_without_role(session) == sorted([jeanmarc, emilie])
        assert repair_moderator_roles(session) == sorted([jeanmarc, emilie])
    with Session(engine) as session:
        assert moderators_without_role(session) == []
    moderator_role = (int(AuthItemId.COMMUNITY_MANAGER_PUBLIC), None)
    assert role_rows(ctx, jeanmarc) == [moderator_role]
    assert role_rows(ctx, emilie) == [moderator_role]
    assert role_rows(ctx, world.users["marion"]) == []  # a member gets nothing
