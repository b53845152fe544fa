"""What a referent sees in Slack, end to end: signed requests to the bot's real endpoint, the
fake Web API recording every call, the database read back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.chat.linking import issue_link_code
from storage.bot_models import AuditEntry, ChatIdentity
from storage.codes import MembershipStatus
from tests.bot.slack.conftest import CHANNEL, SLACK_IDS
from tests.bot.slack.fake_slack_api import TEAM, elements
from tests.handlers.helpers import membership, snapshot

#: A refusal about a community the person does not administer (never its name).
NOT_ADMINISTERED = "introuvable parmi celles que vous administrez"

pytestmark = pytest.mark.asyncio
ACK_LIMIT = 1.0  # seconds: well under Slack's 3


def find(call, action: str, label: str = "") -> dict:
    """The element (button or select) of a recorded message whose value is for `action`."""
    for element in elements(call.args):
        values = [element.get("value", "")] + [o["value"] for o in element.get("options", [])]
        if any(v.split("|")[0] == action for v in values) and label in str(element):
            return element
    raise AssertionError(f"no {action} element in {elements(call.args)}")


async def test_link_with_a_code_then_a_wrong_code(bot):
    code = issue_link_code(bot.ctx, "emilie.fournier@arcfrance.fr").code
    before = snapshot(bot.ctx)
    sent = await bot.user.command("emilie", "attente")
    assert sent.status == 200 and sent.seconds < ACK_LIMIT
    refused = await bot.fake.wait_for("chat.postEphemeral")
    assert refused[-1].args["user"] == SLACK_IDS["emilie"]
    assert (
        "n'est pas relié à un compte Pass Pass covoiturage"
        in bot.fake.texts("chat.postEphemeral")[-1]
    )
    assert elements(refused[-1].args) == []
    assert bot.fake.of("chat.postMessage") == []

    await bot.user.command("emilie", f"link {code.lower()}")
    linked = await bot.fake.wait_for("chat.postEphemeral", 2)
    assert (
        "Compte relié : vous êtes maintenant Emilie F." in bot.fake.texts("chat.postEphemeral")[-1]
    )
    assert linked[-1].args["channel"] == CHANNEL
    with bot.ctx.sessions() as session:
        identity = session.scalars(
            select(ChatIdentity).where(ChatIdentity.external_id == SLACK_IDS["emilie"])
        ).one()
        assert (identity.platform, identity.team_id) == ("slack", TEAM)

    await bot.user.command("stranger", "link ABCDEFGHJK")
    await bot.fake.wait_for("chat.postEphemeral", 3)
    assert "code de liaison n'est pas valide" in bot.fake.texts("chat.postEphemeral")[-1]
    assert snapshot(bot.ctx) == before  # linking writes no platform row nor audit entry


async def test_communautes_lists_the_referents_communities(bot):
    sent = await bot.user.command("jeanmarc", "communautes")
    assert sent.status == 200 and sent.seconds < ACK_LIMIT
    (posted,) = await bot.fake.wait_for("chat.postMessage")
    assert posted.args["channel"] == CHANNEL
    assert posted.token == "xoxb-test-0123456789-SECRETBOTTOKEN"
    text = bot.fake.texts("chat.postMessage")[0]
    assert text.startswith("*Vos communautés* (1)")
    assert "Arc France (n° " in text and "3 en attente" in text
    button = find(posted, "card")
    assert button["text"]["text"] == "Arc France (3 en attente)"
    assert button["value"] == f"card|{bot.world.communities['arc']}"


async def test_approve_by_button_updates_the_message_with_who_and_when(bot):
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    assert "*Demandes en attente : Arc France* (3)" in bot.fake.texts("chat.postMessage")[0]
    approve = find(listing, "approve_listed", "Pierre")
    assert approve["style"] == "primary"
    ts = listing.result["ts"]
    sent = await bot.user.press("jeanmarc", approve, ts)
    assert sent.status == 200 and sent.seconds < ACK_LIMIT
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.args["channel"] == CHANNEL and update.args["ts"] == ts
    # The list stays, updated in place, the decision on its line.
    assert bot.fake.texts("chat.update")[0].splitlines() == [
        "*Demandes en attente : Arc France* (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        "✅ Pierre L. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02",
    ]
    assert "Pierre" not in str(elements(update.args))
    pierre = membership(bot.ctx, bot.world.membership("arc", "pierre"))
    assert pierre.status == MembershipStatus.MEMBER
    assert pierre.admin_id == bot.world.users["jeanmarc"]
    with bot.ctx.sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.front) == ("approve", "slack")


async def test_refuse_with_a_reason_typed_in_the_modal(bot):
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    refuse = find(listing, "refuse_listed", "Hélène")
    assert refuse["style"] == "danger"
    sent = await bot.user.press("jeanmarc", refuse, listing.result["ts"])
    assert sent.status == 200 and sent.seconds < ACK_LIMIT
    (opened,) = await bot.fake.wait_for("views.open")
    view = opened.args["view"]
    (field,) = view["blocks"]
    assert field["label"]["text"].startswith("Motif du refus (facultatif")
    assert field["optional"] is True
    assert membership(bot.ctx, bot.world.membership("arc", "helene")).status == 0  # not yet
    sent = await bot.user.submit("jeanmarc", view, "Adresse <personnelle> & hors entreprise")
    assert sent.status == 200 and sent.seconds < ACK_LIMIT
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.args["ts"] == listing.result["ts"]
    assert bot.fake.texts("chat.update")[0].splitlines()[-2:] == [
        "❌ Hélène B. : refusée par Jean-Marc M. le 17/01/2024 à 10:02",
        "Motif : Adresse &lt;personnelle&gt; &amp; hors entreprise",
    ]
    helene = membership(bot.ctx, bot.world.membership("arc", "helene"))
    assert helene.status == MembershipStatus.REFUSED
    with bot.ctx.sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.reason) == ("refuse", "Adresse <personnelle> & hors entreprise")


async def test_several_decisions_in_a_row_update_one_list_message(bot):
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    ts = listing.result["ts"]
    arc = bot.world.communities["arc"]
    m = bot.world.memberships

    await bot.user.press("jeanmarc", find(listing, "approve_listed", "Pierre"), ts)
    (first,) = await bot.fake.wait_for("chat.update")
    assert (first.args["channel"], first.args["ts"]) == (CHANNEL, ts)
    assert bot.fake.texts("chat.update")[0].splitlines() == [
        "*Demandes en attente : Arc France* (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        "✅ Pierre L. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02",
    ]
    assert [(e["text"]["text"], e["value"]) for e in elements(first.args)] == [
        ("✅ Hélène B.", f"approve_listed|{m[('arc', 'helene')]}:{arc}:0"),
        ("❌ Hélène B.", f"refuse_listed|{m[('arc', 'helene')]}:{arc}:0"),
        ("✅ François B.", f"approve_listed|{m[('arc', 'francois')]}:{arc}:0"),
        ("❌ François B.", f"refuse_listed|{m[('arc', 'francois')]}:{arc}:0"),
        ("Tout accepter (2)", f"approve_all|{arc}"),
        ("Tout refuser (2)", f"refuse_all|{arc}"),
    ]

    # A refusal from the updated list: the modal, whose submission updates the list again.
    await bot.user.press("jeanmarc", find(first, "refuse_listed", "Hélène"), ts)
    (opened,) = await bot.fake.wait_for("views.open")
    await bot.user.submit("jeanmarc", opened.args["view"], "Hors périmètre")
    (_, second) = await bot.fake.wait_for("chat.update", 2)
    assert second.args["ts"] == ts
    assert bot.fake.texts("chat.update")[1].splitlines() == [
        "*Demandes en attente : Arc France* (1)",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        "✅ Pierre L. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02",
        "❌ Hélène B. : refusée par Jean-Marc M. le 17/01/2024 à 10:02",
        "Motif : Hors périmètre",
    ]
    assert [e["text"]["text"] for e in elements(second.args)] == [
        "✅ François B.",
        "❌ François B.",
        "Tout accepter (1)",
        "Tout refuser (1)",
    ]

    await bot.user.press("jeanmarc", find(second, "approve_listed", "François"), ts)
    (_, _, last) = await bot.fake.wait_for("chat.update", 3)
    assert last.args["ts"] == ts
    assert bot.fake.texts("chat.update")[2].splitlines() == [
        "Aucune demande en attente pour Arc France.",
        "✅ Pierre L. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02",
        "❌ Hélène B. : refusée par Jean-Marc M. le 17/01/2024 à 10:02",
        "✅ François B. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02",
    ]
    assert elements(last.args) == []
    assert len(bot.fake.of("chat.postMessage")) == 1 and bot.fake.of("chat.postEphemeral") == []
    statuses = [membership(bot.ctx, m[("arc", p)]).status for p in ("pierre", "helene", "francois")]
    assert statuses == [MembershipStatus.MEMBER, MembershipStatus.REFUSED, MembershipStatus.MEMBER]


async def test_a_list_shown_privately_is_replaced_through_its_response_url(bot):
    """In a conversation the bot is not in, the list is ephemeral: no ts to update. Each
    decision replaces it through the press's response_url, a refusal's modal included."""
    bot.fake.fail("chat.postMessage", "not_in_channel")
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postEphemeral")
    ts = listing.result["message_ts"]

    await bot.user.press("jeanmarc", find(listing, "approve_listed", "Pierre"), ts, ephemeral=True)
    (first,) = await bot.fake.wait_for("response_url")
    assert first.args["replace_original"] is True
    assert first.args["blocks"][0]["text"]["text"].startswith(
        "*Demandes en attente : Arc France* (2)"
    )

    await bot.user.press("jeanmarc", find(listing, "refuse_listed", "Hélène"), ts, ephemeral=True)
    (opened,) = await bot.fake.wait_for("views.open")
    await bot.user.submit("jeanmarc", opened.args["view"], "Hors périmètre")
    (_, second) = await bot.fake.wait_for("response_url", 2)
    assert second.args["replace_original"] is True
    text = "\n".join(b["text"]["text"] for b in second.args["blocks"] if "text" in b)
    assert text.startswith("*Demandes en attente : Arc France* (1)")
    assert "❌ Hélène B. : refusée par Jean-Marc M. le 17/01/2024 à 10:02" in text
    assert "SECRET" not in opened.args["view"]["private_metadata"]
    assert bot.fake.of("chat.update") == [] and bot.fake.of("chat.postMessage") == []
    assert len(bot.fake.of("chat.postEphemeral")) == 1


async def test_approve_all_asks_for_confirmation_first(bot):
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    await bot.user.press("jeanmarc", find(listing, "approve_all"), listing.result["ts"])
    (_, ask) = await bot.fake.wait_for("chat.postMessage", 2)
    assert bot.fake.texts("chat.postMessage")[1] == (
        "Accepter les 3 demandes en attente de Arc France ?"
    )
    assert [e["text"]["text"] for e in elements(ask.args)] == ["Oui, accepter les 3", "Annuler"]
    assert membership(bot.ctx, bot.world.membership("arc", "pierre")).status == 0
    sent = await bot.user.press("jeanmarc", find(ask, "approve_all_ok"), ask.result["ts"])
    assert sent.seconds < ACK_LIMIT
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.args["ts"] == ask.result["ts"]
    assert bot.fake.texts("chat.update")[0].startswith(
        "✅ 3 demandes acceptées dans Arc France par Jean-Marc M. le 17/01/2024 à 10:02"
    )
    for person in ("pierre", "helene", "francois"):
        assert membership(bot.ctx, bot.world.membership("arc", person)).status == 1


async def test_a_toggle_of_the_community_card(bot):
    await bot.user.command("jeanmarc", "parametres")
    (card,) = await bot.fake.wait_for("chat.postMessage")
    assert "Membres cachés : non" in bot.fake.texts("chat.postMessage")[0]
    hide = find(card, "members_hidden")
    assert hide["text"]["text"] == "Cacher les membres"
    await bot.user.press("jeanmarc", hide, card.result["ts"])
    await bot.fake.wait_for("chat.update")
    assert bot.fake.texts("chat.update")[0] == (
        "Arc France : les membres sont maintenant *cachés* dans l'espace communauté."
    )
    with bot.ctx.sessions() as session:
        from storage.models import Community

        assert session.get(Community, bot.world.communities["arc"]).members_hidden is True


async def validation_menu(bot):
    await bot.user.command("jeanmarc", "parametres")
    (card,) = await bot.fake.wait_for("chat.postMessage")
    await bot.user.press("jeanmarc", find(card, "validation"), card.result["ts"])
    menu = (await bot.fake.wait_for("chat.postMessage", 2))[1]
    select = find(menu, "validation_set")
    assert select["type"] == "static_select"
    assert select["placeholder"]["text"] == "Type de validation…"
    assert [o["text"]["text"] for o in select["options"]] == [
        "validation automatique", "validation par modérateur",
        "validation par domaine", "validation sécurisée",
    ]  # fmt: skip
    return menu, select


async def test_validation_by_domain_entered_in_the_modal(bot):
    menu, select = await validation_menu(bot)
    before = snapshot(bot.ctx)
    await bot.user.press("jeanmarc", select, menu.result["ts"], option=2)
    (opened,) = await bot.fake.wait_for("views.open")
    view = opened.args["view"]
    assert view["blocks"][0]["label"]["text"].startswith("Envoyez le ou les noms de domaine")
    assert view["blocks"][0]["optional"] is False
    await bot.user.submit("jeanmarc", view, "arcfrance.fr;pas un domaine")
    (bad,) = await bot.fake.wait_for("chat.postEphemeral")
    assert bad.args["user"] == SLACK_IDS["jeanmarc"]
    assert (
        "Nom de domaine invalide : pas, un, domaine. Rien n'a été modifié."
        in (bot.fake.texts("chat.postEphemeral")[0])
    )
    assert snapshot(bot.ctx) == before
    await bot.user.submit("jeanmarc", view, "arcfrance.fr ; arc-intl.com")
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.args["ts"] == menu.result["ts"]
    assert (
        "type de validation changé en *validation par domaine*" in bot.fake.texts("chat.update")[0]
    )
    with bot.ctx.sessions() as session:
        from storage.models import Community

        arc = session.get(Community, bot.world.communities["arc"])
        assert (arc.validation_type, arc.domain) == (2, "arcfrance.fr;arc-intl.com")


async def test_secured_identifiers_file_with_bad_lines_changes_nothing(bot):
    menu, select = await validation_menu(bot)
    before = snapshot(bot.ctx)
    await bot.user.press("jeanmarc", select, menu.result["ts"], option=3)
    (ask,) = await bot.fake.wait_for("chat.postEphemeral")
    assert bot.fake.texts("chat.postEphemeral")[0].startswith(
        "Envoyez le fichier des identifiants autorisés"
    )
    assert "Déposez le fichier dans cette conversation" in bot.fake.texts("chat.postEphemeral")[0]
    bot.fake.downloads["ids.csv"] = b"jean;1234\nsans separateur\nmarie;5678\n;vide\n"
    await bot.user.file_shared("jeanmarc", "ids.csv")
    await bot.fake.wait_for("chat.postEphemeral", 2)
    report = bot.fake.texts("chat.postEphemeral")[1]
    assert report.startswith("Fichier refusé, comme la plateforme le refuserait : 2 lignes")
    assert "ligne 2 : 1 colonne au lieu de 2 — « sans separateur »" in report
    assert "ligne 4 : premier identifiant vide — « ;vide »" in report
    assert bot.fake.of("download")[0].args == {"name": "ids.csv"}
    assert snapshot(bot.ctx) == before
    assert not list((bot.ctx.settings.security_folder).glob("*"))
    # A file nobody asked for, dropped in the channel, is left alone.
    await bot.user.file_shared("jeanmarc", "ids.csv")
    await bot.user.command("jeanmarc", "aide")
    await bot.fake.wait_for("chat.postMessage", 3)
    assert len(bot.fake.of("chat.postEphemeral")) == 2 and len(bot.fake.of("download")) == 1


async def test_a_forged_button_value_is_refused_and_changes_nothing(
    bot,
):
    from tests.bot.slack.conftest import link

    link(bot.ctx, "eddy", "eddy.lefebvre@lenord.fr")
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    approve = find(listing, "approve_listed", "Pierre")
    before = snapshot(bot.ctx)
    await bot.user.press("eddy", approve, listing.result["ts"])  # not Arc France's moderator
    await bot.fake.wait_for("chat.postEphemeral")
    assert (
        f"Communauté n° {bot.world.communities['arc']} : {NOT_ADMINISTERED}"
        in bot.fake.texts("chat.postEphemeral")[0]
    )
    await bot.user.press("jeanmarc", approve, listing.result["ts"], value="approve|12;DROP")
    await bot.user.press("stranger", approve, listing.result["ts"])
    await bot.fake.wait_for("chat.postEphemeral", 3)
    texts = bot.fake.texts("chat.postEphemeral")
    assert "Ce bouton n'est pas valide" in texts[1] or "Ce bouton n'est pas valide" in texts[2]
    assert any("n'est pas relié" in text for text in texts[1:])
    assert bot.fake.of("chat.update") == [] and snapshot(bot.ctx) == before


async def test_a_member_status_changed_from_a_select(bot):
    await bot.user.command("jeanmarc", "membres")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    await bot.user.press("jeanmarc", find(listing, "member", "Marion"), listing.result["ts"])
    detail = (await bot.fake.wait_for("chat.postMessage", 2))[1]
    select = find(detail, "set_status")
    assert select["type"] == "static_select"
    assert select["placeholder"]["text"] == "Changer le statut…"
    labels = [o["text"]["text"] for o in select["options"]]
    await bot.user.press("jeanmarc", select, detail.result["ts"], option=labels.index("Modérateur"))
    await bot.fake.wait_for("chat.update")
    assert (
        "Marion H. : statut changé en *modérateur* par Jean-Marc M."
        in bot.fake.texts("chat.update")[0]
    )
    marion = membership(bot.ctx, bot.world.membership("arc", "marion"))
    assert marion.status == MembershipStatus.MODERATOR


async def test_lier_binds_the_channel_and_is_refused_in_a_direct_message(bot):
    from storage.bot_models import ChatBinding

    await bot.user.command("jeanmarc", "lier", channel="D0JEANMARC")
    await bot.fake.wait_for("chat.postEphemeral")
    assert "/lier se tape dans un groupe ou un canal" in bot.fake.texts("chat.postEphemeral")[0]
    await bot.user.command("jeanmarc", "lier")
    await bot.fake.wait_for("chat.postMessage")
    assert bot.fake.texts("chat.postMessage")[0] == (
        "Ce groupe recevra désormais les nouvelles demandes d'adhésion de Arc France."
    )
    with bot.ctx.sessions() as session:
        (binding,) = session.scalars(select(ChatBinding)).all()
        assert (binding.platform, binding.team_id, binding.chat_id, binding.community_id) == (
            "slack", TEAM, CHANNEL, bot.world.communities["arc"],
        )  # fmt: skip


async def test_graphique_uploads_the_chart_with_its_alt_text_then_the_csv(bot):
    await bot.user.command("jeanmarc", "graphique")
    (menu,) = await bot.fake.wait_for("chat.postMessage")
    assert bot.fake.texts("chat.postMessage")[0].startswith("*Tableau de bord : Arc France*")
    sent = await bot.user.press("jeanmarc", find(menu, "chart", "Communautés"), menu.result["ts"])
    assert sent.seconds < ACK_LIMIT
    (url,) = await bot.fake.wait_for("files.getUploadURLExternal")
    (complete,) = await bot.fake.wait_for("files.completeUploadExternal")
    assert url.args["filename"].endswith(".png")
    assert url.args["alt_txt"].startswith("Communautés — Arc France, du 01/02/2023 au 17/01/2024")
    assert complete.args["channel_id"] == CHANNEL
    assert complete.args["files"][0]["id"] == url.result["file_id"]
    png = bot.fake.uploads[url.result["file_id"]]
    assert png.startswith(b"\x89PNG") and len(png) == int(url.args["length"])
    chart = (await bot.fake.wait_for("chat.postMessage", 2))[1]
    assert bot.fake.texts("chat.postMessage")[1].startswith("Communautés — Arc France")
    assert "initial_comment" not in complete.args  # the caption is the message just above
    await bot.user.press("jeanmarc", find(chart, "chart_csv"), chart.result["ts"])
    csv = (await bot.fake.wait_for("files.getUploadURLExternal", 2))[1]
    assert csv.args["filename"].endswith(".csv")
    await bot.fake.wait_for("files.completeUploadExternal", 2)
    assert bot.fake.uploads[csv.result["file_id"]].decode("utf-8-sig").count("\n") >= 2


async def test_a_bound_channel_receives_a_new_request_and_decides_it(bot):
    from bot.notifier import Notifier
    from tests.support.notifications import new_pending

    await bot.user.command("jeanmarc", "lier")
    await bot.fake.wait_for("chat.postMessage")
    membership_id = new_pending(bot.ctx.sessions.kw["bind"], bot.world)
    notifier = Notifier(bot.app, interval=0.01)
    for _ in range(3):
        await notifier.run_once()
    posts = [c for c in bot.fake.of("chat.postMessage") if c.args["channel"] == CHANNEL]
    pushed = [c for c in posts if "Adèle D." in str(c.args.get("blocks"))]
    assert len(pushed) == 1, [c.args["text"] for c in posts]
    approve = find(pushed[0], "approve")
    await bot.user.press("jeanmarc", approve, pushed[0].result["ts"])
    (update,) = await bot.fake.wait_for("chat.update")  # the pressed message, and only it
    assert update.args["ts"] == pushed[0].result["ts"]
    assert bot.fake.texts("chat.update")[0].startswith(
        "✅ Adèle D. : demande acceptée dans Arc France par Jean-Marc M. le 17/01/2024 à 10:02"
    )
    assert membership(bot.ctx, membership_id).status == MembershipStatus.MEMBER


async def test_a_large_identifiers_file_switches_to_secured_validation(bot):
    menu, chooser = await validation_menu(bot)
    await bot.user.press("jeanmarc", chooser, menu.result["ts"], option=3)
    await bot.fake.wait_for("chat.postEphemeral")
    content = "".join(f"salarie{n:06d};{n * 7:08d}\n" for n in range(20000)).encode()
    assert len(content) > 300_000  # downloaded in many chunks
    bot.fake.downloads["autorises.csv"] = content
    await bot.user.file_shared("jeanmarc", "autorises.csv", channel=CHANNEL)
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.args["ts"] == menu.result["ts"]
    assert bot.fake.texts("chat.update")[0].startswith(
        "Arc France : *validation sécurisée* activée avec le fichier « autorises.csv » "
        "(20\u202f000 paires d'identifiants)"
    )
    with bot.ctx.sessions() as session:
        from storage.models import Community, CommunitySecurity

        assert session.get(Community, bot.world.communities["arc"]).validation_type == 3
        (security,) = session.scalars(select(CommunitySecurity)).all()
    stored = bot.ctx.settings.security_folder / security.filename
    assert stored.read_bytes() == content


async def test_a_file_larger_than_allowed_is_refused_before_download(bot):
    before = snapshot(bot.ctx)
    bot.fake.downloads["enorme.csv"] = b"a;b\n"
    await bot.user.file_shared("jeanmarc", "enorme.csv", channel="D0JEANMARC", size=50 * 2**20)
    (refused,) = await bot.fake.wait_for("chat.postEphemeral")
    assert refused.args["channel"] == "D0JEANMARC"
    assert bot.fake.texts("chat.postEphemeral")[0].startswith(
        "Fichier trop volumineux (5\u202f120 Ko au plus). Rien n'a été modifié."
    )
    assert bot.fake.of("download") == [] and snapshot(bot.ctx) == before


async def test_member_search_typed_in_the_modal(bot):
    await bot.user.command("jeanmarc", "membres")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    await bot.user.press("jeanmarc", find(listing, "members_search"), listing.result["ts"])
    (opened,) = await bot.fake.wait_for("views.open")
    assert opened.args["view"]["blocks"][0]["label"]["text"] == "Nom ou prénom à chercher :"
    await bot.user.submit("jeanmarc", opened.args["view"], "Hennebert")
    found = (await bot.fake.wait_for("chat.postMessage", 2))[1]
    text = bot.fake.texts("chat.postMessage")[1]
    assert "Recherche : « Hennebert »" in text and "Marion H." in text
    assert "Pierre L." not in text
    assert find(found, "member", "Marion")["value"].startswith("member|")
