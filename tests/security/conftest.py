"""Shared by the security tests: the ten roles, linked chat identities, a whole-database
snapshot, and a bounded hypothesis profile (the suite must stay fast and deterministic)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import select, text

from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code, redeem_link_code
from handlers.core.context import Context
from handlers.core.i18n import t
from storage.bot_models import BotBase
from storage.codes import AuthItemId, Gender, PhoneDisplay, UserStatus
from storage.models import (
    AddressTerritory,
    Community,
    PlatformBase,
    Territory,
    User,
)
from tests.bot.slack.conftest import bot, fake, sqlite_engine  # noqa: F401  (fixtures)
from tests.bot.telegram.conftest import api, front  # noqa: F401  (fixtures)
from tests.support.world import T0, World, add_platform_admin

#: Applied to each property test here (not loaded globally: other tests keep their own).
BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WIDGET = "https://www.passpasscovoiturage.fr/widget/communaute/{id}"
#: The seven roles of the authorization matrix, and who plays them in tests/support/world.py
#: (Arc France is the community every case targets).
ROLES = {
    "unlinked": None,  # a chat identity never linked
    "no_rights": "nobody",  # linked, no membership anywhere (added by `roles`)
    "member": "marion",  # a plain member of Arc France
    "other_moderator": "eddy",  # moderator (and creator) of LeNord covoiture only
    "moderator": "emilie",  # moderator of Arc France, not its creator
    "creator": "jeanmarc",  # Arc France's creator (community.user_id)
    "operator": "operator",  # listed in the configuration
    # Platform admins as the platform records them (user_auth_assignment, storage/roles.py):
    "platform_admin": "admin",  # ROLE_ADMIN, no territory: every community
    "territory_admin": "admin_nord",  # ROLE_ADMIN limited to the territory holding Arc France
    "other_territory_admin": "admin_somme",  # ROLE_ADMIN limited to LeNord covoiture's territory
}
#: Those who operate on Arc France beyond a referent (delete it, filter by its territory).
OPERATORS = ("operator", "platform_admin", "territory_admin")
ADMINS = ("moderator", "creator", *OPERATORS)
#: (key, auth_item_id, territory) of the platform admins added by `add_roles`.
PLATFORM_ADMINS = (
    ("admin", AuthItemId.ADMIN, None),
    ("admin_nord", AuthItemId.ADMIN, 4242),
    ("admin_somme", AuthItemId.ADMIN, 4243),
)
PLACE = ChatPlace("telegram", "1", is_group=False)
GROUP = ChatPlace("telegram", "-100", is_group=True)


def fr(key: str, **params) -> str:
    return t("fr", key, **params)


@dataclass
class Roles:
    ctx: Context
    world: World
    accounts: dict[str, ChatAccount]
    territory_id: int

    def account(self, role: str) -> ChatAccount:
        return self.accounts[role]


@pytest.fixture
def sec_ctx(ctx) -> Context:
    """The suite's context, with a widget URL configured (so that `widget` can succeed)."""
    return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, widget_url=WIDGET))


def add_roles(ctx: Context, world: World) -> Roles:
    """A user with no rights, two territories, platform admins, and one linked Telegram identity
    per role."""
    with ctx.sessions() as session, session.begin():
        nobody = User(
            given_name="Zoé", family_name="Sansdroit", email="zoe.sansdroit@exemple.fr",
            gender=int(Gender.FEMALE), status=int(UserStatus.ACTIVE), created_date=T0,
            phone_display=int(PhoneDisplay.RESTRICTED),
        )  # fmt: skip
        session.add(nobody)
        session.flush()
        world.users["nobody"] = nobody.id
        for tid, name in ((4242, "Hauts-de-France"), (4243, "Somme")):
            if session.get_bind().dialect.name == "mysql":  # the platform's NOT NULL geometry
                session.execute(text(
                    "INSERT INTO territory (id, name, geo_json_detail, admin_level) VALUES (:id, "
                    ":name, ST_GeomFromText('MULTIPOLYGON(((0 0,0 1,1 1,1 0,0 0)))'), 4)"
                ), {"id": tid, "name": name})  # fmt: skip
            else:
                session.add(Territory(id=tid, name=name, admin_level=4))
        session.flush()
        territory_id = 4242
        # Arc France's address lies in 4242, LeNord covoiture's in 4243 (address_territory).
        for key, tid in (("arc", 4242), ("lenord", 4243)):
            address_id = session.get(Community, world.communities[key]).address_id
            session.add(AddressTerritory(address_id=address_id, territory_id=tid))
        for key, item, tid in PLATFORM_ADMINS:
            world.users[key] = add_platform_admin(session, key, ((item, tid),))
    accounts = {}
    for number, (role, person) in enumerate(ROLES.items(), start=1):
        account = ChatAccount("telegram", str(5000 + number), display_name=role)
        accounts[role] = account
        if person is None:
            continue
        with ctx.sessions() as session:
            email = session.get(User, world.users[person]).email
        reply = redeem_link_code(ctx, account, issue_link_code(ctx, email).code, "fr")
        assert reply.ok, reply.text
    return Roles(ctx, world, accounts, territory_id)


@pytest.fixture
def roles(sec_ctx, world) -> Roles:
    return add_roles(sec_ctx, world)


#: Bookkeeping of the transport, not a change: the key of each update received, kept so that a
#: replica drops a redelivered copy (handlers/chat/seen_updates.py).
RECEIVED_UPDATES = "bot_seen_update"


def full_snapshot(ctx: Context, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table the bot maps (platform and bot_*), ordered by primary key,
    except the keys of the updates received."""
    skip = (*skip, RECEIVED_UPDATES)
    tables = [*PlatformBase.metadata.sorted_tables, *BotBase.metadata.sorted_tables]
    found: dict[str, list[tuple]] = {}
    with ctx.sessions() as session:
        for table in tables:
            if table.name in skip:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = session.execute(select(table).order_by(*order)).all()
            found[table.name] = [tuple(row) for row in rows]
    return found


def changed_tables(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after.get(name)}
