"""The operators' change feed and the daily reminders, delivered through the notifier."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import shutil

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.notifier import Notifier
from handlers.community import settings as community_settings
from handlers.outbox import feed
from storage import clock
from storage.bot_models import Notification, WatcherState
from storage.engine import make_engine, make_sessionmaker
from tests.handlers.helpers import actor
from tests.support.notifications import (
    EMILIE_TG,
    JEANMARC_SLACK,
    TEAM,
    FakeApp,
    FakeTransport,
    NoPacing,
    link_deciders,
)

OPS = ("slack", TEAM, "C0OPERATORS")


@pytest.fixture
def ops_ctx(ctx):
    settings = dataclasses.replace(ctx.settings, operator_chats=(OPS,))
    return dataclasses.replace(ctx, settings=settings)


@pytest.fixture
def transports():
    return {"telegram": FakeTransport("telegram"), "slack": FakeTransport("slack")}


def run(ctx, transports) -> None:
    notifier = Notifier(FakeApp(ctx, transports), interval=0.01)
    notifier.limiter = NoPacing()
    asyncio.run(notifier.run_once())


def received(transport: FakeTransport, chat: str) -> list[str]:
    return [reply.text for to, _, reply in transport.sent if to == chat]


def test_settings_changes_reach_the_operators_chat(ops_ctx, world, transports, engine):
    link_deciders(engine, world)
    emilie = actor(ops_ctx, world, "emilie", front="telegram")
    arc = world.communities["arc"]
    assert community_settings.set_members_hidden(ops_ctx, emilie, arc, True).ok
    assert community_settings.set_domains(ops_ctx, emilie, arc, "arcfrance.fr; arc-intl.com").ok
    run(ops_ctx, transports)
    feed = [t for t in received(transports["slack"], "C0OPERATORS") if t.startswith("📝")]
    assert feed == [
        "📝 **Arc France** — Emilie F. (Telegram), le 17/01/2024 à 10:02 : "
        "Membres cachés : non → oui",
        "📝 **Arc France** — Emilie F. (Telegram), le 17/01/2024 à 10:02 : "
        "Type de validation : validation par modérateur · arcfrance.fr → "
        "validation par domaine · arcfrance.fr, arc-intl.com",
    ]
    run(ops_ctx, transports)  # delivered once
    assert len([t for t in received(transports["slack"], "C0OPERATORS") if t.startswith("📝")]) == 2


def test_a_refused_change_sends_nothing(ops_ctx, world, transports, engine):
    marion = actor(ops_ctx, world, "marion")
    reply = community_settings.set_members_hidden(ops_ctx, marion, world.communities["arc"], True)
    assert not reply.ok
    run(ops_ctx, transports)
    assert not any(t.startswith("📝") for t in received(transports["slack"], "C0OPERATORS"))


def test_daily_reminders_to_deciders_then_operators(ops_ctx, world, transports, engine):
    link_deciders(engine, world)
    # The world's Arc France requests date from 11, 12 and 13/01/2024: 4 to 6 days old.
    run(ops_ctx, transports)
    reminder = "⏰ **Demandes en attente depuis plus de 3 jours**\n• Arc France : 3"
    assert reminder in received(transports["telegram"], EMILIE_TG)
    assert reminder in received(transports["slack"], JEANMARC_SLACK)
    operators = "⏰ **Demandes en attente depuis plus de 7 jours, toutes communautés**\n"
    # GSK's request (12/12/2023) is past 7 days already; it has no linked decider.
    assert [t for t in received(transports["slack"], "C0OPERATORS") if t.startswith("⏰")] == [
        operators + "• GSK Saint Amand les Eaux : 1"
    ]
    run(ops_ctx, transports)  # once a day, and never edited afterwards
    assert received(transports["telegram"], EMILIE_TG).count(reminder) == 1
    assert transports["telegram"].edits == [] and transports["slack"].edits == []
    clock.set_now(clock.now() + dt.timedelta(days=2))
    run(ops_ctx, transports)
    assert received(transports["telegram"], EMILIE_TG).count(reminder) == 2
    ops = [t for t in received(transports["slack"], "C0OPERATORS") if t.startswith("⏰")]
    assert ops[1:] == [operators + "• Arc France : 2\n• GSK Saint Amand les Eaux : 1"]


# --- The daily reminder check: free once today's are done -----------------------------------


class Statements:
    """Counts what reaches the database through `engine`: statements and transactions."""

    def __init__(self, engine) -> None:
        self.statements = self.transactions = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, *args) -> None:
        self.statements += 1

    def _begin(self, *args) -> None:
        self.transactions += 1

    def reset(self) -> tuple[int, int]:
        counted = (self.transactions, self.statements)
        self.statements = self.transactions = 0
        return counted


def reminders_in_db(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(
            f"{n.kind}:{n.dedup_key}"
            for n in session.scalars(
                select(Notification).where(Notification.kind.in_(REMINDER_KINDS))
            )
        )


REMINDER_KINDS = ("reminder", "reminder_operators")


def scan(ctx) -> int:
    return feed.scan_reminders(ctx, 3, 7)


def test_once_todays_reminders_are_done_the_check_costs_nothing_until_tomorrow(
    ops_ctx, world, engine
):
    link_deciders(engine, world)
    counted = Statements(engine)
    assert scan(ops_ctx) == 3  # Emilie, Jean-Marc and the operators
    done = reminders_in_db(engine)
    transactions, statements = counted.reset()
    assert transactions >= 2 and statements > 5  # the first check of the day reads the state
    for _ in range(500):  # about 17 minutes of notifier rounds
        assert scan(ops_ctx) == 0
    assert counted.reset() == (0, 0)
    assert reminders_in_db(engine) == done

    clock.set_now(clock.now() + dt.timedelta(days=1))  # the next day: checked, and sent again
    assert scan(ops_ctx) == 3
    assert counted.reset()[0] >= 2
    scan(ops_ctx)
    assert counted.reset() == (0, 0)
    assert len(reminders_in_db(engine)) == 6


def test_the_day_turns_at_midnight_in_the_platforms_zone(ops_ctx, world, engine):
    link_deciders(engine, world)
    clock.set_now(dt.datetime(2024, 1, 17, 23, 59, 0))  # naive, in the platform's zone
    assert scan(ops_ctx) == 3
    counted = Statements(engine)
    clock.set_now(dt.datetime(2024, 1, 17, 23, 59, 59))
    assert scan(ops_ctx) == 0 and counted.reset() == (0, 0)
    clock.set_now(dt.datetime(2024, 1, 18, 0, 0, 1))
    assert scan(ops_ctx) == 3 and counted.reset()[0] >= 2


def test_another_replica_that_did_them_is_read_once_then_trusted(ops_ctx, world, engine, tmp_path):
    """Two processes on one database: the second reads that today's are done (the database
    is the source of truth), sends nothing twice, then stops asking."""
    link_deciders(engine, world)
    assert scan(ops_ctx) == 3
    # Another process's engine on the same database.
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        other = dataclasses.replace(ops_ctx, sessions=make_sessionmaker(other_engine))
        counted = Statements(other_engine)
        assert scan(other) == 0
        assert counted.reset()[0] >= 1  # read the state: nothing known in this process yet
        assert scan(other) == 0
        assert counted.reset() == (0, 0)
    finally:
        other_engine.dispose()
    assert len(reminders_in_db(engine)) == 3


def test_what_one_database_did_says_nothing_of_another(
    ops_ctx, world, engine, sqlite_template, tmp_path
):
    link_deciders(engine, world)
    assert scan(ops_ctx) == 3
    path = tmp_path / "other.sqlite3"
    shutil.copyfile(sqlite_template, path)
    other_engine = make_engine(f"sqlite:///{path}")
    try:
        other = dataclasses.replace(ops_ctx, sessions=make_sessionmaker(other_engine))
        counted = Statements(other_engine)
        assert scan(other) == 0  # an empty platform: nothing pending, but it was checked
        assert counted.reset()[0] >= 2
        with Session(other_engine) as session:
            state = session.get(WatcherState, feed.REMINDERS_STATE)
            assert state is not None and state.value == clock.now().date().isoformat()
    finally:
        other_engine.dispose()


def test_a_check_that_failed_is_tried_again(ops_ctx, world, engine, monkeypatch):
    link_deciders(engine, world)

    def outage(*args):
        raise OperationalError("SELECT", {}, Exception("server has gone away"))

    with monkeypatch.context() as patched:
        patched.setattr(feed, "_old_pending", outage)
        with pytest.raises(OperationalError):
            scan(ops_ctx)
    assert reminders_in_db(engine) == []
    assert scan(ops_ctx) == 3  # not taken for done


def test_a_reminder_after_one_day_says_one_day(ops_ctx, world, transports, engine):
    link_deciders(engine, world)
    settings = dataclasses.replace(ops_ctx.settings, reminder_days=1)
    run(dataclasses.replace(ops_ctx, settings=settings), transports)
    reminder = "⏰ **Demandes en attente depuis plus de 1 jour**\n• Arc France : 3"
    assert reminder in received(transports["telegram"], EMILIE_TG)
