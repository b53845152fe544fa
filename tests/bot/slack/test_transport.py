"""The transport: signatures, replays, rate limits, Socket Mode, uploads, secrets in logs, and two
deciders at the same moment on every database."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest
from sqlalchemy import func, select

from handlers.chat.linking import issue_link_code
from handlers.core.reply import Button, Image, Reply
from storage.bot_models import AuditEntry, ChatIdentity
from storage.codes import MembershipStatus
from tests.bot.slack.conftest import (
    APP_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    SLACK_IDS,
    command_payload,
    link,
    record_acks,
    start_bot,
)  # fmt: skip
from tests.bot.slack.fake_slack_api import BOT_TOKEN, TEAM
from tests.bot.slack.test_scenarios import ACK_LIMIT, find
from tests.handlers.helpers import membership, snapshot

pytestmark = pytest.mark.asyncio


async def test_a_bad_signature_gets_401_and_changes_nothing(bot):
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    approve = find(listing, "approve_listed", "Pierre")
    before, calls = snapshot(bot.ctx), len(bot.fake.calls)
    forged = await bot.user.command("jeanmarc", "communautes", secret="not-the-secret")
    assert forged.status == 401
    body = bot.user.command_body("jeanmarc", "communautes")
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": str(int(time.time()))}  # fmt: skip
    async with (
        aiohttp.ClientSession() as session,
        session.post(bot.user.endpoint, data=body, headers=headers) as response,
    ):
        assert response.status == 401  # no signature at all
    pressed = await bot.user.press(
        "jeanmarc", approve, listing.result["ts"], secret="not-the-secret"
    )
    assert pressed.status == 401
    await asyncio.sleep(0.3)
    assert len(bot.fake.calls) == calls and snapshot(bot.ctx) == before


async def test_a_replayed_old_request_gets_401(bot):
    old = int(time.time()) - 6 * 60
    replay = await bot.user.command("jeanmarc", "communautes", timestamp=old)
    assert replay.status == 401
    future = await bot.user.command("jeanmarc", "communautes", timestamp=int(time.time()) + 400)
    assert future.status == 401
    fresh = await bot.user.command("jeanmarc", "communautes", timestamp=int(time.time()) - 60)
    assert fresh.status == 200
    await bot.fake.wait_for("chat.postMessage")
    await asyncio.sleep(0.3)
    assert len(bot.fake.of("chat.postMessage")) == 1


async def test_429_retry_after_is_honoured_during_a_reply(bot):
    bot.fake.rate_limit("chat.postMessage", retry_after=1)
    await bot.user.command("jeanmarc", "communautes")
    (posted,) = await bot.fake.wait_for("chat.postMessage")
    (limited,) = bot.fake.of("chat.postMessage#429")
    assert posted.at - limited.at >= 0.95
    assert bot.fake.texts("chat.postMessage")[0].startswith("*Vos communautés*")


async def test_at_most_one_message_per_second_per_channel(bot):
    await asyncio.gather(
        bot.user.command("jeanmarc", "aide"),
        bot.user.command("jeanmarc", "communautes"),
        bot.user.command("jeanmarc", "aide", channel="C0OTHER"),
    )
    posts = await bot.fake.wait_for("chat.postMessage", 3)
    here = [c.at for c in posts if c.args["channel"] == CHANNEL]
    other = [c.at for c in posts if c.args["channel"] == "C0OTHER"]
    assert len(here) == 2 and abs(here[1] - here[0]) >= 0.95
    assert other[0] - min(here) < 0.9  # another channel is not held back


async def test_charts_go_up_with_files_upload_v2_and_alt_text(bot):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    reply = Reply(
        "**Inscriptions**",
        images=(Image(png, "Nouveaux inscrits par mois, 2023", "Courbe : 120 en janvier",
                      "inscrits.png"),),
        files=(("inscrits.csv", b"mois;inscrits\n2023-01;120\n"),),
    )  # fmt: skip
    await bot.front._deliver(reply, "fr", CHANNEL, SLACK_IDS["jeanmarc"])
    urls = await bot.fake.wait_for("files.getUploadURLExternal", 2)
    assert urls[0].args["filename"] == "inscrits.png"
    assert urls[0].args["alt_txt"] == "Courbe : 120 en janvier"
    assert int(urls[0].args["length"]) == len(png)
    completes = await bot.fake.wait_for("files.completeUploadExternal", 2)
    assert completes[0].args["channel_id"] == CHANNEL
    assert completes[0].args["initial_comment"] == "Nouveaux inscrits par mois, 2023"
    file_id = urls[0].result["file_id"]
    assert completes[0].args["files"][0]["id"] == file_id
    assert bot.fake.uploads[file_id] == png
    assert bot.fake.uploads[urls[1].result["file_id"]] == b"mois;inscrits\n2023-01;120\n"
    assert bot.fake.texts("chat.postMessage") == ["*Inscriptions*"]


async def test_socket_mode_end_to_end(fake, sqlite_engine, settings, caplog):
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(fake, sqlite_engine, settings, socket_mode=True)
    try:
        link(bot.ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
        (opened,) = await fake.wait_for("apps.connections.open")
        assert opened.token == APP_TOKEN
        payload = command_payload("jeanmarc", "communautes", CHANNEL, fake.url)
        started = time.perf_counter()
        await fake.push({"envelope_id": "env-1", "type": "slash_commands",
                         "accepts_response_payload": True, "payload": payload})  # fmt: skip
        while True:
            ack = await asyncio.wait_for(fake.socket_acks.get(), 5)
            if ack.get("envelope_id") == "env-1":
                break
        seconds = time.perf_counter() - started
        record_acks([("socket mode /passpass communautes", seconds)])
        assert seconds < ACK_LIMIT
        (posted,) = await fake.wait_for("chat.postMessage")
        assert posted.args["channel"] == CHANNEL
        assert fake.texts("chat.postMessage")[0].startswith("*Vos communautés* (1)")
        card = find(posted, "card")
        press = {
            "type": "block_actions", "user": {"id": SLACK_IDS["jeanmarc"], "team_id": TEAM},
            "team": {"id": TEAM}, "channel": {"id": CHANNEL}, "trigger_id": "t",
            "container": {"type": "message", "message_ts": posted.result["ts"],
                          "channel_id": CHANNEL, "is_ephemeral": False},
            "actions": [{"action_id": card["action_id"], "block_id": "b", "type": "button",
                         "value": card["value"], "action_ts": "1"}],
        }  # fmt: skip
        await fake.push({"envelope_id": "env-2", "type": "interactive", "payload": press})
        while (await asyncio.wait_for(fake.socket_acks.get(), 5)).get("envelope_id") != "env-2":
            pass
        await fake.wait_for("chat.postMessage", 2)
        assert fake.texts("chat.postMessage")[1].startswith("*Arc France* (n° ")
    finally:
        await bot.front.stop()
        bot.app.close()
    for secret in (APP_TOKEN, BOT_TOKEN):
        assert secret not in caplog.text


async def test_no_secret_in_any_log_line_at_debug(fake, sqlite_engine, settings, caplog):
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(fake, sqlite_engine, settings)
    try:
        code = issue_link_code(bot.ctx, "emilie.fournier@arcfrance.fr").code
        await bot.user.command("emilie", f"link {code}")
        # Acknowledged before the work: the stranger's attempt must come after Emilie's link.
        await fake.wait_for("chat.postEphemeral", 1)
        await bot.user.command("stranger", f"link {code.lower()}")
        await fake.wait_for("chat.postEphemeral", 2)
        await bot.user.command("emilie", "communautes")
        await fake.wait_for("chat.postMessage")
        assert await bot.user.command("emilie", "aide", secret="wrong") is not None
    finally:
        await bot.front.stop()
        bot.app.close()
    logged = caplog.text
    assert "chat.postMessage" in logged  # the libraries did log at DEBUG
    for secret in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, code, code.lower()):
        assert secret not in logged, secret


@pytest.mark.parametrize("engine", ["sqlite", "postgres", "mariadb"], indirect=True)
async def test_two_deciders_at_the_same_moment(fake, engine, settings):
    bot = await start_bot(fake, engine, settings, min_interval=0.0)
    try:
        link(bot.ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
        link(bot.ctx, "emilie", "emilie.fournier@arcfrance.fr")
        await bot.user.command("jeanmarc", "attente")
        (listing,) = await fake.wait_for("chat.postMessage")
        approve = find(listing, "approve_listed", "Pierre")
        await asyncio.gather(
            bot.user.press("jeanmarc", approve, listing.result["ts"]),
            bot.user.press("emilie", approve, listing.result["ts"]),
        )
        await fake.wait_for("chat.update", 2)
        texts = sorted(fake.texts("chat.update"), key=lambda text: text.startswith("Déjà"))
        pierre = membership(bot.ctx, bot.world.membership("arc", "pierre"))
        with bot.ctx.sessions() as session:
            decisions = session.scalar(select(func.count()).select_from(AuditEntry))
        assert decisions == 1
        assert pierre.status == MembershipStatus.MEMBER
        with bot.ctx.sessions() as session:
            winner = session.scalars(select(AuditEntry)).one().actor_user_id
        name = "Jean-Marc M." if winner == bot.world.users["jeanmarc"] else "Emilie F."
        assert pierre.admin_id == winner
        # Both update the list: the winner's shows the decision, the other's says who won.
        assert texts[0].startswith("*Demandes en attente : Arc France* (2)")
        assert texts[0].endswith(f"✅ Pierre L. : acceptée par {name} le 17/01/2024 à 10:02")
        assert texts[1].startswith(f"Déjà traité : Pierre L. a été accepté(e) par {name}")
        assert texts[1].splitlines()[1] == "*Demandes en attente : Arc France* (2)"
        record_acks(bot.user.acks)
    finally:
        await bot.front.stop()
        bot.app.close()
    with bot.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ChatIdentity)) == 2
    assert TEAM


async def test_a_line_typed_in_the_direct_message_is_a_command(bot):
    event = {
        "type": "event_callback", "token": "legacy", "team_id": TEAM,
        "api_app_id": "A0PASSPASS", "event_id": "Ev1", "event_time": int(time.time()),
        "event": {"type": "message", "channel": "D0JEANMARC", "channel_type": "im",
                  "user": SLACK_IDS["jeanmarc"], "team": TEAM, "text": "attente",
                  "ts": f"{time.time():.6f}"},
    }  # fmt: skip
    import json

    sent = await bot.user.post(json.dumps(event), "application/json", "direct message")
    assert sent.status == 200
    (posted,) = await bot.fake.wait_for("chat.postMessage")
    assert posted.args["channel"] == "D0JEANMARC"
    assert bot.fake.texts("chat.postMessage")[0].startswith("*Demandes en attente : Arc France*")


async def test_the_notifier_transport_sends_to_channels_and_people_and_maps_errors(bot):
    from bot.notifier import RetryLater, Unreachable

    transport = bot.app.transports["slack"]
    reply = Reply("**Nouvelle demande** : Pierre L.", ((Button("✅ Pierre L.", "approve", "7"),),))
    ref = await transport.send(CHANNEL, TEAM, reply)
    (posted,) = await bot.fake.wait_for("chat.postMessage")
    assert ref == f"{CHANNEL}:{posted.result['ts']}"
    assert bot.fake.texts("chat.postMessage") == ["*Nouvelle demande* : Pierre L."]
    dm_ref = await transport.send(SLACK_IDS["emilie"], TEAM, reply)
    (opened,) = bot.fake.of("conversations.open")
    assert opened.args["users"] == SLACK_IDS["emilie"]
    assert dm_ref.startswith(opened.result["channel"]["id"] + ":")
    await transport.edit(CHANNEL, TEAM, ref, Reply("✅ Pierre L. : demande acceptée"))
    (update,) = await bot.fake.wait_for("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, posted.result["ts"])
    bot.fake.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(Unreachable):
        await transport.send("C0GONE", TEAM, reply)
    bot.fake.fail("chat.postMessage", "internal_error")
    with pytest.raises(RetryLater):
        await transport.send("C0OTHER", TEAM, reply)


async def test_a_conversation_the_bot_is_not_in_gets_the_answer_through_response_url(bot):
    bot.fake.fail("chat.postMessage", "not_in_channel")
    bot.fake.fail("chat.postEphemeral", "channel_not_found")
    await bot.user.command("jeanmarc", "communautes", channel="C0PRIVATE")
    (answer,) = await bot.fake.wait_for("response_url")
    assert answer.args["response_type"] == "ephemeral"
    assert answer.args["replace_original"] is False
    assert answer.args["blocks"][0]["text"]["text"].startswith("*Vos communautés*")


async def test_an_unexpected_failure_reaches_the_person_as_an_ephemeral(bot, monkeypatch, caplog):
    from handlers.chat import pending_input

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pending_input, "on_command", broken)
    sent = await bot.user.command("jeanmarc", "attente")
    assert sent.status == 200
    (ephemeral,) = await bot.fake.wait_for("chat.postEphemeral")
    assert ephemeral.args["user"] == SLACK_IDS["jeanmarc"]
    assert bot.fake.texts("chat.postEphemeral") == [
        "Une erreur est survenue : rien n'a été modifié. Réessayez dans un instant."
    ]
    assert "Slack command 'attente' failed" in caplog.text
