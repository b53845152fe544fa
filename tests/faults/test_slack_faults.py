"""Faults as a referent lives them on Slack: the real slack-bolt app, the fake Web API answering
5xx, answering too late or dropping the connection, and the database dying mid-press."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.notifier import Notifier
from handlers.outbox.watch_state import ensure_state
from storage import clock
from storage.bot_models import Delivery, WatcherState
from storage.codes import MembershipStatus
from tests.bot.slack.conftest import SLACK_IDS, Bot, fake, link, sqlite_engine, start_bot
from tests.bot.slack.fake_slack_api import block_text
from tests.bot.slack.test_scenarios import find
from tests.faults.conftest import decision_rows
from tests.faults.test_telegram_faults import logged
from tests.handlers.helpers import snapshot
from tests.support.notifications import NoPacing

__all__ = ["fake", "sqlite_engine"]  # fixtures shared with tests/bot/slack
pytestmark = pytest.mark.asyncio
TIMEOUT = 0.5
NOW = "17/01/2024 à 10:02"
#: The list after Pierre L.'s approval from it: it stays, the decision on its line.
OUTCOME = "\n".join(
    [
        "*Demandes en attente : Arc France* (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Jean-Marc M. le {NOW}",
    ]
)


async def running(fake, engine, settings) -> Bot:
    bot = await start_bot(fake, engine, settings, min_interval=0.0)
    bot.front.client.timeout = TIMEOUT  # the Web API calls' timeout (30 s by default)
    link(bot.ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
    return bot


@pytest_asyncio.fixture
async def bot(fake, sqlite_engine, settings) -> AsyncIterator[Bot]:
    started = await running(fake, sqlite_engine, settings)
    yield started
    await started.front.stop()
    started.app.close()


async def listing(bot: Bot):
    await bot.user.command("jeanmarc", "attente")
    (call,) = await bot.fake.wait_for("chat.postMessage")
    return call


def pierre_rows(bot: Bot) -> tuple:
    return decision_rows(bot.ctx, bot.world.memberships[("arc", "pierre")])[:5]


DECIDED_ONCE = (MembershipStatus.MEMBER, None, True, False, 1)


def decided_once(bot: Bot) -> tuple:
    status, _, accepted, refused, audits = DECIDED_ONCE
    return (status, bot.world.users["jeanmarc"], accepted, refused, audits)


@pytest.mark.parametrize("fault", ["500", "late"])
async def test_an_outcome_the_web_api_failed_to_show_comes_through_the_response_url(bot, fault):
    """The decision is taken once; chat.update fails (a 5xx, or no answer in time): the
    outcome replaces the message through the response_url, which cannot show it twice."""
    call = await listing(bot)
    if fault == "500":
        bot.fake.server_error("chat.update")
    else:
        bot.fake.delay("chat.update", TIMEOUT * 3, deliver=False)
    await bot.user.press("jeanmarc", find(call, "approve_listed", "Pierre"), call.result["ts"])
    (answer,) = await bot.fake.wait_for("response_url")
    assert answer.args["replace_original"] is True
    assert block_text(answer.args) == OUTCOME
    assert pierre_rows(bot) == decided_once(bot)


async def test_a_reply_answered_5xx_reaches_the_person_once_another_way(bot):
    bot.fake.server_error("chat.postMessage")
    await bot.user.command("jeanmarc", "attente")
    (answer,) = await bot.fake.wait_for("response_url")
    assert answer.args["replace_original"] is False
    assert block_text(answer.args).startswith("*Demandes en attente : Arc France* (3)")
    assert bot.fake.of("chat.postMessage") == []  # refused, not shown


@pytest.mark.parametrize("fault", ["late", "reset"])
async def test_a_reply_posted_but_unanswered_is_not_posted_twice(bot, fault, caplog):
    if fault == "late":
        bot.fake.delay("chat.postMessage", TIMEOUT * 3)
    else:
        bot.fake.reset("chat.postMessage")
    await bot.user.command("jeanmarc", "attente")
    await logged(caplog, "a reply to Slack failed on the network")  # given up on, not redone
    await bot.user.command("jeanmarc", "aide")  # the bot goes on serving
    await bot.fake.wait_for("chat.postMessage", 2)
    texts = bot.fake.texts("chat.postMessage")
    assert sum(t.startswith("*Demandes en attente") for t in texts) == 1, texts
    assert bot.fake.of("response_url") == []


async def test_a_chart_upload_answered_5xx_leaves_its_caption_and_the_bot_serving(bot):
    await bot.user.command("jeanmarc", "graphique")
    (menu,) = await bot.fake.wait_for("chat.postMessage")
    bot.fake.server_error("files.getUploadURLExternal")
    await bot.user.press("jeanmarc", find(menu, "chart", "Communautés"), menu.result["ts"])
    chart = (await bot.fake.wait_for("chat.postMessage", 2))[1]
    assert block_text(chart.args).startswith("Communautés — Arc France")  # the key numbers
    await bot.fake.wait_for("files.getUploadURLExternal#500")
    assert bot.fake.of("files.completeUploadExternal") == []
    await bot.user.press("jeanmarc", find(chart, "chart_csv"), chart.result["ts"])
    await bot.fake.wait_for("files.completeUploadExternal")  # the next file goes through


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
async def test_database_dies_mid_press_the_person_is_told_and_presses_again(
    fake, proxied, settings
):
    bot = await running(fake, proxied.engine, proxied.ctx.settings)
    try:
        call = await listing(bot)
        before = snapshot(proxied.direct)
        proxied.proxy.cut_when(b"INSERT INTO bot_audit", then_down=True)
        approve = find(call, "approve_listed", "Pierre")
        await bot.user.press("jeanmarc", approve, call.result["ts"])
        (told,) = await fake.wait_for("chat.postEphemeral")
        assert block_text(told.args) == (
            "La base de données est momentanément indisponible : rien n'a été modifié. "
            "Réessayez dans un instant."
        )
        assert told.args["user"] == SLACK_IDS["jeanmarc"]
        assert snapshot(proxied.direct) == before
        proxied.proxy.up()
        await bot.user.press("jeanmarc", approve, call.result["ts"])
        await fake.wait_for("chat.update")
        assert fake.texts("chat.update") == [OUTCOME]
        rows = decision_rows(proxied.direct, bot.world.memberships[("arc", "pierre")])
        assert rows[:5] == (MembershipStatus.MEMBER, bot.world.users["jeanmarc"], True, False, 1)
    finally:
        await bot.front.stop()
        bot.app.close()


# --- The notifier through Slack ------------------------------------------------------------


def slack_notifier(bot: Bot) -> Notifier:
    """A notifier on the bot's App, without pacing; today's reminders marked done."""
    ensure_state(bot.ctx, "reminders_last_day")
    with bot.ctx.sessions() as session, session.begin():
        session.get(WatcherState, "reminders_last_day").value = clock.now().date().isoformat()
    notifier = Notifier(bot.app, interval=0.05)
    notifier.limiter = NoPacing()
    return notifier


def posted_requests(bot: Bot) -> Counter:
    """(channel, request line) of every push Slack posted."""
    return Counter(
        (c.args["channel"], block_text(c.args).split("\n")[1])
        for c in bot.fake.of("chat.postMessage")
        if "Nouvelle demande" in block_text(c.args)
    )


def delivery_states(bot: Bot) -> Counter:
    with bot.ctx.sessions() as session:
        return Counter(session.scalars(select(Delivery.state)))


async def test_a_storm_of_5xx_on_slack_pushes_loses_and_duplicates_nothing(bot):
    bot.fake.server_error("chat.postMessage", 500, times=2)
    bot.fake.server_error("chat.postMessage", 503, times=2)
    notifier = slack_notifier(bot)
    for _ in range(8):
        await notifier.run_once()
        clock.set_now(clock.now() + dt.timedelta(seconds=20))
    assert len(posted_requests(bot)) == 3 and set(posted_requests(bot).values()) == {1}
    assert delivery_states(bot)["sent"] == 3 and "unknown" not in delivery_states(bot)
    assert len(bot.fake.of("chat.postMessage#500")) == 2
    assert len(bot.fake.of("chat.postMessage#503")) == 2


@pytest.mark.parametrize("fault", ["late", "reset"])
async def test_a_slack_push_posted_but_unanswered_is_posted_again_marked_as_a_repeat(bot, fault):
    """At least once (changed by issue 18: it used to be recorded `unknown`, never posted
    again): the one post whose outcome is unknown is posted again, saying it may be a repeat."""
    if fault == "late":
        bot.fake.delay("chat.postMessage", TIMEOUT * 3)
    else:
        bot.fake.reset("chat.postMessage")
    notifier = slack_notifier(bot)
    for _ in range(5):
        await notifier.run_once()
        clock.set_now(clock.now() + dt.timedelta(minutes=10))
    assert len(bot.fake.of("chat.postMessage")) == 4  # one call per request, one repeat
    assert sorted(posted_requests(bot).values()) == [1, 1, 2]
    repeats = [t for t in bot.fake.texts("chat.postMessage") if "peut-être déjà reçu" in t]
    assert len(repeats) == 1 and "Nouvelle demande" in repeats[0]
    assert delivery_states(bot) == {"sent": 3}
    assert all(c.args["channel"] == "D0JEANMARC" for c in bot.fake.of("chat.postMessage"))
