"""A referent's day on Telegram, end to end: the real Application, the fake Bot API, SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.chat.actions import callback_data
from handlers.chat.linking import issue_link_code
from storage.bot_models import AuditEntry, ChatIdentity, PendingInput
from storage.codes import MembershipStatus, ValidationType
from storage.models import CommunityUser
from tests.bot.telegram.conftest import EDDY, EMILIE, JEANMARC, OPERATOR, STRANGER, link, reply_to
from tests.handlers.helpers import add_members, audit_entries, community, membership, snapshot

#: A refusal about a community the person does not administer (never its name).
NOT_ADMINISTERED = "introuvable parmi celles que vous administrez"

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
NOW = "17/01/2024 à 10:02"


async def test_start_publishes_the_commands_in_french_and_english(api, front):
    menus = {
        c.params.get("language_code"): c.params["commands"] for c in api.sent(None, "setMyCommands")
    }
    assert set(menus) == {"fr", "en", None}
    french = {c["command"]: c["description"] for c in menus["fr"]}
    assert french["attente"] == "Demandes en attente d'une communauté"
    assert {
        "communautes",
        "membres",
        "parametres",
        "historique",
        "graphique",
        "langue",
        "aide",
        "lier",
        "delier",
    } <= set(french)
    english = {c["command"] for c in menus["en"]}
    assert {
        "communities",
        "pending",
        "members",
        "settings",
        "history",
        "chart",
        "language",
        "help",
        "bind",
        "unlink",
    } <= english
    assert menus[None] == menus["fr"]


async def test_linking_with_start_code_and_what_an_unlinked_person_gets(api, front, ctx, world):
    api.send_text(STRANGER, "/attente")
    told = await reply_to(api, STRANGER["id"], 1)
    assert "n'est pas relié à un compte Pass Pass covoiturage" in told.text
    assert told.keyboard == []
    api.send_text(STRANGER, "/start ABCDEFGHJK")
    wrong = await reply_to(api, STRANGER["id"], 2)
    assert "Ce code de liaison n'est pas valide" in wrong.text
    api.send_text(STRANGER, "bonjour")
    chatter = await reply_to(api, STRANGER["id"], 3)
    assert "n'est pas relié" in chatter.text
    await link(api, ctx, EMILIE)
    linked = api.sent(EMILIE["id"])[-1]
    assert linked.text.startswith("Compte relié : vous êtes maintenant Emilie F. (emilie.fournier@")
    assert linked.params["parse_mode"] == "HTML"
    with ctx.sessions() as session:
        identity = session.scalars(select(ChatIdentity)).one()
    assert (identity.platform, identity.external_id, identity.user_id, identity.active) == (
        "telegram",
        "1001",
        world.users["emilie"],
        True,
    )
    api.send_text(EMILIE, "/delier")
    unlinked = await reply_to(api, EMILIE["id"], 2)
    assert unlinked.text.startswith("Compte délié")
    with ctx.sessions() as session:
        assert session.scalars(select(ChatIdentity)).all() == []


async def test_the_code_sent_alone_links_as_the_not_linked_message_says(api, front, ctx, world):
    """error.not_linked says "...puis envoyez-le au bot": the code alone, in private, links;
    in a group it is chatter."""
    code = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
    api.send_text(STRANGER, "/attente")
    told = await reply_to(api, STRANGER["id"], 1)
    assert "puis envoyez-le au bot" in told.text
    api.send_text(EMILIE, code, chat={"id": -200300, "type": "group", "title": "Référents"})
    api.send_text(EMILIE, code.lower())
    linked = await reply_to(api, EMILIE["id"], 1)
    assert linked.text.startswith("Compte relié : vous êtes maintenant Emilie F.")
    assert api.sent(-200300) == []
    api.send_text(STRANGER, "ABCDEFGHJK")
    wrong = await reply_to(api, STRANGER["id"], 2)
    assert "Ce code de liaison n'est pas valide" in wrong.text


async def test_communities_list_with_pending_counts(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/communautes")
    listing = await reply_to(api, EMILIE["id"], 2)
    assert "<b>Vos communautés</b> (1)" in listing.text
    assert f"• Arc France (n° {world.communities['arc']}) : 3 membres, 3 en attente" in listing.text
    assert listing.button("Arc France (3 en attente)")["callback_data"] == callback_data(
        "card", str(world.communities["arc"])
    )


async def test_approve_by_button_edits_the_message_with_who_and_when(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], 2)
    assert "<b>Demandes en attente : Arc France</b> (3)" in listing.text
    button = listing.button("✅ Pierre L.")
    query = api.press(EMILIE, listing, button["callback_data"])
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert edited.params["message_id"] == str(listing.message_id)
    # The list stays, the decision on its line.
    assert edited.text.splitlines() == [
        "<b>Demandes en attente : Arc France</b> (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
    ]
    assert "Pierre" not in str(edited.keyboard)
    answers = await api.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert answers[0].params["callback_query_id"] == query
    assert "text" not in answers[0].params
    row = membership(ctx, world.membership("arc", "pierre"))
    assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, world.users["emilie"])
    assert audit_entries(ctx)[-1].front == "telegram"


async def test_refuse_with_a_reason_given_by_replying(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, listing, listing.button("❌ Hélène B.")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 3)
    assert prompt.text.startswith("Motif du refus (facultatif")
    assert [b["text"] for row in prompt.keyboard for b in row] == ["Refuser sans motif", "Annuler"]
    assert membership(ctx, world.membership("arc", "helene")).status == MembershipStatus.PENDING
    api.send_text(EMILIE, "Adresse <perso> & hors entreprise", reply_to_message=prompt.result)
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert edited.params["message_id"] == str(listing.message_id)
    assert edited.text.splitlines()[-2:] == [
        f"❌ Hélène B. : refusée par Emilie F. le {NOW}",
        "Motif : Adresse &lt;perso&gt; &amp; hors entreprise",
    ]
    assert membership(ctx, world.membership("arc", "helene")).status == MembershipStatus.REFUSED
    entry = audit_entries(ctx)[-1]
    assert (entry.action, entry.reason) == ("refuse", "Adresse <perso> & hors entreprise")
    with ctx.sessions() as session:
        assert session.scalars(select(PendingInput)).all() == []
    # The next message is a message again, not a reason.
    api.send_text(EMILIE, "Hors entreprise")
    after = await reply_to(api, EMILIE["id"], 4)
    assert "Commande inconnue" in after.text
    assert len(audit_entries(ctx)) == 1


async def test_refuse_without_a_reason_from_the_prompt(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, listing, listing.button("❌ Pierre L.")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 3)
    api.press(EMILIE, prompt, prompt.button("Refuser sans motif")["callback_data"])
    edited = await api.wait_for(lambda c: c.method == "editMessageText")
    assert edited[0].params["message_id"] == str(listing.message_id)
    assert edited[0].text.splitlines()[-1] == f"❌ Pierre L. : refusée par Emilie F. le {NOW}"
    cleared = await api.wait_for(lambda c: c.method == "editMessageReplyMarkup")
    assert cleared[0].params["message_id"] == str(prompt.message_id)
    assert audit_entries(ctx)[-1].reason is None
    assert len(api.sent(None, "answerCallbackQuery")) == 2


async def test_several_decisions_in_a_row_on_one_list_message(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], 2)
    arc = world.communities["arc"]
    m = world.memberships

    api.press(EMILIE, listing, listing.button("✅ Pierre L.")["callback_data"])
    first = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert first.params["message_id"] == str(listing.message_id)
    assert first.text.splitlines() == [
        "<b>Demandes en attente : Arc France</b> (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
    ]
    assert [[(b["text"], b["callback_data"]) for b in row] for row in first.keyboard] == [
        [
            ("✅ Hélène B.", f"approve_listed|{m[('arc', 'helene')]}:{arc}:0"),
            ("❌ Hélène B.", f"refuse_listed|{m[('arc', 'helene')]}:{arc}:0"),
        ],
        [
            ("✅ François B.", f"approve_listed|{m[('arc', 'francois')]}:{arc}:0"),
            ("❌ François B.", f"refuse_listed|{m[('arc', 'francois')]}:{arc}:0"),
        ],
        [("Tout accepter (2)", f"approve_all|{arc}"), ("Tout refuser (2)", f"refuse_all|{arc}")],
    ]

    # A refusal from the edited list: the reason is asked, the answer edits the list again.
    api.press(EMILIE, first, first.button("❌ Hélène B.")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 3)
    assert prompt.text.startswith("Motif du refus (facultatif")
    api.send_text(EMILIE, "Hors périmètre", reply_to_message=prompt.result)
    second = await reply_to(api, EMILIE["id"], 2, "editMessageText")
    assert second.params["message_id"] == str(listing.message_id)
    assert second.text.splitlines() == [
        "<b>Demandes en attente : Arc France</b> (1)",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
        f"❌ Hélène B. : refusée par Emilie F. le {NOW}",
        "Motif : Hors périmètre",
    ]
    assert [b["text"] for row in second.keyboard for b in row] == [
        "✅ François B.",
        "❌ François B.",
        "Tout accepter (1)",
        "Tout refuser (1)",
    ]

    api.press(EMILIE, second, second.button("✅ François B.")["callback_data"])
    last = await reply_to(api, EMILIE["id"], 3, "editMessageText")
    assert last.params["message_id"] == str(listing.message_id)
    assert last.text.splitlines() == [
        "Aucune demande en attente pour Arc France.",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW}",
        f"❌ Hélène B. : refusée par Emilie F. le {NOW}",
        f"✅ François B. : acceptée par Emilie F. le {NOW}",
    ]
    assert not last.keyboard
    assert len(api.sent(EMILIE["id"])) == 3  # linked, the list, the prompt: nothing else sent
    statuses = [membership(ctx, m[("arc", p)]).status for p in ("pierre", "helene", "francois")]
    assert statuses == [MembershipStatus.MEMBER, MembershipStatus.REFUSED, MembershipStatus.MEMBER]


async def test_a_list_button_pressed_after_someone_else_decided(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], 2)
    with ctx.sessions() as session, session.begin():  # the web admin, meanwhile
        row = session.get(CommunityUser, world.membership("arc", "pierre"))
        row.status = MembershipStatus.REFUSED
    before = snapshot(ctx)
    query = api.press(EMILIE, listing, listing.button("✅ Pierre L.")["callback_data"])
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert edited.params["message_id"] == str(listing.message_id)
    assert edited.text.splitlines()[0].startswith("Déjà traité : Pierre L. a déjà été refusé(e)")
    assert edited.text.splitlines()[1] == "<b>Demandes en attente : Arc France</b> (2)"
    assert "Pierre" not in str(edited.keyboard)
    answers = await api.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert answers[0].params["callback_query_id"] == query
    assert answers[0].params["text"].startswith("Déjà traité : Pierre L.")
    assert snapshot(ctx) == before


async def test_approve_all_behind_a_confirmation(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/pending")
    listing = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, listing, listing.button("Tout accepter (3)")["callback_data"])
    ask = await reply_to(api, EMILIE["id"], 3)
    assert ask.text == "Accepter les 3 demandes en attente de Arc France ?"
    assert all(
        membership(ctx, world.membership("arc", p)).status == MembershipStatus.PENDING
        for p in ("pierre", "helene", "francois")
    )
    api.press(EMILIE, ask, ask.button("Oui, accepter les 3")["callback_data"])
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert edited.params["message_id"] == str(ask.message_id)
    assert edited.text.startswith(
        f"✅ 3 demandes acceptées dans Arc France par Emilie F. le {NOW} : "
    )
    assert all(
        membership(ctx, world.membership("arc", p)).status == MembershipStatus.MEMBER
        for p in ("pierre", "helene", "francois")
    )


async def test_a_toggle_from_the_community_card(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/parametres")
    card = await reply_to(api, EMILIE["id"], 2)
    assert card.text.startswith(f"<b>Arc France</b> (n° {world.communities['arc']})")
    api.press(EMILIE, card, card.button("Cacher les membres")["callback_data"])
    edited = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert edited.text == (
        "Arc France : les membres sont maintenant <b>cachés</b> dans l'espace communauté."
    )
    assert community(ctx, world.communities["arc"]).members_hidden is True


async def test_validation_by_domain_typed_as_a_reply(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/parametres")
    card = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, card, card.button("Type de validation")["callback_data"])
    menu = await reply_to(api, EMILIE["id"], 3)
    api.press(EMILIE, menu, menu.button("validation par domaine")["callback_data"])
    prompt = await reply_to(api, EMILIE["id"], 4)
    assert prompt.text.startswith("Envoyez le ou les noms de domaine autorisés")
    before = snapshot(ctx)
    api.send_text(EMILIE, "pas un domaine")
    bad = await reply_to(api, EMILIE["id"], 5)
    assert "Nom de domaine invalide : pas, un, domaine. Rien n'a été modifié." in bad.text
    assert snapshot(ctx) == before
    api.press(EMILIE, menu, menu.button("validation par domaine")["callback_data"])
    await reply_to(api, EMILIE["id"], 6)
    api.send_text(EMILIE, "arcfrance.fr; arc-intl.com")
    done = await api.wait_for(lambda c: c.method == "editMessageText")
    assert done[0].params["message_id"] == str(menu.message_id)
    assert done[0].text.startswith(
        "Arc France : type de validation changé en <b>validation par domaine</b>."
    )
    assert "Domaines : arcfrance.fr, arc-intl.com" in done[0].text
    changed = community(ctx, world.communities["arc"])
    assert (changed.validation_type, changed.domain) == (
        ValidationType.DOMAIN,
        "arcfrance.fr;arc-intl.com",
    )


async def test_identifiers_file_with_bad_lines_then_a_good_one(api, front, ctx, world, settings):
    await link(api, ctx, EMILIE)
    before = snapshot(ctx)
    api.send_document(EMILIE, "ids.csv", b"dupont;1234\nsans separateur\nx;y;z\nmartin;99\n")
    report = await reply_to(api, EMILIE["id"], 2)
    assert report.text == (
        "Fichier refusé, comme la plateforme le refuserait : 2 lignes ne sont pas une paire "
        "« identifiant;identifiant ». Rien n'a été modifié.\n"
        "ligne 2 : 1 colonne au lieu de 2 — « sans separateur »\n"
        "ligne 3 : 3 colonnes au lieu de 2 — « x;y;z »"
    )
    assert "download" in api.methods()
    assert snapshot(ctx) == before
    api.send_document(EMILIE, "ids.csv", b"dupont;1234\nmartin;99\n")
    accepted = await reply_to(api, EMILIE["id"], 3)
    assert accepted.text.startswith(
        "Arc France : <b>validation sécurisée</b> activée avec le fichier « ids.csv » "
        "(2 paires d'identifiants)"
    )
    assert community(ctx, world.communities["arc"]).validation_type == ValidationType.SECURED
    stored = list(settings.security_folder.iterdir())
    assert [p.read_bytes() for p in stored] == [b"dupont;1234\nmartin;99\n"]


async def test_a_too_big_file_is_refused_before_download(api, front, ctx, world, settings):
    await link(api, ctx, EMILIE)
    before = snapshot(ctx)
    api.send_document(EMILIE, "ids.csv", b"a;b\n", size=settings.max_identifiers_file_bytes + 1)
    refused = await reply_to(api, EMILIE["id"], 2)
    assert refused.text == "Fichier trop volumineux (5\u202f120 Ko au plus). Rien n'a été modifié."
    assert "getFile" not in api.methods() and "download" not in api.methods()
    assert snapshot(ctx) == before


async def test_forged_callback_data_changes_nothing(api, front, ctx, world):
    before = snapshot(ctx)
    pierre = str(world.membership("arc", "pierre"))
    fake_message = {"message_id": 77}
    query = api.press(STRANGER, fake_message, callback_data("approve", pierre))
    answered = await api.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert answered[0].params["callback_query_id"] == query
    assert answered[0].params["text"].startswith("Votre compte de messagerie n'est pas relié")
    await link(api, ctx, EDDY)  # linked, but administers LeNord only
    query = api.press(EDDY, fake_message, callback_data("approve", pierre))
    refused = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query
    )
    # Once linked, the platform user's language applies (French here), not the client's.
    assert refused[0].params["text"] == (
        f"Communauté n° {world.communities['arc']} : {NOT_ADMINISTERED}. Rien n'a été modifié."
    )
    shown = await reply_to(api, EDDY["id"], 2)
    assert "Rien n'a été modifié." in shown.text
    api.press(EDDY, fake_message, "approve|1;DROP TABLE")
    await reply_to(api, EDDY["id"], 3)
    assert "Ce bouton n'est pas valide" in api.sent(EDDY["id"])[-1].text
    assert snapshot(ctx) == before


async def test_retry_after_is_honoured_and_the_reply_still_arrives(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.fail_next("sendMessage", 429, retry_after=1)
    api.send_text(EMILIE, "/communautes")
    attempts = await api.wait_for(
        lambda c: c.method == "sendMessage" and "Vos communautés" in c.text, count=2
    )
    assert attempts[0].result is None and attempts[1].result is not None
    assert attempts[1].at - attempts[0].at >= 0.95


async def test_a_blocked_bot_marks_the_identity_unreachable(api, front, ctx, world):
    await link(api, ctx, JEANMARC)
    api.fail_next("sendMessage", 403)
    api.send_text(JEANMARC, "/aide")
    await api.wait_for(lambda c: c.method == "sendMessage" and c.result is None)
    for _ in range(200):
        with ctx.sessions() as session:
            identity = session.scalars(select(ChatIdentity)).one()
        if not identity.active:
            break
        import asyncio

        await asyncio.sleep(0.02)
    assert identity.active is False and identity.deactivated_at is not None
    with ctx.sessions() as session:
        assert session.scalars(select(AuditEntry)).all() == []


async def test_with_several_communities_a_keyboard_picks_one(api, front, ctx, world):
    await link(api, ctx, OPERATOR)
    api.send_text(OPERATOR, "/attente")
    pick = await reply_to(api, OPERATOR["id"], 2)
    assert pick.text == "Pour quelle communauté ?"
    assert [b["text"] for row in pick.keyboard for b in row] == [
        "Arc France",
        "GSK Saint Amand les Eaux",
        "LeNord covoiture",
    ]
    api.press(OPERATOR, pick, pick.button("GSK")["callback_data"])
    listing = await reply_to(api, OPERATOR["id"], 3)
    assert "<b>Demandes en attente : GSK Saint Amand les Eaux</b> (1)" in listing.text
    assert "Aurélien G." in listing.text


async def test_member_pages_are_turned_with_buttons(api, front, ctx, world):
    add_members(ctx, world, "arc", 15)
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/membres")
    first = await reply_to(api, EMILIE["id"], 2)
    assert "1-10 de 22" in first.text
    api.press(EMILIE, first, first.button("Suivant")["callback_data"])
    second = await api.wait_for(
        lambda c: c.method in ("sendMessage", "editMessageText") and "11-20 de 22" in c.text
    )
    assert "Membre10 E." in second[0].text and "Membre01 E." not in second[0].text
    assert all(len(c.text) <= 4096 for c in api.sent(EMILIE["id"]))


async def test_a_press_that_fails_is_still_answered(api, front, ctx, world, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from handlers.chat import pending_input

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server has gone away"))

    await link(api, ctx, EMILIE)
    before = snapshot(ctx)
    monkeypatch.setattr(pending_input, "on_press", down)
    query = api.press(EMILIE, {"message_id": 5}, callback_data("approve", "4"))
    answered = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query
    )
    assert answered[0].params["text"].startswith("La base de données est momentanément")
    assert snapshot(ctx) == before


async def test_repeated_wrong_codes_are_slowed_down(api, front, ctx, world):
    from handlers.chat.linking import issue_link_code

    for n in range(5):
        api.send_text(STRANGER, f"/start WRNGCDEXY{n + 2}")
        wrong = await reply_to(api, STRANGER["id"], n + 1)
        assert wrong.text.startswith("Ce code de liaison n'est pas valide")
    good = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
    api.send_text(STRANGER, f"/start {good}")
    slowed = await reply_to(api, STRANGER["id"], 6)
    assert slowed.text == "Trop de codes erronés : réessayez dans 15 minutes."
    with ctx.sessions() as session:
        assert session.scalars(select(ChatIdentity)).all() == []


async def test_a_status_change_and_a_removal(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    api.send_text(EMILIE, "/membres")
    listing = await reply_to(api, EMILIE["id"], 2)
    api.press(EMILIE, listing, listing.button("Marion H.")["callback_data"])
    detail = await reply_to(api, EMILIE["id"], 3)
    assert detail.text.startswith("<b>Marion H.</b> — Arc France")
    api.press(EMILIE, detail, detail.button("Modérateur")["callback_data"])
    changed = await reply_to(api, EMILIE["id"], 1, "editMessageText")
    assert changed.text == (
        f"Marion H. : statut changé en <b>modérateur</b> par Emilie F. le {NOW}."
    )
    marion = world.membership("arc", "marion")
    assert membership(ctx, marion).status == MembershipStatus.MODERATOR
    # The old card's buttons carry the old status: re-validated at the confirmation, refused.
    api.press(EMILIE, detail, detail.button("Retirer")["callback_data"])
    old_ask = await reply_to(api, EMILIE["id"], 4)
    query = api.press(EMILIE, old_ask, old_ask.button("Oui, retirer")["callback_data"])
    stale = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query
    )
    assert stale[0].params["text"] == (
        "Le statut de Marion H. a changé entre-temps (maintenant : modérateur). "
        "Rien n'a été modifié."
    )
    assert membership(ctx, marion).status == MembershipStatus.MODERATOR
    api.press(EMILIE, listing, listing.button("Marion H.")["callback_data"])
    fresh = await api.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and c.text.startswith("<b>Marion H.</b>")
            and "modérateur" in c.text
        )
    )
    api.press(EMILIE, fresh[0], fresh[0].button("Retirer")["callback_data"])
    ask = await api.wait_for(lambda c: c.text == "Retirer Marion H. de Arc France ?", count=2)
    ask = ask[1]
    assert ask.text == "Retirer Marion H. de Arc France ?"
    assert membership(ctx, marion) is not None
    api.press(EMILIE, ask, ask.button("Oui, retirer")["callback_data"])
    removed = await api.wait_for(lambda c: c.method == "editMessageText" and "retiré" in c.text)
    removed = removed[0]
    assert removed.params["message_id"] == str(ask.message_id)
    assert removed.text == f"Marion H. a été retiré(e) de Arc France par Emilie F. le {NOW}."
    assert membership(ctx, marion) is None
