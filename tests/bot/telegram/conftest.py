"""The real python-telegram-bot Application against the fake Bot API server, on a test world."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.config import Config, TelegramConfig
from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.linking import issue_link_code
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi

EMILIE = {"id": 1001, "first_name": "Emilie", "last_name": "Fournier", "language_code": "fr"}
JEANMARC = {"id": 1002, "first_name": "Jean-Marc", "last_name": "Morel", "language_code": "fr"}
EDDY = {"id": 1003, "first_name": "Eddy", "language_code": "en"}
OPERATOR = {"id": 1004, "first_name": "Opérateur", "language_code": "fr"}
STRANGER = {"id": 6666, "first_name": "Inconnu", "language_code": "fr"}
EMAILS = {
    1001: "emilie.fournier@arcfrance.fr",
    1002: "jean-marc.morel@arcfrance.fr",
    1003: "eddy.lefebvre@lenord.fr",
    1004: "operateur@hautsdefrance-mobilites.fr",
}


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def telegram_config(api: FakeBotApi, **overrides) -> Config:
    return Config(
        telegram=TelegramConfig(
            enabled=True,
            token=TOKEN,
            api_base_url=api.base_url,
            bot_username=BOT_USERNAME,
            **overrides,
        )
    )


@pytest_asyncio.fixture
async def front(api, engine, ctx, world) -> AsyncIterator[TelegramFront]:
    app = App(Runtime(telegram_config(api), engine, ctx))
    telegram = TelegramFront(app, poll_timeout=0.2)
    await telegram.start()
    yield telegram
    await telegram.stop()
    app.close()


async def link(api: FakeBotApi, ctx, user: dict) -> str:
    """Link a Telegram user the way a referent does: /start with a fresh code."""
    code = issue_link_code(ctx, EMAILS[user["id"]]).code
    before = len(api.sent(user["id"]))
    api.send_text(user, f"/start {code}")
    await api.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == str(user["id"]), count=before + 1
    )
    assert "Compte relié" in api.sent(user["id"])[-1].text or "Account linked" in (
        api.sent(user["id"])[-1].text
    )
    return code


async def reply_to(api: FakeBotApi, chat_id, count: int, method: str = "sendMessage"):
    """The `count`-th call of `method` to `chat_id`, once it is there."""
    found = await api.wait_for(
        lambda c: c.method == method and c.chat_id == str(chat_id), count=count
    )
    return found[count - 1]
