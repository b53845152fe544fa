"""Buttons that need text or a file: what handlers/chat/pending_input.py decides, and how the
Telegram front carries it (expiry, a file where text was expected, a document's community)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from handlers.chat import pending_input
from handlers.chat.pending_input import asks, button_data, resolve
from handlers.community import admin, members, pending, settings
from handlers.core.reply import Image, Reply
from storage import clock
from storage.bot_models import PendingInput
from storage.codes import MembershipStatus, ValidationType
from tests.bot.telegram.conftest import EMILIE, OPERATOR, link, reply_to
from tests.handlers.helpers import actor, community, membership, snapshot

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_inputs_the_front_asks_for_are_the_ones_the_use_cases_render(ctx, world, language):
    """Telegram only sees callback data: the input an action declares must match each of its
    buttons' InputRequest."""
    referent = actor(ctx, world, "jeanmarc")
    referent = type(referent)(**{**referent.__dict__, "language": language})
    arc = world.communities["arc"]
    replies = [
        pending.list_pending(ctx, referent, arc),
        settings.validation_menu(ctx, referent, arc),
        members.list_members(ctx, referent, arc, "a", 0, None),
        admin.community_card(ctx, referent, arc),
        # A push's buttons (a request alone, not a list).
        Reply(
            "", (pending.decision_buttons(language, pending.PendingRequest(1, "A", "", "", None)),)
        ),
    ]
    asking = [b for r in replies for b in r.all_buttons if b.input is not None]
    assert {"refuse", "refuse_listed", "domains", "identifiers", "members_search"} <= {
        b.action for b in asking
    }
    for button in asking:
        declared = asks(button.action)
        if declared is not None:
            assert declared(language) == button.input, button.action
            assert button_data(button) == (button.action, button.ref)
        else:  # an input button added elsewhere: marked, so that its press still asks
            action, ref = button_data(button)
            assert action.startswith("~") and action.endswith(button.action), action
            assert resolve(action, language, button.label)[1].kind == button.input.kind
    plain = [b for r in replies for b in r.all_buttons if b.input is None]
    assert not [b.action for b in plain if asks(b.action) is not None]
    assert all(button_data(b) == (b.action, b.ref) for b in plain)


@pytest.mark.asyncio
async def test_an_input_button_unknown_to_inputs_still_asks(api, front, ctx, world, monkeypatch):
    """A button another feature renders with an InputRequest works though its action declares
    no input."""
    declared = pending_input.asks
    monkeypatch.setattr(
        pending_input, "asks", lambda action: None if action == "domains" else declared(action)
    )
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/parametres")
    card = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, card, card.button("Type de validation")["callback_data"])
    menu = await reply_to(api, EMILIE["id"], 3)
    data = menu.button("validation par domaine")["callback_data"]
    assert data == f"~tdomains|{world.communities['arc']}"
    # The fake echoes the keyboard in the pressed message, as Telegram does.
    api.press(
        EMILIE, {"message_id": menu.message_id, "reply_markup": menu.params["reply_markup"]}, data
    )
    prompt = await reply_to(api, EMILIE["id"], 4)
    assert prompt.text == "validation par domaine : envoyez votre réponse en message."
    api.send_text(EMILIE, "arcfrance.fr")
    done = await api.wait_for(lambda c: c.method == "editMessageText")
    assert "type de validation changé en <b>validation par domaine</b>" in done[0].text
    assert community(ctx, world.communities["arc"]).domain == "arcfrance.fr"
    forged = "~xdomains|" + str(world.communities["arc"])
    query = api.press(EMILIE, {"message_id": menu.message_id}, forged)
    refused = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query
    )
    assert refused[0].params["text"].startswith("Ce bouton n'est pas valide")


@pytest.mark.asyncio
async def test_an_expired_question_is_forgotten(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, listing, listing.button("❌ Pierre L.")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 3)
    with ctx.sessions() as session:
        row = session.scalars(select(PendingInput)).one()
    assert (row.action, row.chat_id, row.external_id) == ("refuse_listed", "1001", "1001")
    assert row.expires_at - row.created_at == dt.timedelta(minutes=10)
    before = snapshot(ctx)
    clock.set_now(clock.now() + dt.timedelta(minutes=11))
    api.send_text(EMILIE, "trop tard")
    late = await reply_to(api, EMILIE["id"], 4)
    assert "Commande inconnue : « trop »" in late.text
    query = api.press(EMILIE, prompt, prompt.button("Refuser sans motif")["callback_data"])
    expired = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query
    )
    assert expired[0].params["text"].startswith("Cette question a expiré")
    assert snapshot(ctx) == before
    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.PENDING


@pytest.mark.asyncio
async def test_cancel_and_a_command_both_abandon_the_question(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/parametres")
    card = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, card, card.button("Type de validation")["callback_data"])
    menu = await reply_to(api, EMILIE["id"], 3)
    api.press(EMILIE, menu, menu.button("validation par domaine")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 4)
    api.press(EMILIE, prompt, prompt.button("Annuler")["callback_data"])
    cancelled = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert cancelled.params["message_id"] == str(prompt.message_id)
    assert cancelled.text == "Annulé : rien n'a été modifié."
    api.press(EMILIE, menu, menu.button("validation par domaine")["callback_data"])
    await reply_to(api, EMILIE["id"], 5)
    api.send_text(EMILIE, "/aide")
    await reply_to(api, EMILIE["id"], 6)
    with ctx.sessions() as session:
        assert session.scalars(select(PendingInput)).all() == []
    api.send_text(EMILIE, "arcfrance.fr")
    unknown = await reply_to(api, EMILIE["id"], 7)
    assert "Commande inconnue" in unknown.text
    assert community(ctx, world.communities["arc"]).validation_type == ValidationType.MANUAL


@pytest.mark.asyncio
async def test_an_operator_picks_the_community_of_a_file_then_sends_it(api, front, ctx, world):
    await link(api, ctx, OPERATOR)
    before = snapshot(ctx)
    api.send_document(OPERATOR, "gsk.csv", b"a;b\n")
    which = await reply_to(api, OPERATOR["id"], 2)
    assert which.text.startswith("Pour quelle communauté est ce fichier d'identifiants ?")
    assert snapshot(ctx) == before
    api.press(OPERATOR, which, which.button("GSK Saint Amand les Eaux")["callback_data"])
    prompt = await reply_to(api, OPERATOR["id"], 3)
    assert prompt.text.startswith("Envoyez le fichier des identifiants autorisés")
    api.send_text(OPERATOR, "voici")
    wait = await reply_to(api, OPERATOR["id"], 4)
    assert wait.text.startswith("J'attends un fichier, pas un texte.")
    api.send_document(OPERATOR, "gsk.csv", b"a;b\nc;d\n")
    done = await reply_to(api, OPERATOR["id"], 1, "editMessageText")
    assert done.params["message_id"] == str(which.message_id)  # the question shows the outcome
    assert done.text.startswith("GSK Saint Amand les Eaux : <b>validation sécurisée</b> activée")
    assert community(ctx, world.communities["gsk"]).validation_type == ValidationType.SECURED
    assert community(ctx, world.communities["arc"]).validation_type == ValidationType.MANUAL


@pytest.mark.asyncio
async def test_member_search_typed_as_a_reply(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/membres")
    listing = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, listing, listing.button("Chercher un membre")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 3)
    assert prompt.text == "Nom ou prénom à chercher :"
    api.send_text(EMILIE, "Hennebert")
    found = await reply_to(api, EMILIE["id"], 4)
    assert "Recherche : « Hennebert »" in found.text
    assert "Marion H." in found.text and "Pierre L." not in found.text


@pytest.mark.asyncio
async def test_images_and_files_of_a_reply(api, front):
    png = b"\x89PNG\r\n\x1a\nfake"
    reply = Reply(
        "**Indicateurs**",
        images=(Image(png, "Trajets réalisés par mois", "courbe", "trajets.png"),),
        files=(("trajets.csv", b"period,series,value\n"),),
    )
    await front.show(4242, reply)
    photo = api.sent(4242, "sendPhoto")[0]
    assert photo.params["caption"] == "Trajets réalisés par mois"
    assert photo.files["photo"] == ("trajets.png", png)
    document = api.sent(4242, "sendDocument")[0]
    assert document.files["document"] == ("trajets.csv", b"period,series,value\n")
    assert api.methods()[-3:] == ["sendMessage", "sendPhoto", "sendDocument"]


@pytest.mark.asyncio
async def test_language_then_the_chart_menu(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/langue en")
    changed = await reply_to(api, EMILIE["id"], 2)
    assert changed.text.startswith("The bot's messages are now in English")
    api.send_text(EMILIE, "/chart")
    menu = await reply_to(api, EMILIE["id"], 3)
    assert menu.text.startswith("<b>Dashboard: Arc France</b>")  # now in English
    assert menu.keyboard
    query = api.press(EMILIE, menu, menu.keyboard[0][0]["callback_data"])
    await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query
    )
    await api.wait_for(
        lambda c: c.chat_id == "1001" and c.method in ("sendMessage", "sendPhoto"), count=4
    )
