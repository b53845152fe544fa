"""One bot, both fronts: a decision taken in Telegram edits the Slack copy of the request."""

from __future__ import annotations

import dataclasses

import pytest

from bot.notifier import Notifier
from bot.runtime import App
from bot.slack.front import SlackFront
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.core.context import Context
from storage.codes import MembershipStatus
from storage.engine import make_sessionmaker
from tests.bot.slack.conftest import SLACK_IDS, link, slack_config
from tests.bot.telegram.conftest import EMILIE, telegram_config
from tests.bot.telegram.conftest import link as link_telegram
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.handlers.helpers import membership
from tests.support.notifications import NoPacing, new_pending
from tests.support.world import build_world

pytestmark = pytest.mark.asyncio


async def test_a_decision_in_telegram_updates_the_slack_copy(fake, sqlite_engine, settings):
    world = build_world(sqlite_engine)
    telegram_api = FakeBotApi()
    await telegram_api.start()
    config = dataclasses.replace(
        slack_config(fake), telegram=telegram_config(telegram_api).telegram
    )
    settings = dataclasses.replace(settings, reminder_days=365, operators_reminder_days=365)
    ctx = Context(sessions=make_sessionmaker(sqlite_engine), settings=settings)
    app = App(Runtime(config, sqlite_engine, ctx))
    slack = SlackFront(app, min_interval=0.0)
    telegram = TelegramFront(app, poll_timeout=0.2)
    await slack.start()
    await telegram.start()
    try:
        assert set(app.transports) == {"slack", "telegram"}
        link(ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")  # Jean-Marc on Slack
        await link_telegram(telegram_api, ctx, EMILIE)  # Emilie on Telegram
        membership_id = new_pending(sqlite_engine, world)
        notifier = Notifier(app, interval=0.05)
        notifier.limiter = NoPacing()
        await notifier.run_once()
        # Jean-Marc's copy, in his direct message on Slack
        [slack_copy] = [
            c for c in fake.of("chat.postMessage") if "Adèle D." in str(c.args.get("blocks"))
        ]
        opened = [c.args.get("users") for c in fake.of("conversations.open")]
        assert SLACK_IDS["jeanmarc"] in opened
        # Emilie decides from her copy on Telegram
        [telegram_copy] = [c for c in telegram_api.sent(EMILIE["id"]) if "Adèle D." in c.text]
        telegram_api.press(
            EMILIE, telegram_copy, telegram_copy.button("✅ Adèle D.")["callback_data"]
        )
        await telegram_api.wait_for(lambda c: c.method == "editMessageText")
        assert membership(ctx, membership_id).status == MembershipStatus.MEMBER
        await notifier.run_once()
        [update] = [u for u in fake.of("chat.update") if u.args["ts"] == slack_copy.result["ts"]]
        assert update.args["text"].startswith(
            "✅ Adèle D. : demande acceptée dans Arc France par Emilie F. le 17/01/2024 à 10:02"
        )
        assert "actions" not in str(update.args.get("blocks"))  # the buttons are gone
    finally:
        await telegram.stop()
        await slack.stop()
        app.close()
        await telegram_api.stop()
