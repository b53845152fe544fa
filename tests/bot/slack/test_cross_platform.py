"""One bot, both fronts: a decision taken in Telegram edits the Slack copy of the request."""

from __future__ import annotations

import pytest

from storage.codes import MembershipStatus
from tests.bot.slack.conftest import SLACK_IDS, TwoFronts, link
from tests.bot.telegram.conftest import EMILIE
from tests.bot.telegram.conftest import link as link_telegram
from tests.handlers.helpers import membership
from tests.support.notifications import new_pending

pytestmark = pytest.mark.asyncio


async def test_a_decision_in_telegram_updates_the_slack_copy(fake, sqlite_engine,
                                                              two_fronts: TwoFronts):  # fmt: skip
    ctx, telegram_api, notifier = two_fronts.ctx, two_fronts.telegram_api, two_fronts.notifier
    assert set(two_fronts.app.transports) == {"slack", "telegram"}
    link(ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")  # Jean-Marc on Slack
    await link_telegram(telegram_api, ctx, EMILIE)  # Emilie on Telegram
    membership_id = new_pending(sqlite_engine, two_fronts.world)
    await notifier.run_once()
    # Jean-Marc's copy, in his direct message on Slack
    [slack_copy] = [
        c for c in fake.of("chat.postMessage") if "Adèle D." in str(c.args.get("blocks"))
    ]
    opened = [c.args.get("users") for c in fake.of("conversations.open")]
    assert SLACK_IDS["jeanmarc"] in opened
    # Emilie decides from her copy on Telegram
    [telegram_copy] = [c for c in telegram_api.sent(EMILIE["id"]) if "Adèle D." in c.text]
    telegram_api.press(EMILIE, telegram_copy, telegram_copy.button("✅ Adèle D.")["callback_data"])
    await telegram_api.wait_for(lambda c: c.method == "editMessageText")
    assert membership(ctx, membership_id).status == MembershipStatus.MEMBER
    await notifier.run_once()
    [update] = [u for u in fake.of("chat.update") if u.args["ts"] == slack_copy.result["ts"]]
    assert update.args["text"].startswith(
        "✅ Adèle D. : demande acceptée dans Arc France par Emilie F. le 17/01/2024 à 10:02"
    )
    assert "actions" not in str(update.args.get("blocks"))  # the buttons are gone
