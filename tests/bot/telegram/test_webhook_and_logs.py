"""Webhook mode (the secret header checked) and secrets kept out of the logs at DEBUG."""

from __future__ import annotations

import json
import logging
import socket

import aiohttp
import pytest
from sqlalchemy import select

from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.linking import issue_link_code
from storage.bot_models import ChatIdentity
from tests.bot.telegram.conftest import EMILIE, link, reply_to, telegram_config
from tests.bot.telegram.fake_bot_api import TOKEN
from tests.handlers.helpers import snapshot

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
SECRET = "webhook-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def update(number: int, text: str) -> dict:
    return {
        "update_id": number,
        "message": {
            "message_id": number,
            "date": 0,
            "text": text,
            "chat": {"id": EMILIE["id"], "type": "private", "first_name": "Emilie"},
            "from": {**EMILIE, "is_bot": False},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def test_webhook_refuses_a_request_without_the_secret(api, engine, ctx, world, caplog):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    config = telegram_config(
        api,
        mode="webhook",
        webhook_url="https://bot.example.org/telegram",
        webhook_secret=SECRET,
        listen_host="127.0.0.1",
        listen_port=port,
    )
    app = App(Runtime(config, engine, ctx))
    front = TelegramFront(app)
    await front.start()
    try:
        webhook = api.sent(None, "setWebhook")[0].params
        assert webhook["url"] == "https://bot.example.org/telegram"
        assert webhook["secret_token"] == SECRET
        code = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
        before = snapshot(ctx)
        url = f"http://127.0.0.1:{port}/telegram"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(
                    url,
                    data=json.dumps(update(1, f"/start {code}")),
                    headers={"Content-Type": "application/json", **headers},
                ) as r:
                    assert r.status == 403
            async with http.post(
                url,
                data=json.dumps(update(2, "/aide")),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "x" * 5,
                },
            ) as r:
                assert r.status == 403
            assert api.sent(EMILIE["id"]) == []
            assert snapshot(ctx) == before
            with ctx.sessions() as session:
                assert session.scalars(select(ChatIdentity)).all() == []
            async with http.post(
                url,
                data=json.dumps(update(3, f"/start {code}")),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": SECRET,
                },
            ) as r:
                assert r.status == 200
        linked = await reply_to(api, EMILIE["id"], 1)
        assert linked.text.startswith("Compte relié")
    finally:
        await front.stop()
        app.close()
    logged = caplog.text
    assert "setWebhook" in logged  # PTB logged the call and its parameters at DEBUG...
    assert SECRET not in logged and TOKEN not in logged  # ...without the secrets
    assert code not in logged


async def test_no_secret_in_any_log_line_at_debug(api, engine, ctx, world):
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    root = logging.getLogger()
    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    app = App(Runtime(telegram_config(api), engine, ctx))
    front = TelegramFront(app, poll_timeout=0.2)
    try:
        await front.start()
        code = await link(api, ctx, EMILIE)
        api.fail_next("sendMessage", 500)
        api.send_text(EMILIE, "/aide")
        await reply_to(api, EMILIE["id"], 3)
        await front.stop()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        app.close()
    assert any(r.startswith("telegram") for r in records), records[:5]
    joined = "\n".join(records)
    assert TOKEN not in joined
    assert TOKEN.split(":")[1] not in joined
    assert code not in joined and code.lower() not in joined.lower()
    assert "[secret]" in joined  # PTB did try to log its URL and the update: masked
    assert "/start [secret]" in joined
    assert "network error (NetworkError), retrying" in joined  # the 500 was retried
