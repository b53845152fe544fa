"""The Slack Home tab, end to end: a referent opens it (app_home_opened), decides from it, and
sees it follow decisions taken anywhere and new requests, through the fake Web API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.notifier import Notifier
from handlers.community import pending
from handlers.core.context import Context
from storage.bot_models import AuditEntry, HomeView
from storage.codes import MembershipStatus
from tests.bot.slack.conftest import SLACK_IDS, SlackUser, TwoFronts, link
from tests.bot.slack.fake_slack_api import TEAM, block_text, elements
from tests.bot.telegram.conftest import EMILIE
from tests.bot.telegram.conftest import link as link_telegram
from tests.handlers.helpers import actor, membership, snapshot
from tests.support.notifications import NoPacing, new_pending

pytestmark = pytest.mark.asyncio
JEANMARC = SLACK_IDS["jeanmarc"]
ACCEPTED_PIERRE = (
    "✅ Pierre L. : demande acceptée dans Arc France par Jean-Marc M. le 17/01/2024 à 10:02."
)


def button(view: dict, action: str, label: str = "") -> dict:
    """The Home's button for `action` whose label holds `label`."""
    for element in elements(view):
        if element.get("value", "").split("|")[0] == action and label in element["text"]["text"]:
            return element
    raise AssertionError(f"no {action} {label!r} button in {elements(view)}")


async def opened_home(bot, who: str = "jeanmarc", count: int = 1) -> dict:
    sent = await bot.user.home_opened(who)
    assert sent.status == 200 and sent.seconds < 1.0
    await bot.fake.wait_for("views.publish", count)
    return bot.fake.homes(SLACK_IDS[who])[-1]


def home_rows(ctx: Context) -> list[HomeView]:
    with ctx.sessions() as session:
        return list(session.scalars(select(HomeView).order_by(HomeView.id)))


async def test_opening_the_home_publishes_communities_requests_figures_and_buttons(bot):
    view = await opened_home(bot)
    arc = bot.world.communities["arc"]
    assert view["type"] == "home"
    text = block_text(view)
    assert text.startswith("*Vos communautés* (1)\n")
    assert f"• Arc France (n° {arc}) : 3 membres, 3 en attente" in text
    assert "*Demandes les plus anciennes* (3 en attente en tout)" in text
    assert "• Pierre L. — arcfrance.fr ✓ domaine — demandé le 11/01/2024 — Arc France" in text
    assert "*Synthèse au 17/01/2024 : Arc France*" in text
    assert "• Utilisateurs : 3" in text and "• Communautés : 1" in text
    assert text.endswith("Mis à jour le 17/01/2024 à 10:02.")
    # The same buttons as everywhere: decisions, and each function of the community.
    pierre = bot.world.membership("arc", "pierre")
    assert button(view, "approve", "Pierre L.")["value"] == f"approve|{pierre}"
    assert button(view, "refuse", "Pierre L.")["style"] == "danger"
    assert button(view, "pending", "En attente (3)")["value"] == f"pending|{arc}"
    assert button(view, "members", "Membres")["value"].startswith(f"members|{arc}")
    assert button(view, "card", "Paramètres")["value"] == f"card|{arc}"
    assert button(view, "chart_menu", "Graphiques")["value"] == f"chart_menu|c{arc}"
    assert button(view, "chart_sum", "Synthèse")["value"] == "chart_sum|a"
    # Published to the person, remembered for the updates, nothing posted in any channel.
    (call,) = bot.fake.of("views.publish")
    assert call.args["user_id"] == JEANMARC
    assert bot.fake.of("chat.postMessage") == [] and bot.fake.of("chat.postEphemeral") == []
    (row,) = home_rows(bot.ctx)
    assert (row.platform, row.team_id, row.external_id) == ("slack", TEAM, JEANMARC)
    assert row.shown_version == row.version


async def test_an_unlinked_user_reads_how_to_link_and_the_messages_tab_publishes_nothing(bot):
    await bot.user.home_opened("stranger", tab="messages")
    view = await opened_home(bot, "stranger")
    assert len(bot.fake.of("views.publish")) == 1  # the Messages tab published nothing
    assert block_text(view) == (
        "Votre compte de messagerie n'est pas relié à un compte Pass Pass covoiturage. "
        "Demandez un code de liaison à Hauts-de-France Mobilités, puis envoyez-le au bot."
    )
    assert elements(view) == []
    assert home_rows(bot.ctx) == []  # nothing to follow for them


async def test_approve_from_the_home_decides_and_publishes_it_again(bot):
    view = await opened_home(bot)
    sent = await bot.user.press_home("jeanmarc", button(view, "approve", "Pierre L."))
    assert sent.status == 200 and sent.seconds < 1.0
    await bot.fake.wait_for("views.publish", 2)
    pierre = membership(bot.ctx, bot.world.membership("arc", "pierre"))
    assert pierre.status == MembershipStatus.MEMBER
    assert pierre.admin_id == bot.world.users["jeanmarc"]
    with bot.ctx.sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.front) == ("approve", "slack")
    after = bot.fake.homes(JEANMARC)[-1]
    text = block_text(after)
    assert text.startswith(ACCEPTED_PIERRE + "\n*Vos communautés* (1)")  # the outcome on top
    assert "4 membres, 2 en attente" in text and "(2 en attente en tout)" in text
    assert "Pierre L. —" not in text
    assert [e["text"]["text"] for e in elements(after) if e["value"].startswith("approve")] == [
        "✅ Hélène B.",
        "✅ François B.",
    ]
    # Nothing else was sent: no message to edit, no channel.
    assert bot.fake.of("chat.update") == [] and bot.fake.of("chat.postMessage") == []


async def test_refuse_from_the_home_asks_the_reason_in_a_modal(bot):
    view = await opened_home(bot)
    await bot.user.press_home("jeanmarc", button(view, "refuse", "Hélène B."))
    (opened,) = await bot.fake.wait_for("views.open")
    modal = opened.args["view"]
    assert modal["blocks"][0]["label"]["text"].startswith("Motif du refus (facultatif")
    assert membership(bot.ctx, bot.world.membership("arc", "helene")).status == 0  # not yet
    await bot.user.submit("jeanmarc", modal, "Adresse personnelle")
    await bot.fake.wait_for("views.publish", 2)
    assert membership(bot.ctx, bot.world.membership("arc", "helene")).status == 3
    text = block_text(bot.fake.homes(JEANMARC)[-1])
    assert text.startswith(
        "❌ Hélène B. : demande refusée dans Arc France par Jean-Marc M. le 17/01/2024 à 10:02."
        "\nMotif : Adresse personnelle\n"
    )
    assert "Hélène B. —" not in text


async def test_a_press_opening_a_list_answers_in_the_messages_tab(bot):
    view = await opened_home(bot)
    await bot.user.press_home("jeanmarc", button(view, "pending", "En attente"))
    (posted,) = await bot.fake.wait_for("chat.postMessage")
    assert posted.args["channel"] == "D" + JEANMARC[1:]  # the direct message with the bot
    assert "*Demandes en attente : Arc France* (3)" in block_text(posted.args)
    await bot.fake.wait_for("views.publish", 2)
    assert block_text(bot.fake.homes(JEANMARC)[-1]).startswith(
        "La réponse est dans l'onglet Messages de l'application.\n*Vos communautés*"
    )
    # Its buttons work there as anywhere: approve Pierre from the list in the messages.
    approve = next(e for e in elements(posted.args) if e.get("value", "").startswith("approve"))
    await bot.user.press("jeanmarc", approve, posted.result["ts"], channel=posted.args["channel"])
    (update,) = await bot.fake.wait_for("chat.update")
    # A list: it stays, updated in place, the decision on its line.
    assert update.args["ts"] == posted.result["ts"]
    assert block_text(update.args).splitlines() == [
        "*Demandes en attente : Arc France* (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        "✅ Pierre L. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02",
    ]


async def test_a_forged_press_in_the_home_is_refused_on_top_of_it_and_changes_nothing(bot):
    view = await opened_home(bot)
    before = snapshot(bot.ctx)
    aurelien = bot.world.membership("gsk", "aurelien")  # another community's request
    forged = button(view, "approve", "Pierre L.")
    await bot.user.press_home("jeanmarc", forged, value=f"approve|{aurelien}")
    await bot.fake.wait_for("views.publish", 2)
    text = block_text(bot.fake.homes(JEANMARC)[-1])
    assert text.startswith("Communauté n° ")
    assert "introuvable parmi celles que vous administrez. Rien n'a été modifié." in text
    assert "GSK" not in text
    assert snapshot(bot.ctx) == before


def notifier_of(bot) -> Notifier:
    notifier = Notifier(bot.app, interval=0.05)
    notifier.limiter = NoPacing()
    return notifier


async def test_a_new_request_and_a_decision_on_the_console_publish_the_home_again(bot):
    notifier = notifier_of(bot)
    await notifier.run_once()  # the world's requests are notified before the Home is opened
    await opened_home(bot)
    await notifier.run_once()
    assert len(bot.fake.of("views.publish")) == 1  # nothing changed: nothing published
    adele = new_pending(bot.ctx.sessions.kw["bind"], bot.world)  # as the web admin writes it
    await notifier.run_once()
    assert len(bot.fake.homes(JEANMARC)) == 2
    text = block_text(bot.fake.homes(JEANMARC)[-1])
    assert "3 membres, 4 en attente" in text and "Adèle D." in text
    # Emilie, moderator of Arc France, approves Adèle on the console.
    reply = pending.approve(bot.ctx, actor(bot.ctx, bot.world, "emilie"), adele)
    assert reply.ok, reply.text
    await notifier.run_once()
    assert len(bot.fake.homes(JEANMARC)) == 3
    text = block_text(bot.fake.homes(JEANMARC)[-1])
    assert "4 membres, 3 en attente" in text and "Adèle D." not in text
    await notifier.run_once()
    assert len(bot.fake.of("views.publish")) == 3  # each change published once


async def test_a_home_slack_fails_to_publish_is_published_at_the_next_round(bot):
    notifier = notifier_of(bot)
    await notifier.run_once()
    await opened_home(bot)
    new_pending(bot.ctx.sessions.kw["bind"], bot.world)
    bot.fake.fail("views.publish", "internal_error")
    await notifier.run_once()
    assert len(bot.fake.of("views.publish#error")) == 1
    assert len(bot.fake.homes(JEANMARC)) == 1
    await notifier.run_once()
    assert len(bot.fake.homes(JEANMARC)) == 2
    assert "Adèle D." in block_text(bot.fake.homes(JEANMARC)[-1])


async def test_a_decision_in_telegram_publishes_the_slack_home_again(
    fake, sqlite_engine, two_fronts: TwoFronts
):
    ctx, telegram_api, notifier = two_fronts.ctx, two_fronts.telegram_api, two_fronts.notifier
    link(ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")  # Jean-Marc on Slack
    link(ctx, "eddy", "eddy.lefebvre@lenord.fr")  # Eddy on Slack, another community
    await link_telegram(telegram_api, ctx, EMILIE)  # Emilie on Telegram
    user = SlackUser(f"http://127.0.0.1:{two_fronts.slack.port}/slack/events", fake)
    for who in ("jeanmarc", "eddy"):
        await user.home_opened(who)
    await fake.wait_for("views.publish", 2)
    membership_id = new_pending(sqlite_engine, two_fronts.world)
    await notifier.run_once()
    assert "Adèle D." in block_text(fake.homes(JEANMARC)[-1])
    [copy] = [c for c in telegram_api.sent(EMILIE["id"]) if "Adèle D." in c.text]
    telegram_api.press(EMILIE, copy, copy.button("✅ Adèle D.")["callback_data"])
    await telegram_api.wait_for(lambda c: c.method == "editMessageText")
    assert membership(ctx, membership_id).status == MembershipStatus.MEMBER
    await notifier.run_once()
    homes = fake.homes(JEANMARC)
    assert len(homes) == 3
    assert "Adèle D." not in block_text(homes[-1])
    assert "3 en attente en tout" in block_text(homes[-1])
    # Eddy (LeNord covoiture) decides nothing in Arc France: his Home was left alone.
    assert len(fake.homes(SLACK_IDS["eddy"])) == 1
