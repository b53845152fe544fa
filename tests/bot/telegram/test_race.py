"""Two moderators press ✅ on the same request at the same moment, through the real front:
exactly one decision, and the other is told who decided first. On every database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handlers.chat.actions import callback_data
from storage.bot_models import AuditEntry
from storage.codes import MembershipStatus
from tests.bot.telegram.conftest import EMILIE, JEANMARC, link
from tests.handlers.helpers import membership

pytestmark = pytest.mark.asyncio
NOW = "17/01/2024 à 10:02"


async def test_two_moderators_approve_at_the_same_moment(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    pierre = world.membership("arc", "pierre")
    data = callback_data("approve", str(pierre))
    api.press(EMILIE, {"message_id": 501}, data)
    api.press(JEANMARC, {"message_id": 502}, data)
    edits = await api.wait_for(lambda c: c.method == "editMessageText", count=2)
    by_chat = {c.chat_id: c.text for c in edits}
    outcomes = sorted(by_chat.values())
    winners = [t for t in outcomes if "demande acceptée" in t]
    losers = [t for t in outcomes if t.startswith("Déjà traité")]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    winner = "Emilie F." if "par Emilie F." in winners[0] else "Jean-Marc M."
    assert losers[0] == (
        f"Déjà traité : Pierre L. a été accepté(e) par {winner} le {NOW}. Rien n'a été modifié."
    )
    answers = await api.wait_for(lambda c: c.method == "answerCallbackQuery", count=2)
    assert sorted("text" in a.params for a in answers) == [False, True]
    row = membership(ctx, pierre)
    expected_admin = world.users["emilie" if winner == "Emilie F." else "jeanmarc"]
    assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, expected_admin)
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
