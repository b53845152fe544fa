"""The drain, in process: Slack answers 503 while the bot shuts down but finishes what it had
acknowledged; a decision stuck behind a lock does not hold the shutdown past its budget."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.runtime import App, shutdown
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.actions import callback_data
from tests.slack.conftest import link as slack_link
from tests.slack.conftest import start_bot
from tests.slack.fake_slack_api import FakeSlack
from tests.telegram.conftest import JEANMARC, link, telegram_config

pytestmark = [pytest.mark.asyncio, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]


async def test_slack_finishes_what_it_acknowledged_then_answers_503(engine, settings):
    fake = FakeSlack()
    await fake.start()
    bot = await start_bot(fake, engine, settings, min_interval=0.0)
    slack_link(bot.ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
    try:
        acknowledged = await bot.user.command("jeanmarc", "communautes")
        assert acknowledged.status == 200
        bot.app.draining = True
        refused = await bot.user.command("jeanmarc", "attente")
        await bot.front.drain()  # returns once the acknowledged command is answered
        answered = fake.texts("chat.postMessage")
    finally:
        await bot.front.stop()
        bot.app.close()
        await fake.stop()
    assert refused.status == 503
    assert len(answered) == 1 and "Arc France" in answered[0]


async def test_a_stuck_decision_does_not_hold_the_shutdown_past_its_budget(api, engine, ctx, world):
    app = App(Runtime(telegram_config(api), engine, ctx))
    telegram = TelegramFront(app, poll_timeout=0.2)
    await telegram.start()
    await link(api, ctx, JEANMARC)
    blocker = engine.connect().execution_options(sqlite_immediate=True)
    blocker.begin()  # BEGIN IMMEDIATE: another writer holds the database
    try:
        pierre = world.membership("arc", "pierre")
        offsets: list[int] = []  # what each poll asks for (the fake does not record polls)
        poll = api._m_getUpdates

        async def noted_poll(params, files):
            offsets.append(int(params.get("offset") or 0))
            return await poll(params, files)

        api._m_getUpdates = noted_poll
        api.press(JEANMARC, {"message_id": 777}, callback_data("approve", str(pierre)))
        press_id = api.updates[-1]["update_id"]

        def fetched() -> bool:  # the next poll asks for what follows the press
            return any(offset > press_id for offset in offsets)

        # The press itself under way (not the tail of the link's reply), then stuck on the lock
        for _ in range(500):
            if fetched() and app.in_flight > 0:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert app.in_flight > 0
        started = time.monotonic()
        clean = await shutdown(app, [telegram], seconds=1.0)
        elapsed = time.monotonic() - started
        unanswered = not [c for c in api.calls if c.method == "answerCallbackQuery"]
    finally:
        blocker.rollback()
        blocker.close()
        for _ in range(100):  # the decision now ends (its answer may fail: the bot stopped)
            if app.in_flight == 0:
                break
            await asyncio.sleep(0.05)
        app.close(wait=False)
    assert clean is False
    assert 1.0 <= elapsed < 1.0 + 3.0 + 1.0  # the budget, then a few seconds for the stop
    assert unanswered  # the bot gave up on it rather than waiting past its budget
