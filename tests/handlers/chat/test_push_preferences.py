"""Each person turns push on or off and sets quiet hours; the watcher honours both."""

from __future__ import annotations

import datetime as dt

from handlers.chat import commands
from handlers.outbox import claims, watcher
from storage.bot_models import Preference
from tests.handlers.helpers import actor, snapshot
from tests.support.notifications import EMILIE_TG, link_deciders


def preference(ctx, user_id):
    with ctx.sessions() as session:
        return session.get(Preference, user_id)


def test_push_off_then_on(ctx, world, engine):
    link_deciders(engine, world)
    emilie = actor(ctx, world, "emilie")
    off = commands.run_command(ctx, emilie, "notifications", ["off"])
    assert off.text.startswith("🔕 Notifications désactivées")
    assert preference(ctx, world.users["emilie"]).push_enabled is False
    watcher.scan_new_pending(ctx)
    chats = {row[2] for row in claims.delivery_states(ctx)}
    assert EMILIE_TG not in chats  # the group and Jean-Marc still get them
    assert chats == {"-100200", "U0JEANMARC"}
    on = commands.run_command(ctx, emilie, "push", ["on"])
    assert on.text.startswith("🔔 Notifications activées")
    assert preference(ctx, world.users["emilie"]).push_enabled is True
    state = commands.run_command(ctx, emilie, "notifications", [])
    assert state.text.startswith("Les notifications sont activées.")


def test_quiet_hours(ctx, world):
    emilie = actor(ctx, world, "emilie")
    reply = commands.run_command(ctx, emilie, "silence", ["22h-7h"])
    assert reply.text == (
        "🌙 Heures calmes : de 22:00 à 07:00, les demandes attendent la fin de la plage "
        "puis arrivent ensemble."
    )
    stored = preference(ctx, world.users["emilie"])
    assert (stored.quiet_start, stored.quiet_end) == (dt.time(22, 0), dt.time(7, 0))
    assert commands.run_command(ctx, emilie, "quiet", ["off"]).text.startswith(
        "Heures calmes retirées"
    )
    assert preference(ctx, world.users["emilie"]).quiet_start is None


def test_bad_quiet_hours_change_nothing(ctx, world):
    emilie = actor(ctx, world, "emilie")
    before = snapshot(ctx)
    for words in (["25:00-07:00"], ["tonight"], ["08:00-08:00"], []):
        reply = commands.run_command(ctx, emilie, "silence", words)
        assert not reply.ok
        assert reply.text.startswith("Heures calmes : tapez par exemple silence 22:00-07:00")
    assert snapshot(ctx) == before
    assert preference(ctx, world.users["emilie"]) is None
