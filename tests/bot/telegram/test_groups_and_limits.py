"""Groups (/lier, commands addressed to the bot, a group becoming a supergroup) and Telegram's
limits (message size), through the real Application and the fake Bot API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.core.reply import Button, Reply
from storage.bot_models import ChatBinding
from storage.codes import MembershipStatus
from tests.bot.telegram.conftest import EMILIE, STRANGER, link, reply_to
from tests.handlers.helpers import membership, snapshot

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
GROUP = {"id": -200300, "type": "group", "title": "Référents Arc"}


def bindings(ctx) -> list[tuple[str, int, bool]]:
    with ctx.sessions() as session:
        return [
            (b.chat_id, b.community_id, b.active)
            for b in session.scalars(select(ChatBinding).order_by(ChatBinding.id))
        ]


async def test_lier_binds_the_group_and_a_migrated_group_keeps_working(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(STRANGER, "/lier", chat=GROUP)
    refused = await reply_to(api, GROUP["id"], 1)
    assert "n'est pas relié à un compte Pass Pass covoiturage" in refused.text
    assert bindings(ctx) == []
    api.send_text(EMILIE, "/lier@PassPassReferentBot", chat=GROUP)
    bound = await reply_to(api, GROUP["id"], 2)
    assert bound.text == (
        "Ce groupe recevra désormais les nouvelles demandes d'adhésion de Arc France."
    )
    assert bindings(ctx) == [(str(GROUP["id"]), world.communities["arc"], True)]
    # A command for another bot is not ours; group chatter is ignored.
    api.send_text(EMILIE, "/attente@SomeOtherBot", chat=GROUP)
    api.send_text(EMILIE, "bonjour à tous", chat=GROUP)
    # The group became a supergroup: Telegram refuses the old id and names the new one.
    api.fail_next("sendMessage", 400, migrate_to_chat_id=-1009990001)
    api.send_text(EMILIE, "/attente@PassPassReferentBot", chat=GROUP)
    moved = await reply_to(api, -1009990001, 1)
    assert "<b>Demandes en attente : Arc France</b> (3)" in moved.text
    assert len(api.sent(GROUP["id"])) == 3  # /lier x2, then the refused attempt
    assert bindings(ctx) == [("-1009990001", world.communities["arc"], True)]
    # Buttons work in the new supergroup, for a linked moderator.
    supergroup = {"id": -1009990001, "type": "supergroup", "title": "Référents Arc"}
    api.press(EMILIE, moved, moved.button("✅ Pierre L.")["callback_data"], chat=supergroup)
    edited = await reply_to(api, -1009990001, 1, "editMessageText")
    assert edited.params["message_id"] == str(moved.message_id)
    assert edited.text.startswith("<b>Demandes en attente : Arc France</b> (2)")
    assert edited.text.endswith("✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02")
    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.MEMBER


async def test_migration_service_message_moves_the_bindings(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/lier", chat=GROUP)
    await reply_to(api, GROUP["id"], 1)
    api.push(
        {
            "message": {
                "message_id": 9,
                "date": 0,
                "chat": GROUP,
                "from": {**EMILIE, "is_bot": False},
                "migrate_to_chat_id": -1005550001,
            }
        }
    )
    for _ in range(300):
        if bindings(ctx)[0][0] == "-1005550001":
            break
        import asyncio

        await asyncio.sleep(0.01)
    assert bindings(ctx) == [("-1005550001", world.communities["arc"], True)]


async def test_a_refusal_reason_in_a_group_is_a_forced_reply(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente", chat=GROUP)
    listing = await reply_to(api, GROUP["id"], 1)
    before = snapshot(ctx)
    api.press(STRANGER, listing, listing.button("❌ Pierre L.")["callback_data"], chat=GROUP)
    answer = await api.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert "n'est pas relié" in answer[0].params["text"]
    api.press(EMILIE, listing, listing.button("❌ Pierre L.")["callback_data"], chat=GROUP)
    prompt = await api.wait_for(lambda c: c.method == "sendMessage" and "Motif du refus" in c.text)
    assert prompt[0].params["reply_markup"] == {"force_reply": True, "selective": True}
    assert 'href="tg://user?id=1001"' in prompt[0].text
    # Someone else's message in the group is not her answer.
    api.send_text(
        STRANGER, "ceci n'est pas un motif", chat=GROUP, reply_to_message=prompt[0].result
    )
    buttons = await api.wait_for(
        lambda c: (
            c.method == "sendMessage" and c.keyboard and "Refuser sans motif" in str(c.keyboard)
        )
    )
    assert snapshot(ctx) == before
    api.send_text(
        EMILIE, "Ne travaille pas chez Arc", chat=GROUP, reply_to_message=prompt[0].result
    )
    edited = await reply_to(api, GROUP["id"], 1, "editMessageText")
    assert edited.params["message_id"] == str(listing.message_id)
    assert edited.text.endswith("Motif : Ne travaille pas chez Arc")
    assert buttons  # the skip/cancel keyboard followed the prompt


async def test_a_long_reply_is_sent_in_pieces_with_the_buttons_last(api, front, ctx, world):
    lines = "\n".join(
        f"• Personne {n:04d} — en attente — demandé le 17/01/2024" for n in range(300)
    )
    reply = Reply(lines, ((Button("Suivant ▶", "pending", "1:1"),),))
    await front.show(4242, reply)
    sent = api.sent(4242)
    assert len(sent) >= 3
    assert all(len(c.text) <= 4096 for c in sent)
    assert [bool(c.keyboard) for c in sent] == [False] * (len(sent) - 1) + [True]
    assert "\n".join(c.text for c in sent) == lines


async def test_something_else_than_text_in_private_gets_a_hint(api, front, ctx, world):
    sender = {**EMILIE, "is_bot": False}
    chat = {"id": EMILIE["id"], "type": "private", "first_name": "Emilie"}
    location = {"latitude": 50.63, "longitude": 3.06}
    api.push({"message": {"message_id": 3, "date": 0, "chat": chat, "from": sender,
                          "location": location}})  # fmt: skip
    hint = await reply_to(api, EMILIE["id"], 1)
    assert hint.text.startswith("Envoyez une commande (par exemple /aide)")
    api.push({"message": {"message_id": 4, "date": 0, "chat": GROUP, "from": sender,
                          "location": location}})  # fmt: skip
    api.send_text(EMILIE, "/aide", chat=GROUP)
    await reply_to(api, GROUP["id"], 1)
    assert len(api.sent(GROUP["id"])) == 1  # the location in the group got no answer
