"""Least privilege on the platform's MariaDB: deploy/grants.sql, `doctor`, and the whole bot run
as an account holding only those grants (storage/grants.py).

The platform's own code has no rule here; what it sets is the list of tables the bot must write
(docs/platform.md cites the platform file behind each write).
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.doctor import ERROR, OK, WARNING, check_grants
from handlers.chat import entry as chat
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code
from handlers.community import admin as community_admin
from handlers.community import members, pending
from handlers.community import settings as card
from handlers.core.context import Context
from handlers.dashboard.charts import chart
from handlers.dashboard.request import ChartRequest
from handlers.outbox.watcher import scan_new_pending
from storage import grants, notified, schema
from storage.bot_models import AuditEntry, ChatIdentity
from storage.codes import AuthItemId, MembershipStatus, ValidationType
from storage.engine import make_engine, make_sessionmaker
from storage.indicator_days import refresh
from storage.indicators import Indicator
from storage.models import (
    Community,
    CommunitySecurity,
    CommunityUser,
    Notified,
    UserAuthAssignment,
)
from tests.support.databases import throwaway_database
from tests.support.world import build_world

REPO = Path(__file__).resolve().parents[2]


def test_deploy_script_is_what_the_bot_declares():
    """deploy/grants.sql is `referent-bot db grants`' output: it cannot drift from the code."""
    assert (REPO / "deploy" / "grants.sql").read_text("utf-8") == grants.grants_script()


def test_every_write_is_granted_and_every_mapped_table_is_readable():
    needed = grants.required()
    for table in grants.platform_tables():
        assert ("SELECT" in needed[table]) == (table not in grants.WRITE_ONLY)
    for table, privileges in grants.PLATFORM_WRITES.items():
        assert table in grants.platform_tables(), f"{table} is written but not mapped"
        assert privileges <= needed[table]
    # nothing but SELECT on a platform table the bot does not write
    assert needed["user"] == {"SELECT"}
    assert needed["proposal"] == {"SELECT"}


def test_compare_reads_global_database_and_table_grants():
    root = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]
    report = grants.compare(root, "mobicoop")
    assert report.missing == {}
    assert report.extra == ["ALL PRIVILEGES on every database of the server"]

    wide = ["GRANT USAGE ON *.* TO `bot`@`%`", "GRANT SELECT ON `mobi%`.* TO `bot`@`%`"]
    report = grants.compare(wide, "mobicoop")
    assert report.extra == ["SELECT on every table of `mobicoop`"]
    assert "INSERT" in report.missing["community_user"]
    assert "SELECT" not in report.missing.get("community_user", set())

    exact = [s.rstrip(";") for s in grants.grant_statements("mobicoop", "`bot`@`%`")]
    assert grants.compare(exact, "mobicoop") == grants.GrantReport(missing={}, extra=[])
    # another database's grants count for nothing
    assert grants.compare(exact, "other").missing.keys() == grants.required().keys()

    # the deletion's summary counts the rows of unmapped tables by their community_id only;
    # a table-level SELECT covers that column
    assert grants.required()["log"] == {"SELECT (community_id)"}
    columns = [s for s in exact if "`log`" in s]
    assert columns == ["GRANT SELECT (`community_id`) ON `mobicoop`.`log` TO `bot`@`%`"]
    table_wide = [s for s in exact if "`log`" not in s] + [
        "GRANT SELECT ON `mobicoop`.`log` TO `bot`@`%`"
    ]
    assert grants.compare(table_wide, "mobicoop").missing == {}
    assert grants.compare(table_wide, "mobicoop").extra == ["SELECT on `mobicoop`.`log`"]

    one_more = [*exact, "GRANT DROP, SELECT ON `mobicoop`.`user` TO `bot`@`%`"]
    assert grants.compare(one_more, "mobicoop").extra == ["DROP on `mobicoop`.`user`"]
    one_less = [s for s in exact if "`community_security`" not in s]
    assert grants.compare(one_less, "mobicoop").missing == {
        "community_security": frozenset({"SELECT", "INSERT", "DELETE"})
    }


@contextlib.contextmanager
def limited_account(url: str):
    """An account on the test server holding exactly the bot's grants on that database."""
    root = create_engine(url, isolation_level="AUTOCOMMIT")
    database = make_url(url).database
    name, password = f"rb_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    account = f"'{name}'@'%'"
    with root.connect() as connection:
        connection.execute(text(f"CREATE USER {account} IDENTIFIED BY '{password}'"))
        for statement in grants.grant_statements(database, account):
            connection.execute(text(statement))
    try:
        yield (
            make_url(url)
            .set(username=name, password=password)
            .render_as_string(hide_password=False)
        )
    finally:
        with root.connect() as connection:
            connection.execute(text(f"DROP USER IF EXISTS {account}"))
        root.dispose()


@pytest.mark.mariadb
def test_the_whole_bot_runs_with_only_the_declared_grants(tmp_path, settings):
    with throwaway_database("mariadb", "rb_grants") as url, limited_account(url) as bot_url:
        admin = make_engine(url)
        engine = make_engine(bot_url)
        try:
            _whole_flow(admin, engine, tmp_path, settings)
        finally:
            engine.dispose()
            admin.dispose()


def _whole_flow(admin, engine, tmp_path, settings) -> None:
    # db upgrade creates and migrates the bot's tables with the account's own grants
    schema.prepare(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    world = build_world(admin)  # the platform's rows, written by the platform (here: root)
    with Session(admin) as session, session.begin():
        notified.seed(session)  # the notifications the platform's migrations insert

    # doctor: exactly the grants needed; the administrator's account has more
    assert [c.level for c in check_grants(engine)] == [OK]
    assert [c.level for c in check_grants(admin)] == [WARNING]

    # and nothing more: the platform's tables cannot be changed beyond the bot's writes
    with pytest.raises((OperationalError, ProgrammingError)), engine.begin() as connection:
        connection.execute(text("DELETE FROM `user`"))
    with pytest.raises((OperationalError, ProgrammingError)), engine.begin() as connection:
        connection.execute(text("DROP TABLE `community_user`"))
    with pytest.raises((OperationalError, ProgrammingError)), engine.begin() as connection:
        connection.execute(text("SELECT * FROM `log`"))  # only its community_id is readable

    # e-mails on: decisions also write the platform's `notified` rows and the bot's outbox
    settings = dataclasses.replace(settings, email_enabled=True)
    ctx = Context(sessions=make_sessionmaker(engine), settings=settings)
    arc, gsk = world.communities["arc"], world.communities["gsk"]

    # a referent links a chat account, then works from the chat
    issued = issue_link_code(ctx, "jean-marc.morel@arcfrance.fr")
    account = ChatAccount("telegram", "4242")
    place = ChatPlace("telegram", "4242")
    assert chat.on_command(ctx, account, place, "start", [issued.code]).ok
    referent = chat.who(ctx, account)
    assert referent is not None
    assert chat.on_command(ctx, account, place, "communautes", []).ok
    assert chat.on_command(ctx, account, place, "attente", [str(arc)]).ok

    # the watcher pushes the pending requests (bot tables only)
    assert scan_new_pending(ctx, lookback=None) > 0

    # decisions, status changes, removal, adding a member
    assert pending.approve(ctx, referent, world.memberships[("arc", "pierre")]).ok
    assert pending.refuse(ctx, referent, world.memberships[("arc", "helene")], "hors site").ok
    marion = world.memberships[("arc", "marion")]
    assert members.set_member_status(
        ctx, referent, marion, MembershipStatus.MODERATOR, MembershipStatus.MEMBER
    ).ok
    assert members.set_member_status(
        ctx, referent, marion, MembershipStatus.MEMBER, MembershipStatus.MODERATOR
    ).ok
    assert members.remove_member(ctx, referent, marion, MembershipStatus.MEMBER).ok
    assert community_admin.add_member(
        ctx, referent, arc, world.users["lila"], MembershipStatus.MODERATOR
    ).ok

    # settings, validation, identifier files, name
    assert card.set_members_hidden(ctx, referent, arc, True).ok
    assert card.set_domains(ctx, referent, arc, "arcfrance.fr").ok
    content = b"12345;Morel\n67890;Fournier\n"
    assert card.set_identifiers(ctx, referent, arc, "matricules.csv", content).ok
    assert card.set_validation(ctx, referent, arc, int(ValidationType.MANUAL)).ok
    assert community_admin.edit_details(ctx, referent, arc, "name", "Arc France Arques").ok

    # the dashboard: the aggregate is built, then a chart drawn from it
    with ctx.sessions() as session:
        refresh(session, full=True)
    assert chart(ctx, referent, ChartRequest(Indicator.USERS)).ok

    # the creator of GSK deletes it
    cyrielle = chat_actor(ctx, world.users["cyrielle"])
    assert community_admin.delete_community(ctx, cyrielle, gsk, "GSK Saint Amand les Eaux").ok

    with ctx.sessions() as session:
        assert session.get(Community, gsk) is None
        assert session.get(Community, arc).name == "Arc France Arques"
        assert (
            session.scalar(select(func.count()).select_from(CommunitySecurity)) == 0
        )  # left secured validation: the rows went
        statuses = dict(
            session.execute(
                select(CommunityUser.user_id, CommunityUser.status).where(
                    CommunityUser.community_id == arc
                )
            ).all()
        )
        assert statuses[world.users["pierre"]] == MembershipStatus.MEMBER
        assert statuses[world.users["helene"]] == MembershipStatus.REFUSED
        assert statuses[world.users["lila"]] == MembershipStatus.MODERATOR
        assert world.users["marion"] not in statuses
        assert session.scalar(select(func.count()).select_from(AuditEntry)) >= 8
        assert session.scalar(select(func.count()).select_from(ChatIdentity)) == 1
        # the moderators made hold the platform's role (user_auth_assignment, item 8)
        role_holders = set(
            session.scalars(
                select(UserAuthAssignment.user_id).where(
                    UserAuthAssignment.auth_item_id == AuthItemId.COMMUNITY_MANAGER_PUBLIC
                )
            )
        )
        assert {world.users["lila"], world.users["marion"]} <= role_holders
        # the platform's record of the e-mails sent: one acceptance (Pierre), one refusal
        assert session.scalar(select(func.count()).select_from(Notified)) == 2
    assert [c.level for c in check_grants(engine)] == [OK]
    assert ERROR not in [c.level for c in check_grants(engine)]


def chat_actor(ctx: Context, user_id: int):
    from handlers.chat.identity import actor_for_user

    found = actor_for_user(ctx, user_id, "console")
    assert found is not None
    return found
