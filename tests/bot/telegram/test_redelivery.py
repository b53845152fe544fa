"""Two replicas in webhook mode behind one address: Telegram posts an update again when it got
no 200 in time, and the proxy may hand the copy to the other replica. Each update is handled
once; a new update with the same content is still handled."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.actions import callback_data
from handlers.chat.linking import issue_link_code
from storage.bot_models import AuditEntry, ChatIdentity, LinkCode
from storage.codes import MembershipStatus
from tests.bot.telegram.conftest import EMILIE, telegram_config
from tests.bot.telegram.fake_bot_api import BOT_ID
from tests.bot.telegram.test_webhook_and_logs import free_port
from tests.handlers.helpers import membership

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
SECRET = "replica-secret-0123456789"
PRIVATE = {"id": EMILIE["id"], "type": "private", "first_name": "Emilie"}


def text_update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": int(time.time()), "chat": PRIVATE,
            "from": {**EMILIE, "is_bot": False}, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }  # fmt: skip


def press_update(update_id: int, shown: dict, data: str) -> dict:
    """A press on a button of `shown`, a message the bot sent (as the fake recorded it)."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}", "from": {**EMILIE, "is_bot": False}, "chat_instance": "ci",
            "data": data,
            "message": {**shown, "chat": PRIVATE,
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "bot"}},
        },
    }  # fmt: skip


async def test_a_copy_posted_to_the_other_replica_is_answered_200_and_ignored(
    api, engine, ctx, world
):
    ports = [free_port(), free_port()]
    replicas = []
    for port in ports:
        config = telegram_config(
            api, mode="webhook", webhook_url="https://bot.example.org/telegram/webhook",
            webhook_secret=SECRET, listen_host="127.0.0.1", listen_port=port,
        )  # fmt: skip
        app = App(Runtime(config, engine, ctx))
        front = TelegramFront(app)
        await front.start()
        replicas.append((app, front))
    urls = [f"http://127.0.0.1:{port}/telegram/webhook" for port in ports]
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def post(http, replica: int, update: dict) -> None:
        async with http.post(urls[replica], data=json.dumps(update), headers=headers) as r:
            assert r.status == 200

    def replies() -> list[str]:
        return [c.text for c in api.sent(EMILIE["id"])]

    try:
        code = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
        async with aiohttp.ClientSession() as http:
            start = text_update(1, f"/start {code}")
            await post(http, 0, start)
            await post(http, 1, start)  # the redelivery, to the other replica
            await api.wait_for(lambda c: c.method == "sendMessage")
            await post(http, 1, text_update(2, "/attente"))
            listing = (await api.wait_for(lambda c: c.method == "sendMessage", count=2))[1]
            pierre = world.membership("arc", "pierre")
            press = press_update(3, listing.result, callback_data("approve", str(pierre)))
            await post(http, 0, press)
            await post(http, 1, press)
            await post(http, 0, press)
            await api.wait_for(lambda c: c.method == "editMessageText")
            for update_id in (4, 5):  # the same words, two updates: both answered
                await post(http, update_id % 2, text_update(update_id, "/aide"))
            await api.wait_for(lambda c: c.method == "sendMessage", count=4)
            await asyncio.sleep(0.3)  # room for a wrongly handled copy to show up
    finally:
        for app, front in replicas:
            await front.stop()
            app.close()
    assert len(api.sent(None, "setWebhook")) == 2  # each replica registers the same address
    assert len(replies()) == 4, replies()
    assert replies()[0].startswith("Compte relié")  # once: a second try would say "déjà utilisé"
    assert replies()[1].startswith("<b>Demandes en attente : Arc France</b> (3)")
    assert replies()[2] == replies()[3]
    answers = api.sent(None, "answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answers] == ["q3"]
    assert "text" not in answers[0].params  # not a refusal ("already decided")
    [edit] = api.sent(None, "editMessageText")
    assert edit.text.startswith("✅ Pierre L. : demande acceptée dans Arc France par Emilie F.")
    assert membership(ctx, pierre).status == MembershipStatus.MEMBER
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert session.scalar(select(func.count()).select_from(ChatIdentity)) == 1
        assert session.scalar(select(func.count()).select_from(LinkCode)) == 1
