"""The operators' change feed and the daily reminders, delivered through the notifier."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from bot.notifier import Notifier
from handlers.community import settings as community_settings
from storage import clock
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


def test_a_reminder_after_one_day_says_one_day(ops_ctx, world, transports, engine):
    link_deciders(engine, world)
    settings = dataclasses.replace(ops_ctx.settings, reminder_days=1)
    run(dataclasses.replace(ops_ctx, settings=settings), transports)
    reminder = "⏰ **Demandes en attente depuis plus de 1 jour**\n• Arc France : 3"
    assert reminder in received(transports["telegram"], EMILIE_TG)
