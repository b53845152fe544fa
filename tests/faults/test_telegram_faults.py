"""Faults as a referent lives them on Telegram: the real python-telegram-bot Application against
the fake Bot API, the database behind a proxy that dies mid-decision, and a Bot API that
answers 5xx, answers too late or drops the connection."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from storage.codes import MembershipStatus
from tests.bot.telegram.conftest import EDDY, EMILIE, api, link, reply_to, telegram_config
from tests.faults.conftest import decision_rows
from tests.handlers.helpers import snapshot

__all__ = ["api"]  # the fake Bot API fixture, shared with tests/bot/telegram
pytestmark = pytest.mark.asyncio
SERVERS = pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
NOW = "17/01/2024 à 10:02"
UNAVAILABLE = (
    "La base de données est momentanément indisponible : rien n'a été modifié. "
    "Réessayez dans un instant."
)
#: The client's timeout in these tests; the fake answers late by more than this.
TIMEOUT = 0.5


async def started(api, engine, ctx) -> TelegramFront:
    app = App(Runtime(telegram_config(api), engine, ctx))
    front = TelegramFront(app, poll_timeout=0.2, request_timeout=TIMEOUT)
    await front.start()
    return front


@pytest_asyncio.fixture
async def front_through(api, proxied, world) -> AsyncIterator[TelegramFront]:
    """The front with its database behind the proxy."""
    front = await started(api, proxied.engine, proxied.ctx)
    yield front
    await front.stop()
    front.app.close()


@pytest_asyncio.fixture
async def front(api, engine, ctx, world) -> AsyncIterator[TelegramFront]:
    front = await started(api, engine, ctx)
    yield front
    await front.stop()
    front.app.close()


async def pending_listing(api, ctx, user=EMILIE):
    await link(api, ctx, user)
    api.send_text(user, "/attente")
    return await reply_to(api, user["id"], 2)


def answers(api, query: str) -> list:
    return [
        c for c in api.sent(None, "answerCallbackQuery") if c.params["callback_query_id"] == query
    ]


async def logged(caplog, text: str, timeout: float = 5.0) -> None:
    """Wait until a log record holds `text` (what the bot did once it gave up on a call)."""
    deadline = time.monotonic() + timeout
    while text not in caplog.text:
        assert time.monotonic() < deadline, f"never logged: {text!r}\n{caplog.text}"
        await asyncio.sleep(0.02)


# --- The database --------------------------------------------------------------------------


@SERVERS
async def test_database_dies_mid_decision_the_referent_is_told_and_presses_again(
    api, front_through, proxied, world
):
    listing = await pending_listing(api, proxied.direct)
    pierre = world.memberships[("arc", "pierre")]
    before = snapshot(proxied.direct)
    proxied.proxy.cut_when(b"INSERT INTO bot_audit", then_down=True)
    query = api.press(EMILIE, listing, listing.button("✅ Pierre L.")["callback_data"])
    told = await reply_to(api, EMILIE["id"], 3)
    assert told.text == UNAVAILABLE  # a message in the chat...
    (toast,) = await api.wait_for(lambda c: c in answers(api, query))
    assert toast.params["text"].startswith("La base de données est momentanément indisponible")
    assert proxied.proxy.fired == "dropped"
    assert snapshot(proxied.direct) == before  # nothing at all, not half a decision
    proxied.proxy.up()
    api.press(EMILIE, listing, listing.button("✅ Pierre L.")["callback_data"])
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert edited.text.splitlines() == [
        "<b>Demandes en attente : Arc France</b> (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
    ]
    assert decision_rows(proxied.direct, pierre)[:5] == (
        MembershipStatus.MEMBER, world.users["emilie"], True, False, 1
    )  # fmt: skip


@SERVERS
async def test_database_unreachable_a_command_gets_the_message_in_the_clients_language(
    api, front_through, proxied, world
):
    await link(api, proxied.direct, EDDY)
    proxied.proxy.down()
    api.send_text(EDDY, "/pending")
    told = await reply_to(api, EDDY["id"], 2)
    assert told.text == (
        "The database is unavailable for a moment: nothing was changed. Please try again shortly."
    )
    proxied.proxy.up()
    api.send_text(EDDY, "/pending")
    listing = await reply_to(api, EDDY["id"], 3)
    assert "LeNord covoiture" in listing.text


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
async def test_commit_answer_lost_the_press_shows_it_was_done_once(
    api, front_through, proxied, world
):
    listing = await pending_listing(api, proxied.direct)
    # The decision's COMMIT, not the one recording the update's key before it
    proxied.proxy.cut_when(b"COMMIT", after=True, once_seen=b"UPDATE community_user")
    api.press(EMILIE, listing, listing.button("✅ Pierre L.")["callback_data"])
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    # The list stays (issue 17): what the bot found, then the requests still pending.
    assert edited.text.splitlines() == [
        "La connexion à la base de données a été coupée pendant l'enregistrement ; le bot a "
        "vérifié :",
        f"Déjà traité : Pierre L. a été accepté(e) par Emilie F. le {NOW}. Rien n'a été modifié.",
        "<b>Demandes en attente : Arc France</b> (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
    ]
    labels = [b["text"] for row in edited.keyboard for b in row]
    assert "✅ Hélène B." in labels and not any("Pierre" in label for label in labels)
    rows = decision_rows(proxied.direct, world.memberships[("arc", "pierre")])
    assert rows[:5] == (MembershipStatus.MEMBER, world.users["emilie"], True, False, 1)


# --- The Bot API ---------------------------------------------------------------------------


@SQLITE
async def test_a_reply_answered_5xx_is_sent_again_and_arrives_once(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.fail_next("sendMessage", 502)
    api.fail_next("sendMessage", 500)
    api.send_text(EMILIE, "/attente")
    await api.wait_for(lambda c: c in api.delivered(EMILIE["id"]), count=2)
    calls = api.sent(EMILIE["id"])
    assert len(calls) == 4  # the link reply, two refusals, the list
    assert [c.text.startswith("<b>Demandes en attente") for c in api.delivered(EMILIE["id"])] == [
        False,
        True,
    ]


@SQLITE
@pytest.mark.parametrize("fault", ["late", "reset"])
async def test_a_reply_delivered_but_unanswered_is_not_sent_twice(
    api, front, ctx, world, fault, caplog
):
    """Telegram had the message, the bot never heard back: no second copy of a list with
    decision buttons; the bot logs it and goes on serving."""
    caplog.set_level(logging.ERROR, "bot.telegram.front")
    await link(api, ctx, EMILIE)
    if fault == "late":
        api.delay_next("sendMessage", TIMEOUT * 3)
    else:
        api.reset_next("sendMessage")
    api.send_text(EMILIE, "/attente")
    await logged(caplog, "telegram: update failed: " + ("TimedOut" if fault == "late" else ""))
    api.send_text(EMILIE, "/aide")  # the next request is served as usual
    await api.wait_for(lambda c: c in api.delivered(EMILIE["id"]), count=3)
    texts = [c.text for c in api.sent(EMILIE["id"])]
    assert len(texts) == 3 and sum("Demandes en attente" in t for t in texts) == 1, texts


@SQLITE
async def test_an_outcome_edit_that_times_out_is_done_again_and_the_decision_once(
    api, front, ctx, world
):
    listing = await pending_listing(api, ctx)
    api.delay_next("editMessageText", TIMEOUT * 3, deliver=False)
    api.press(EMILIE, listing, listing.button("✅ Pierre L.")["callback_data"])
    edits = await api.wait_for(lambda c: c.method == "editMessageText", count=2)
    assert edits[1].result is not None  # the second attempt went through
    assert edits[1].text.splitlines() == [
        "<b>Demandes en attente : Arc France</b> (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
    ]
    rows = decision_rows(ctx, world.memberships[("arc", "pierre")])
    assert rows[:5] == (MembershipStatus.MEMBER, world.users["emilie"], True, False, 1)


@SQLITE
async def test_a_second_press_on_a_second_copy_changes_nothing(api, front, ctx, world):
    """If two copies of the buttons exist anyway (an unanswered send that did arrive, an old
    list), the second press says who decided and changes nothing."""
    first = await pending_listing(api, ctx)
    api.send_text(EMILIE, "/attente")
    second = await reply_to(api, EMILIE["id"], 3)
    api.press(EMILIE, first, first.button("✅ Pierre L.")["callback_data"])
    await reply_to(api, EMILIE["id"], 1, "editMessageText")
    before = snapshot(ctx)
    api.press(EMILIE, second, second.button("❌ Pierre L.")["callback_data"])
    question = await reply_to(api, EMILIE["id"], 4)  # a refusal asks for its reason first
    assert "motif" in question.text.lower()
    api.send_text(EMILIE, "trop tard")
    edited = await reply_to(api, EMILIE["id"], 2, "editMessageText")
    # The second list is updated too: who decided first, then what is left.
    assert edited.text.splitlines() == [
        f"Déjà traité : Pierre L. a été accepté(e) par Emilie F. le {NOW}. Rien n'a été modifié.",
        "<b>Demandes en attente : Arc France</b> (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
    ]
    assert snapshot(ctx) == before
