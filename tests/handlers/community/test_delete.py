"""Deleting a community, as the web admin's "Supprimer la communauté": only its creator or an
operator, only after typing its exact name, after a last summary of what goes with it."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select, text

from handlers.chat import commands, pending_input
from handlers.chat import entry as chat_entry
from handlers.chat.actions import Press, press
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code
from storage.bot_models import ChatBinding, PendingInput
from storage.clock import now
from storage.models import Community, CommunitySecurity, CommunityUser, Proposal, ProposalCommunity
from tests.bot.slack.conftest import CHANNEL as SLACK_CHANNEL
from tests.bot.slack.conftest import SLACK_IDS
from tests.bot.slack.fake_slack_api import TEAM as SLACK_TEAM
from tests.bot.slack.fake_slack_api import elements as slack_elements
from tests.bot.telegram.conftest import EMILIE, JEANMARC, STRANGER, link, reply_to
from tests.bot.test_console import run_console
from tests.handlers.community.helpers import assert_refused_full, feed, full_snapshot
from tests.handlers.helpers import NOW_FR, actor, audit_entries


def run(ctx, who, text: str):
    name, args = commands.parse(text)
    return commands.run_command(ctx, who, name, args)


def with_ads_files_and_binding(ctx, world, tmp_path) -> int:
    """Two ads linked to Arc France (one also to LeNord), an identifiers file, a bound chat."""
    arc, lenord = world.communities["arc"], world.communities["lenord"]
    folder = ctx.settings.security_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arc-ids.csv").write_text("1;2\n")
    with ctx.sessions() as session, session.begin():
        ads = [Proposal(user_id=world.users["marion"], created_date=now(), type=1) for _ in "ab"]
        session.add_all(ads)
        session.flush()
        session.add_all(
            [ProposalCommunity(proposal_id=ad.id, community_id=arc) for ad in ads]
            + [ProposalCommunity(proposal_id=ads[0].id, community_id=lenord)]
            + [CommunitySecurity(community_id=arc, filename="arc-ids.csv", original_name="ids.csv")]
            + [ChatBinding(platform="telegram", chat_id="-100", community_id=arc, created_at=now())]
        )
    return arc


def count(ctx, model, **where) -> int:
    with ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query)


def test_the_creator_sees_the_summary_then_deletes_by_typing_the_exact_name(ctx, world, tmp_path):
    arc = with_ads_files_and_binding(ctx, world, tmp_path)
    jeanmarc = actor(ctx, world, "jeanmarc")

    ask = run(ctx, jeanmarc, f"supprimer {arc}")

    assert ask.text.splitlines() == [
        f"⚠️ **Supprimer Arc France** (n° {arc}) ? C'est définitif. Partiront avec elle :",
        "• 3 membres dont 2 modérateurs, 3 demandes en attente, 1 refusé",
        "• les liens de 2 annonces avec la communauté (les annonces elles-mêmes restent)",
        "• 1 fichier d'identifiants",
        "Pour confirmer, tapez le nom exact de la communauté : Arc France",
    ]
    confirm = ask.all_buttons[0]
    assert (confirm.action, confirm.ref, confirm.style) == ("delete", str(arc), "danger")
    assert "• 3 membres" in confirm.input.prompt  # the summary again, where the name is typed

    reply = press(ctx, jeanmarc, Press("delete", confirm.ref, text="  Arc France "))

    assert reply.ok
    assert reply.text.splitlines()[0] == (
        f"🗑 La communauté Arc France (n° {arc}) a été supprimée par Jean-Marc M. le {NOW_FR}. "
        "Hauts-de-France Mobilités en est informé."
    )
    assert count(ctx, Community, id=arc) == 0
    assert count(ctx, CommunityUser, community_id=arc) == 0
    assert count(ctx, ProposalCommunity, community_id=arc) == 0
    assert count(ctx, CommunitySecurity, community_id=arc) == 0
    assert count(ctx, Proposal) == 2  # the ads themselves stay
    assert count(ctx, ProposalCommunity) == 1  # LeNord's link stays
    assert count(ctx, CommunityUser) == 4  # LeNord's and GSK's memberships stay
    assert not (ctx.settings.security_folder / "arc-ids.csv").exists()
    assert count(ctx, ChatBinding, active=True) == 0
    [entry] = audit_entries(ctx)
    assert (entry.action, entry.community_id) == ("delete_community", arc)
    before = json.loads(entry.before)
    assert (before["name"], before["validation_type"], before["domain"]) == (
        "Arc France", 1, "arcfrance.fr")  # fmt: skip
    after = json.loads(entry.after)
    assert (after["ads"], after["identifier_files"]) == (2, 1)
    assert after["memberships"] == {"0": 3, "1": 1, "2": 2, "3": 1}
    [(kind, community_id, payload)] = feed(ctx)
    assert (kind, community_id, payload["community"]) == ("community_deleted", arc, "Arc France")
    assert payload["before"]["description"] == "Covoiturage Arc France"


def test_a_name_not_exactly_typed_deletes_nothing(ctx, world, tmp_path):
    arc = with_ads_files_and_binding(ctx, world, tmp_path)
    jeanmarc = actor(ctx, world, "jeanmarc")
    before = full_snapshot(ctx)

    for typed in ("arc france", "Arc", "", "Arc France!"):
        reply = press(ctx, jeanmarc, Press("delete", str(arc), text=typed))
        assert_refused_full(ctx, reply, before, "n'est pas exactement celui de la communauté",
                            "Rien n'a été supprimé")  # fmt: skip
    assert (ctx.settings.security_folder / "arc-ids.csv").exists()


def test_a_moderator_or_a_member_may_not_delete(ctx, world):
    arc = world.communities["arc"]
    before = full_snapshot(ctx)

    for person in ("emilie",):  # a moderator of Arc France, not its creator
        who = actor(ctx, world, person)
        for reply in (
            run(ctx, who, f"supprimer {arc}"),
            run(ctx, who, f"supprimer {arc} Arc France"),
            press(ctx, who, Press("delete", str(arc), text="Arc France")),
        ):
            assert_refused_full(
                ctx, reply, before, "Seuls le référent de Arc France (son créateur)"
            )
    for person in ("marion", "eddy"):
        reply = press(ctx, actor(ctx, world, person), Press("delete", str(arc), text="Arc France"))
        assert_refused_full(
            ctx,
            reply,
            before,
            f"Communauté n° {arc} : introuvable parmi celles que vous administrez",
        )


def test_an_operator_deletes_any_community_with_the_name_in_the_command(ctx, world):
    gsk = world.communities["gsk"]

    reply = run(ctx, actor(ctx, world, "operator"), f"supprimer {gsk} GSK Saint Amand les Eaux")

    assert reply.ok
    assert "a été supprimée par Opérateur H." in reply.text
    assert "• 1 membre dont 1 modérateur, 1 demande en attente, 0 refusé" in reply.text
    assert count(ctx, Community, id=gsk) == 0
    assert [k for k, _, _ in feed(ctx)] == ["community_deleted"]


def test_a_community_deleted_meanwhile_is_said_to_be_unknown(ctx, world):
    gsk = world.communities["gsk"]
    operator = actor(ctx, world, "operator")
    run(ctx, operator, f"supprimer {gsk} GSK Saint Amand les Eaux")
    before = full_snapshot(ctx)

    reply = press(ctx, operator, Press("delete", str(gsk), text="GSK Saint Amand les Eaux"))

    assert_refused_full(
        ctx, reply, before, f"Communauté n° {gsk} : introuvable parmi celles que vous administrez"
    )


def test_on_the_platform_schema_the_other_references_follow_its_foreign_keys(ctx, world, engine):
    """community_import rows go with the community (ON DELETE CASCADE), mass mailings stay
    without it (SET NULL): the summary names what goes."""
    if engine.dialect.name != "mysql":
        pytest.skip("only the platform's real schema (MariaDB) has these tables")
    arc = world.communities["arc"]
    jeanmarc = actor(ctx, world, "jeanmarc")
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO community_import (community_id, community_external_id, status) "
                     "VALUES (:c, 'ext-1', 0)"), {"c": arc})  # fmt: skip
            connection.execute(
                text("INSERT INTO mass (community_id, file_name, original_name, size, mime_type, "
                     "created_date, status) VALUES (:c, 'f', 'o', 1, 'text/csv', NOW(), 0)"),
                {"c": arc},
            )  # fmt: skip

        ask = press(ctx, jeanmarc, Press("delete_ask", str(arc)))
        assert "• 1 ligne de « community_import »" in ask.text.splitlines()
        assert "mass" not in ask.text
        reply = press(ctx, jeanmarc, Press("delete", str(arc), text="Arc France"))

        assert reply.ok, reply.text
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT COUNT(*) FROM community_import")) == 0
            assert connection.scalar(text("SELECT community_id FROM mass")) is None
        assert json.loads(audit_entries(ctx)[0].after)["others"] == {"community_import": 1}
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM community_import"))
            connection.execute(text("DELETE FROM mass"))


# --- Typing the exact name right after the summary ---------------------------------------------
# The summary ends with "tapez le nom exact": the next message of that person in that chat is
# the name (Reply.awaits, parked by handlers/chat/pending_input.py like a press of its button).

TG_GROUP = {"id": -200300, "type": "group", "title": "Référents Arc"}


def test_the_summary_listens_for_the_name_as_its_button_would(ctx, world):
    """The reply that ends with "tapez le nom exact" parks its button's press for the person
    who asked, in that chat, for the same 10 minutes as a press; a refusal parks nothing."""
    arc = world.communities["arc"]
    account = ChatAccount("telegram", "1002")
    place = ChatPlace("telegram", "1002")
    code = issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code
    assert chat_entry.on_command(ctx, account, place, "start", [code]).ok

    answer = pending_input.on_command(ctx, account, place, "supprimer", [str(arc)])

    assert answer.reply.awaits in answer.reply.all_buttons  # the button stays
    assert answer.awaiting == answer.reply.awaits.input
    with ctx.sessions() as session:
        row = session.scalars(select(PendingInput)).one()
    assert (row.action, row.ref, row.chat_id, row.external_id) == (
        "~tdelete", str(arc), "1002", "1002")  # fmt: skip
    assert row.expires_at - row.created_at == pending_input.LIFETIME
    # Someone else in that chat (or the same person elsewhere) is not listened to.
    other = ChatAccount("telegram", "1001")
    assert pending_input.on_text(ctx, other, place, "Arc France") is None
    assert pending_input.on_text(ctx, account, ChatPlace("telegram", "-5", is_group=True),
                                 "Arc France") is None  # fmt: skip
    assert count(ctx, Community, id=arc) == 1

    done = pending_input.on_text(ctx, account, place, "Arc France")
    assert done is not None and done.reply.ok and "a été supprimée" in done.reply.text
    assert count(ctx, Community, id=arc) == 0

    refused = pending_input.on_command(ctx, account, place, "supprimer", [str(arc)])
    assert refused.reply.ok is False and refused.awaiting is None
    assert count(ctx, PendingInput) == 0


def test_in_the_terminal_the_next_line_is_the_name(ctx, world):
    gsk = world.communities["gsk"]
    before = full_snapshot(ctx)

    out = run_console(ctx, world.users["cyrielle"], ["supprimer", "gsk saint amand", "quitter"])

    assert "tapez le nom exact de la communauté : GSK Saint Amand les Eaux" in out
    assert "Le nom tapé, « gsk saint amand », n'est pas exactement celui" in out
    assert full_snapshot(ctx) == before
    # Cancel, then the name: the question is gone, the name is an unknown command.
    out = run_console(
        ctx, world.users["cyrielle"], ["supprimer", "2", "GSK Saint Amand les Eaux", "quitter"]
    )
    assert "Annulé" in out
    assert "Commande inconnue : « gsk »" in out
    assert full_snapshot(ctx) == before

    out = run_console(ctx, world.users["cyrielle"], ["supprimer", "GSK Saint Amand les Eaux"])

    assert "La communauté GSK Saint Amand les Eaux" in out and "a été supprimée" in out
    assert count(ctx, Community, id=gsk) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_on_telegram_the_name_typed_after_the_summary_deletes(api, front, ctx, world):
    arc = world.communities["arc"]
    await link(api, ctx, JEANMARC)
    api.send_text(JEANMARC, f"/supprimer {arc}")
    summary = await reply_to(api, JEANMARC["id"], 2)
    assert summary.text.endswith("Pour confirmer, tapez le nom exact de la communauté : Arc France")
    assert summary.button("Supprimer (taper le nom)") and summary.button("Annuler")
    before = full_snapshot(ctx)

    api.send_text(JEANMARC, "arc france")

    refused = await reply_to(api, JEANMARC["id"], 3)
    assert "« arc france », n'est pas exactement celui de la communauté" in refused.text
    assert full_snapshot(ctx) == before
    # Asked again, the exact name deletes.
    api.send_text(JEANMARC, f"/supprimer {arc}")
    await reply_to(api, JEANMARC["id"], 4)
    api.send_text(JEANMARC, "Arc France")
    done = await reply_to(api, JEANMARC["id"], 5)
    assert done.text.startswith("🗑 La communauté Arc France")
    assert "a été supprimée par Jean-Marc M." in done.text
    assert count(ctx, Community, id=arc) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_on_telegram_cancel_stops_listening(api, front, ctx, world):
    arc = world.communities["arc"]
    await link(api, ctx, JEANMARC)
    api.send_text(JEANMARC, f"/supprimer {arc}")
    summary = await reply_to(api, JEANMARC["id"], 2)
    before = full_snapshot(ctx)

    api.press(JEANMARC, summary, summary.button("Annuler")["callback_data"])
    await reply_to(api, JEANMARC["id"], 1, "editMessageText")
    api.send_text(JEANMARC, "Arc France")

    late = await reply_to(api, JEANMARC["id"], 3)
    assert "Commande inconnue : « arc »" in late.text
    assert full_snapshot(ctx) == before


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_in_a_telegram_group_only_the_persons_own_message_counts(api, front, ctx, world):
    arc = world.communities["arc"]
    await link(api, ctx, JEANMARC)
    await link(api, ctx, EMILIE)
    api.send_text(JEANMARC, f"/supprimer {arc}", chat=TG_GROUP)
    # In a group the bot sees replies only: the summary forces one from him (privacy mode).
    prompt = await api.wait_for(
        lambda c: c.method == "sendMessage" and "tapez le nom exact" in c.text
    )
    assert prompt[0].params["reply_markup"] == {"force_reply": True, "selective": True}
    assert 'href="tg://user?id=1002"' in prompt[0].text
    before = full_snapshot(ctx)

    for someone in (STRANGER, EMILIE):  # another person's message, linked or not
        api.send_text(someone, "Arc France", chat=TG_GROUP, reply_to_message=prompt[0].result)
    api.send_text(EMILIE, "/aide", chat=TG_GROUP)  # handled after the two above
    await api.wait_for(lambda c: c.method == "sendMessage" and "attente" in c.text)
    assert full_snapshot(ctx) == before
    assert not [c for c in api.sent(TG_GROUP["id"]) if "supprimée" in c.text]

    api.send_text(JEANMARC, "Arc France", chat=TG_GROUP, reply_to_message=prompt[0].result)

    done = await api.wait_for(lambda c: c.method == "sendMessage" and "a été supprimée" in c.text)
    assert done[0].chat_id == str(TG_GROUP["id"])
    assert count(ctx, Community, id=arc) == 0


# --- Slack: a typed message in the conversation where the summary was posted -------------------


async def slack_message(started, who: str, text: str, channel: str = SLACK_CHANNEL):
    """A plain message typed in a conversation (message.channels / message.im events)."""
    event = {
        "type": "event_callback", "token": "legacy", "team_id": SLACK_TEAM,
        "api_app_id": "A0PASSPASS", "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "event": {"type": "message", "channel": channel,
                  "channel_type": "im" if channel.startswith("D") else "channel",
                  "user": SLACK_IDS[who], "team": SLACK_TEAM, "text": text,
                  "ts": f"{time.time():.6f}"},
    }  # fmt: skip
    return await started.user.post(json.dumps(event), "application/json", "message event")


@pytest.mark.asyncio
async def test_on_slack_the_name_typed_in_the_channel_deletes(bot):
    arc = bot.world.communities["arc"]
    await bot.user.command("jeanmarc", f"supprimer {arc}")
    (summary,) = await bot.fake.wait_for("chat.postMessage")
    assert summary.args["channel"] == SLACK_CHANNEL
    assert bot.fake.texts("chat.postMessage")[0].endswith(
        "tapez le nom exact de la communauté : Arc France"
    )
    before = full_snapshot(bot.ctx)

    # Another person's message in the channel is channel talk; his own wrong name is refused.
    await slack_message(bot, "emilie", "Arc France")
    await slack_message(bot, "jeanmarc", "Arc")
    (refused,) = await bot.fake.wait_for("chat.postEphemeral")
    assert refused.args["user"] == SLACK_IDS["jeanmarc"]
    assert (
        "« Arc », n'est pas exactement celui de la communauté"
        in (bot.fake.texts("chat.postEphemeral")[0])
    )
    assert full_snapshot(bot.ctx) == before
    assert len(bot.fake.of("chat.postMessage")) == 1

    await bot.user.command("jeanmarc", f"supprimer {arc}")
    await bot.fake.wait_for("chat.postMessage", 2)
    await slack_message(bot, "jeanmarc", "Arc France")

    await bot.fake.wait_for("chat.postMessage", 3)
    assert "a été supprimée par Jean-Marc M." in bot.fake.texts("chat.postMessage")[2]
    assert count(bot.ctx, Community, id=arc) == 0


@pytest.mark.asyncio
async def test_on_slack_the_button_opens_a_box_for_the_name(bot):
    """The button stays as the other way; Slack asks in a modal (its action declares no input,
    the button does: it is marked, as on Telegram)."""
    arc = bot.world.communities["arc"]
    await bot.user.command("jeanmarc", f"supprimer {arc}")
    (summary,) = await bot.fake.wait_for("chat.postMessage")
    [button] = [e for e in slack_elements(summary.args) if "taper le nom" in str(e)]
    assert button["value"] == f"~tdelete|{arc}"

    await bot.user.press("jeanmarc", button, summary.result["ts"])

    (opened,) = await bot.fake.wait_for("views.open")
    view = opened.args["view"]
    assert view["blocks"][0]["label"]["text"] == "🗑 Supprimer (taper le nom)"
    assert count(bot.ctx, Community, id=arc) == 1
    await bot.user.submit("jeanmarc", view, "Arc France")
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.args["ts"] == summary.result["ts"]
    assert "a été supprimée par Jean-Marc M." in bot.fake.texts("chat.update")[0]
    assert count(bot.ctx, Community, id=arc) == 0
