"""The drain, in process: Slack answers 503 while the bot shuts down but finishes what it had
acknowledged; Telegram's webhook closes but finishes the update it took; a decision stuck
behind a lock does not hold the shutdown past its budget."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from sqlalchemy import select

from bot.runtime import App, shutdown
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat import entry as chat
from handlers.chat.actions import callback_data
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code
from storage.codes import MembershipStatus
from storage.models import CommunityUser
from tests.bot.slack.conftest import link as slack_link
from tests.bot.slack.conftest import start_bot
from tests.bot.slack.fake_slack_api import FakeSlack
from tests.bot.telegram.conftest import JEANMARC, link, telegram_config
from tests.ops.support import free_port

pytestmark = [pytest.mark.asyncio, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]
SECRET = "drain-webhook-secret"


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


async def test_telegram_webhook_finishes_the_update_it_took_and_takes_no_more(
    api, engine, ctx, world
):
    """Webhook mode: the listener closes at once (Telegram keeps the next updates, or gives
    them to another replica), and a decision already acknowledged is carried out and answered."""
    port = free_port()
    config = telegram_config(
        api, mode="webhook", webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret=SECRET, listen_host="127.0.0.1", listen_port=port,
    )  # fmt: skip
    app = App(Runtime(config, engine, ctx))
    telegram = TelegramFront(app)
    await telegram.start()
    code = issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code
    jeanmarc = ChatAccount("telegram", str(JEANMARC["id"]), display_name="Jean-Marc Morel")
    assert chat.on_command(ctx, jeanmarc, ChatPlace("telegram", str(JEANMARC["id"])),
                           "start", [code]).ok  # fmt: skip
    pierre = world.membership("arc", "pierre")
    data = callback_data("approve", str(pierre))
    url = f"http://127.0.0.1:{port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    blocker = engine.connect().execution_options(sqlite_immediate=True)
    blocker.begin()  # another writer holds the database: the decision waits for it
    try:
        async with aiohttp.ClientSession() as http:
            press = {"update_id": 901, **api.callback_update(JEANMARC, {"message_id": 801}, data)}
            async with http.post(url, json=press, headers=headers) as taken:
                assert taken.status == 200  # acknowledged: Telegram will not send it again
            for _ in range(250):
                if app.in_flight > 0:
                    break
                await asyncio.sleep(0.02)
            assert app.in_flight > 0
            stopping = asyncio.create_task(shutdown(app, [telegram], seconds=20))
            await asyncio.sleep(0.5)
            with pytest.raises(aiohttp.ClientConnectionError):  # the listener is closed
                again = {
                    "update_id": 902,
                    **api.callback_update(JEANMARC, {"message_id": 802}, data),
                }
                async with http.post(url, json=again, headers=headers):
                    pass
            assert not stopping.done()  # still waiting for the decision
            assert not [c for c in api.calls if c.method == "answerCallbackQuery"]
            blocker.rollback()
            clean = await asyncio.wait_for(stopping, 20)
    finally:
        if blocker.in_transaction():
            blocker.rollback()
        blocker.close()
        app.close(wait=False)
    assert clean is True
    (answer,) = [c for c in api.calls if c.method == "answerCallbackQuery"]
    assert answer.params["callback_query_id"] == press["callback_query"]["id"]
    edited = [c for c in api.calls if c.method == "editMessageText"]
    assert len(edited) == 1 and "acceptée" in edited[0].params["text"]
    with engine.connect() as connection:
        status = connection.execute(
            select(CommunityUser.status).where(CommunityUser.id == pierre)
        ).scalar()
    assert status == MembershipStatus.MEMBER
