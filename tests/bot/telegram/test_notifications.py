"""Pending-member push through the real Telegram front: the notifier's Telegram transport."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import clock
from storage.bot_models import ChatIdentity, Delivery
from storage.codes import MembershipStatus
from tests.bot.telegram.conftest import EMILIE, JEANMARC, link
from tests.handlers.helpers import membership
from tests.support.notifications import new_pending, notifier_for

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
GROUP = {"id": -100200, "type": "group", "title": "Covoiturage Arc France"}


def about(api, chat_id, name: str, method: str = "sendMessage"):
    return [c for c in api.sent(chat_id, method) if name in c.text]


async def test_a_request_from_the_web_admin_reaches_every_decider_and_a_decision_edits_all(
    api, front, ctx, world, engine
):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    api.send_text(EMILIE, "/lier", chat=GROUP)
    await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == str(GROUP["id"]))
    membership_id = new_pending(engine, world)  # written straight into the database
    notifier = notifier_for(front)
    await notifier.run_once()
    for chat in (EMILIE["id"], JEANMARC["id"], GROUP["id"]):
        [copy] = about(api, chat, "Adèle D.")
        assert copy.text.startswith("🔔 <b>Nouvelle demande d'adhésion : Arc France</b>")
        assert "Adèle D. — arcfrance.fr ✓ domaine — demandé le 17/01/2024" in copy.text
        assert copy.button("✅ Adèle D.")["callback_data"] == f"approve|{membership_id}"
    # Jean-Marc decides from his copy; the other copies are edited to show it.
    [his] = about(api, JEANMARC["id"], "Adèle D.")
    api.press(JEANMARC, his, his.button("✅ Adèle D.")["callback_data"])
    await api.wait_for(lambda c: c.method == "answerCallbackQuery")
    await api.wait_for(lambda c: c.method == "editMessageText" and c.chat_id == str(JEANMARC["id"]))
    assert membership(ctx, membership_id).status == MembershipStatus.MEMBER
    await notifier.run_once()
    for chat in (EMILIE["id"], GROUP["id"]):
        [edited] = about(api, chat, "Adèle D.", "editMessageText")
        assert edited.text == (
            "✅ Adèle D. : demande acceptée dans Arc France par Jean-Marc M. le 17/01/2024 à 10:02."
        )
        assert edited.keyboard == []
    await notifier.run_once()  # nothing sent twice
    assert len(about(api, EMILIE["id"], "Adèle D.")) == 1


async def test_flood_control_is_waited_out_and_a_blocked_bot_marks_the_person_inactive(
    api, front, ctx, world, engine
):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    new_pending(engine, world)
    notifier = notifier_for(front)
    api.fail_next("sendMessage", 429, retry_after=5)
    api.fail_next("sendMessage", 403)
    await notifier.run_once()
    with ctx.sessions() as session:
        identities = {i.external_id: i.active for i in session.scalars(select(ChatIdentity)).all()}
        waiting = session.scalars(select(Delivery).where(Delivery.state == "pending")).all()
    blocked = [chat for chat, active in identities.items() if not active]
    assert len(blocked) == 1  # the second send got the 403
    assert len(waiting) == 1 and "429" in waiting[0].last_error
    assert waiting[0].next_attempt_at == clock.now() + dt.timedelta(seconds=5)
    clock.set_now(clock.now() + dt.timedelta(seconds=6))
    await notifier.run_once()
    with ctx.sessions() as session:
        states = [d.state for d in session.scalars(select(Delivery)).all()]
    assert "pending" not in states and states.count("inactive") == 1
