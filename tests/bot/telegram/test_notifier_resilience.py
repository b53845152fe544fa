"""The notifier against the fake Bot API: replicas, a kill mid-batch, and a storm of 429s."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from bot.notifier import Notifier
from bot.runtime import App
from bot.wiring import Runtime
from handlers.core.context import Context
from handlers.outbox import claims, watcher
from storage import clock
from storage.bot_models import Delivery
from storage.engine import make_sessionmaker
from tests.bot.telegram.conftest import EMILIE, JEANMARC, link
from tests.support.notifications import NoPacing, new_pending

pytestmark = pytest.mark.asyncio
SEND = "sendMessage"


def quiet(ctx: Context) -> Context:
    """Reminders far off: these tests count the pending-member messages alone."""
    settings = dataclasses.replace(ctx.settings, reminder_days=365, operators_reminder_days=365)
    return dataclasses.replace(ctx, settings=settings)


def copies(api) -> Counter:
    """Messages the fake Bot API accepted (a call answered 429 carries no result)."""
    return Counter(
        (c.chat_id, c.text)
        for c in api.sent(None, SEND)
        if c.text.startswith("🔔") and getattr(c, "result", None)
    )


@pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
async def test_two_replicas_send_each_message_once(api, front, ctx, world, engine):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    for index in range(10):
        new_pending(engine, world, f"Personne{index}", "Test")
    replicas = []
    for _ in range(2):  # two processes: their own connections, the same database and Bot API
        app = App(Runtime(front.app.config, engine, quiet(
            Context(sessions=make_sessionmaker(engine), settings=ctx.settings))))  # fmt: skip
        app.transports["telegram"] = front.app.transports["telegram"]
        notifier = Notifier(app, interval=0.01, batch=4)
        notifier.limiter = NoPacing()
        replicas.append((app, notifier))
    await asyncio.gather(*(n.run_once() for _, n in replicas), *(n.run_once() for _, n in replicas))
    for app, _ in replicas:
        app.close()
    sent = copies(api)
    assert sum(sent.values()) == 13 * 2  # 3 + 10 requests in Arc France, to 2 deciders
    assert max(sent.values()) == 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_killed_mid_batch_then_restarted(api, front, ctx, world, engine):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    new_pending(engine, world)
    ctx = quiet(ctx)
    watcher.scan_new_pending(ctx)
    batch = claims.claim_due(ctx, "dead", limit=5)
    first = batch[0]  # the dead notifier got this one out, then died
    assert claims.start_sending(ctx, first.delivery_id, "dead")
    await front.app.transports["telegram"].send(first.chat_id, first.team_id, first.reply)
    clock.set_now(clock.now() + claims.LEASE + dt.timedelta(seconds=1))
    app = App(Runtime(front.app.config, engine, ctx))
    app.transports["telegram"] = front.app.transports["telegram"]
    restarted = Notifier(app, interval=0.01)
    restarted.limiter = NoPacing()
    await restarted.start()  # recovers the one left in `sending`, then stopped at once
    await restarted.stop()
    fresh = Notifier(app, interval=0.01)
    fresh.limiter = NoPacing()
    await fresh.run_once()
    app.close()
    sent = copies(api)
    # At least once (issue 18, point 8): every push reaches its chat, and the one in flight when
    # the notifier died (its outcome unknown) is sent again, saying it may be a repeat.
    repeats = [(chat, text) for chat, text in sent if "peut-être déjà reçu" in text]
    assert [chat for chat, _ in repeats] == [str(first.chat_id)]
    assert sum(sent.values()) == 4 * 2 + 1 and max(sent.values()) == 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_a_storm_of_429s_delays_but_loses_and_duplicates_nothing(
    api, front, ctx, world, engine
):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    new_pending(engine, world)
    app = App(Runtime(front.app.config, engine, quiet(ctx)))
    app.transports["telegram"] = front.app.transports["telegram"]
    notifier = Notifier(app, interval=0.01)
    notifier.limiter = NoPacing()
    for _ in range(6):
        api.fail_next(SEND, 429, retry_after=3)
    rounds = 0
    while sum(copies(api).values()) < 8 and rounds < 20:
        await notifier.run_once()
        clock.set_now(clock.now() + dt.timedelta(seconds=10))
        rounds += 1
    app.close()
    sent = copies(api)
    assert sum(sent.values()) == 8 and max(sent.values()) == 1
    with ctx.sessions() as session:
        retried = session.scalars(select(Delivery).where(Delivery.attempts > 1)).all()
    assert retried and all("429" in (d.last_error or "") for d in retried)
