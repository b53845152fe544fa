"""JSON logs of a real scenario: every line parses, every line written while an update or a
delivery was handled carries its id (in the thread pool too), and no secret gets through."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.logs import request_scope, setup_logging
from bot.notifier import Notifier
from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.actions import callback_data
from handlers.chat.linking import issue_link_code
from tests.bot.telegram.conftest import EMAILS, EMILIE, JEANMARC, telegram_config
from tests.bot.telegram.fake_bot_api import TOKEN

pytestmark = pytest.mark.asyncio


def lines_of(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_every_line_of_an_update_carries_its_id(api, engine, ctx, world, json_logs):
    app = App(Runtime(telegram_config(api), engine, ctx))
    telegram = TelegramFront(app, poll_timeout=0.2)
    await telegram.start()
    try:
        codes = {}
        updates = {}
        for user in (JEANMARC, EMILIE):
            codes[user["id"]] = issue_link_code(ctx, EMAILS[user["id"]]).code
            updates[user["id"]] = api.send_text(user, f"/start {codes[user['id']]}")["update_id"]
        await api.wait_for(lambda c: c.method == "sendMessage", count=2)
        pierre = world.membership("arc", "pierre")
        press = api.press(JEANMARC, {"message_id": 777}, callback_data("approve", str(pierre)))
        press_update = api.updates[-1]["update_id"]
        await api.wait_for(lambda c: c.method == "editMessageText")
        with request_scope("upd 424242"):  # a use case logs from the thread pool
            await app.call(logging.getLogger("handlers.probe").info, "inside the pool")
        api.fail_next("sendMessage", 429, retry_after=1)
        await Notifier(app).run_once()
    finally:
        await telegram.stop()
        app.close()

    entries = lines_of(json_logs)  # every line is one JSON object
    assert entries
    assert {"time", "level", "logger", "message"} <= set(entries[0])

    # python-telegram-bot logs each Bot API call at DEBUG with its parameters: every call made
    # while an update was handled names that update, and goes to that update's chat.
    calls = [e for e in entries if e["message"].startswith("Calling Bot API endpoint")]
    answering = [
        e
        for e in calls
        if "getUpdates" not in e["message"]
        and "setMyCommands" not in e["message"]
        and "getMe" not in e["message"]
    ]
    by_update = {}
    for entry in answering:
        if entry.get("request_id", "").startswith("upd "):
            by_update.setdefault(int(entry["request_id"][4:]), []).append(entry["message"])
    assert set(by_update) == {*updates.values(), press_update}
    for user_id, update_id in updates.items():
        assert all(f"'chat_id': {user_id}" in m for m in by_update[update_id]), by_update
    assert any("answerCallbackQuery" in m and press in m for m in by_update[press_update])
    polls = [e for e in calls if "getUpdates" in e["message"]]
    assert polls and not any("request_id" in e for e in polls)  # outside any update

    [probe] = [e for e in entries if e["logger"] == "handlers.probe"]
    assert probe["request_id"] == "upd 424242"

    [retry] = [e for e in entries if "retry later" in e["message"]]
    assert retry["logger"] == "bot.notifier"
    assert retry["request_id"] == "dlv " + retry["message"].split()[1].rstrip(":")

    text = json_logs.getvalue()
    assert TOKEN not in text
    for code in codes.values():
        assert code not in text


async def test_text_lines_show_the_id_in_brackets():
    import io

    stream = io.StringIO()
    handler = setup_logging("text", "INFO", stream=stream)
    try:
        log = logging.getLogger("bot.probe")
        with request_scope("upd 12345"):
            log.info("handled")
            await asyncio.create_task(asyncio.sleep(0))
            log.warning("still inside")
        log.info("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second, third = stream.getvalue().splitlines()
    assert first.endswith(" INFO bot.probe [upd 12345]: handled")
    assert second.endswith(" WARNING bot.probe [upd 12345]: still inside")
    assert third.endswith(" INFO bot.probe: outside")
