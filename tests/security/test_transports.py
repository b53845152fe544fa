"""Transports: Slack's signature bound to the body and a signed request replayed within the
window (it decides nothing twice); and a full scenario on both fronts and the e-mail sender with
every logger at DEBUG, in which no secret appears in any log line, in clear, URL-encoded or in
base64. (Missing or wrong signatures, stale timestamps and the Telegram webhook secret are
covered in tests/bot/slack/test_transport.py and tests/bot/telegram/test_webhook_and_logs.py.)"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import json
import logging
import socket
import urllib.parse

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import EmailConfig
from bot.email_sender import deliver_due
from bot.runtime import App
from bot.slack.front import SlackFront
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.linking import issue_link_code
from handlers.core.context import Context
from storage.bot_models import AuditEntry
from storage.codes import MembershipStatus
from storage.engine import make_sessionmaker
from tests.bot.slack.conftest import (
    APP_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    SLACK_IDS,
    SlackUser,
    sign,
    slack_config,
)
from tests.bot.slack.fake_slack_api import BOT_TOKEN, TEAM
from tests.bot.slack.test_scenarios import find
from tests.bot.telegram.conftest import EMILIE, telegram_config
from tests.bot.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.handlers.helpers import add_members, membership, snapshot
from tests.security.conftest import full_snapshot
from tests.support.smtp import SmtpServer
from tests.support.world import build_world

pytestmark = pytest.mark.asyncio
WEBHOOK_SECRET = "wh-Secret_0123456789-abcdef"
SMTP_USER, SMTP_PASSWORD = "referent-bot", "p@ss word/+=&%Secret!"


def press_body(who: str, element: dict, message_ts: str, fake_url: str) -> str:
    payload = {
        "type": "block_actions", "api_app_id": "A0PASSPASS", "token": "legacy",
        "user": {"id": SLACK_IDS[who], "team_id": TEAM}, "team": {"id": TEAM},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL,
                      "is_ephemeral": False},
        "channel": {"id": CHANNEL}, "trigger_id": "trigger-1",
        "response_url": f"{fake_url}/response/{message_ts}",
        "actions": [{"action_id": element["action_id"], "block_id": "b", "type": "button",
                     "value": element["value"], "action_ts": "1"}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


async def post(url: str, body: str, headers: dict) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}  # unless given
    async with aiohttp.ClientSession() as session, session.post(url, data=body,
                                                                 headers=headers) as r:  # fmt: skip
        return r.status


async def test_a_signature_is_bound_to_its_body_and_a_replay_decides_nothing_twice(bot):
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    approve = find(listing, "approve_listed", "Pierre")
    body = press_body("jeanmarc", approve, listing.result["ts"], bot.fake.url)
    headers = sign(body)
    before = snapshot(bot.ctx)

    # The same signature on another body (Hélène instead of Pierre): refused, nothing done.
    tampered = body.replace(
        urllib.parse.quote(approve["value"], safe=""),
        urllib.parse.quote(find(listing, "approve_listed", "Hélène")["value"], safe=""),
    )
    assert tampered != body
    assert await post(bot.user.endpoint, tampered, headers) == 401
    await asyncio.sleep(0.2)
    assert snapshot(bot.ctx) == before and bot.fake.of("chat.update") == []

    # The genuine request, then the very same bytes again within the 5 minutes.
    assert await post(bot.user.endpoint, body, headers) == 200
    await bot.fake.wait_for("chat.update")
    decided = full_snapshot(bot.ctx)
    assert await post(bot.user.endpoint, body, headers) == 200
    # The copy carries the same trigger id: acknowledged and dropped before any use case
    # (handlers/chat/seen_updates.py), so the message is not touched again.
    await asyncio.sleep(0.5)
    assert len(bot.fake.of("chat.update")) == 1
    assert full_snapshot(bot.ctx) == decided  # one decision, one audit entry, one e-mail
    with bot.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


# --- No secret in any log line -----------------------------------------------------------------

#: Every library logger the scenario goes through, forced to DEBUG.
LOGGERS = ("", "telegram", "httpx", "httpcore", "slack_bolt", "slack_sdk", "aiohttp",
           "tornado", "sqlalchemy.engine", "asyncio", "bot", "handlers", "mail.log",
           "referent_bot")  # fmt: skip


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def forms(secret: str) -> set[str]:
    """The secret as it could appear in a log: in clear, URL-encoded, in base64."""
    found = {secret, secret.lower(), urllib.parse.quote(secret, safe=""),
             urllib.parse.quote_plus(secret),
             base64.b64encode(secret.encode()).decode()}  # fmt: skip
    return {form for form in found if len(form) >= 6}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def through_webhook(api: FakeBotApi, url: str, secret: str, tasks: set) -> None:
    """Updates the fake Bot API would queue go to the bot's webhook instead, with the header."""
    numbers = itertools.count(500)

    async def send(update: dict) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=json.dumps(update), headers=headers) as response,
        ):
            assert response.status == 200

    def push(update: dict) -> dict:
        update = {"update_id": next(numbers), **update}
        task = asyncio.get_running_loop().create_task(send(update))
        tasks.add(task)
        return update

    api.push = push  # type: ignore[method-assign]


async def test_no_secret_in_any_log_line_of_a_full_scenario_at_debug(fake, sqlite_engine,
                                                                      settings):  # fmt: skip
    world = build_world(sqlite_engine)
    settings = dataclasses.replace(settings, email_enabled=True)
    ctx = Context(sessions=make_sessionmaker(sqlite_engine), settings=settings)
    extra = add_members(ctx, world, "arc", 2, MembershipStatus.PENDING)
    telegram_api = FakeBotApi()
    await telegram_api.start()
    smtp = SmtpServer(SMTP_USER, SMTP_PASSWORD)
    smtp.start()
    port = free_port()
    config = dataclasses.replace(
        slack_config(fake),
        telegram=telegram_config(
            telegram_api, mode="webhook", webhook_url="https://bot.example.org/telegram",
            webhook_secret=WEBHOOK_SECRET, listen_host="127.0.0.1", listen_port=port,
        ).telegram,
    )  # fmt: skip
    early, late = Collect(), Collect()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(early)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    app = App(Runtime(config, sqlite_engine, ctx))
    slack = SlackFront(app, min_interval=0.0)
    telegram = TelegramFront(app)
    tasks: set = set()
    codes: list[str] = []
    try:
        await slack.start()
        await telegram.start()
        root.handlers.insert(0, late)  # logging reconfigured after the fronts started
        for name in ("httpx", "httpcore"):  # and the HTTP client forced back to DEBUG
            logging.getLogger(name).setLevel(logging.DEBUG)
        through_webhook(telegram_api, f"http://127.0.0.1:{port}/telegram", WEBHOOK_SECRET, tasks)

        # Telegram: link with /start CODE, list, approve, refuse with a reason.
        codes.append(issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code)
        telegram_api.send_text(EMILIE, f"mon code : {codes[-1]}")  # pasted bare, not redeemed
        await telegram_api.wait_for(lambda c: "pas relié" in (c.params.get("text") or ""))
        telegram_api.send_text(EMILIE, f"/start {codes[-1]}")
        await telegram_api.wait_for(lambda c: "Compte relié" in (c.params.get("text") or ""))
        telegram_api.send_text(EMILIE, "/attente")
        (listing,) = await telegram_api.wait_for(
            lambda c: "Demandes en attente" in (c.params.get("text") or ""))  # fmt: skip
        telegram_api.press(EMILIE, listing, listing.button("✅ Pierre")["callback_data"])
        await telegram_api.wait_for(lambda c: c.method == "editMessageText")
        telegram_api.press(EMILIE, listing, listing.button("❌ Hélène")["callback_data"])
        await telegram_api.wait_for(lambda c: "Motif du refus" in (c.params.get("text") or ""))
        telegram_api.send_text(EMILIE, "Hors périmètre")
        await telegram_api.wait_for(lambda c: c.method == "editMessageText", count=2)

        # Slack: link with the command, list, approve, refuse with a reason in the modal.
        user = SlackUser(f"http://127.0.0.1:{slack.port}/slack/events", fake)
        codes.append(issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code)
        await user.command("jeanmarc", f"link {codes[-1].lower()}")
        await fake.wait_for("chat.postEphemeral")
        await user.command("jeanmarc", "attente")
        (slack_listing,) = await fake.wait_for("chat.postMessage")
        ts = slack_listing.result["ts"]
        await user.press("jeanmarc", find(slack_listing, "approve_listed", "François"), ts)
        await fake.wait_for("chat.update")
        await user.press("jeanmarc", find(slack_listing, "refuse_listed", "Membre"), ts)
        (opened,) = await fake.wait_for("views.open")
        await user.submit("jeanmarc", opened.args["view"], "Pas salarié")
        await fake.wait_for("chat.update", 2)
        assert await user.command("jeanmarc", "aide", secret="forged") is not None  # 401

        # The e-mails of those decisions: a wrong password first, then the right one.
        email = EmailConfig(host="127.0.0.1", port=smtp.port, security="none", user=SMTP_USER,
                            password="wrong-" + SMTP_PASSWORD, sender="bot@exemple.fr",
                            timeout_seconds=5, retry_seconds=1)  # fmt: skip
        assert deliver_due(ctx.sessions, email, "w1").sent == 0
        from storage import clock

        clock.set_now(clock.now().replace(minute=30))
        right = dataclasses.replace(email, password=SMTP_PASSWORD)
        assert deliver_due(ctx.sessions, right, "w2").sent == 4
        await asyncio.gather(*tasks)
    finally:
        await telegram.stop()
        await slack.stop()
        app.close()
        await telegram_api.stop()
        smtp.stop()
        root.removeHandler(early)
        root.removeHandler(late)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    assert membership(ctx, extra[0]).status in (MembershipStatus.REFUSED, MembershipStatus.PENDING)
    assert smtp.logins == [SMTP_USER]
    secrets = {"Telegram token": TOKEN, "token's secret part": TOKEN.split(":")[1],
               "webhook secret": WEBHOOK_SECRET, "Slack bot token": BOT_TOKEN,
               "signing secret": SIGNING_SECRET, "app token": APP_TOKEN,
               "SMTP password": SMTP_PASSWORD, "SMTP AUTH PLAIN":
               f"\0{SMTP_USER}\0{SMTP_PASSWORD}"}  # fmt: skip
    secrets |= {f"link code {n}": code for n, code in enumerate(codes)}
    for handler in (early, late):
        assert len(handler.lines) > 100  # the libraries did log, at DEBUG
        text = "\n".join(handler.lines)
        assert "sqlalchemy.engine" in text and "telegram" in text and "slack" in text
        for what, secret in secrets.items():
            for form in forms(secret):
                leaked = [line[:300] for line in handler.lines if form in line]
                assert not leaked, (what, form, leaked[:3])


# --- Odd Slack payloads ------------------------------------------------------------------------


async def test_odd_slack_payloads_are_acknowledged_and_change_nothing(bot, caplog):
    caplog.set_level(logging.WARNING)
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    approve = find(listing, "approve_listed", "Pierre")
    before = full_snapshot(bot.ctx)

    for metadata in ("[1, 2]", "null", '"approve|1"', "{", '{"v": 5, "c": 7}', '{"v": "٣|١"}'):
        view = {
            "id": "V1",
            "type": "modal",
            "callback_id": "rb_input",
            "blocks": [],
            "private_metadata": metadata,
        }
        assert (await bot.user.submit("jeanmarc", view, "motif")).status == 200
    for value in ("", "|", "approve", "approve|", "approve|" + "9" * 5000, "\u0000|\u0000"):
        sent = await bot.user.press("jeanmarc", approve, listing.result["ts"], value=value)
        assert sent.status == 200
    await asyncio.sleep(0.5)

    assert full_snapshot(bot.ctx) == before and bot.fake.of("chat.update") == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    texts = bot.fake.texts("chat.postEphemeral")
    assert texts and all(text.startswith("Ce bouton n'est pas valide") for text in texts), texts


async def test_the_bot_token_goes_to_no_file_url_outside_slack(bot):
    bot.fake.downloads["ids.csv"] = b"a;b\n"
    before = full_snapshot(bot.ctx)
    for url in (f"http://localhost:{bot.fake.port}/files/ids.csv",  # another host name
                "https://files.slack.com.evil.example/files/ids.csv"):  # fmt: skip
        event = {
            "type": "event_callback", "token": "legacy", "team_id": TEAM,
            "api_app_id": "A0PASSPASS", "event_id": f"Ev{len(url)}", "event_time": 1,
            "event": {"type": "message", "subtype": "file_share", "channel": "D0JEANMARC",
                      "channel_type": "im", "user": SLACK_IDS["jeanmarc"], "team": TEAM,
                      "text": "", "ts": "1.000001",
                      "files": [{"id": "F0", "name": "ids.csv", "size": 4, "url_private": url}]},
        }  # fmt: skip
        body = json.dumps(event)
        headers = {"Content-Type": "application/json", **sign(body)}
        assert await post(bot.user.endpoint, body, headers) == 200

    await bot.fake.wait_for("chat.postEphemeral", 2)
    assert bot.fake.of("download") == []  # the fake only records a download with the token
    assert (
        bot.fake.texts("chat.postEphemeral")
        == [
            "Impossible de récupérer le fichier auprès de Slack. Rien n'a été modifié ; "
            "déposez-le à nouveau dans un instant."
        ]
        * 2
    )
    assert full_snapshot(bot.ctx) == before


async def test_a_member_s_name_cannot_mention_the_channel_or_hide_a_link_on_slack(bot):
    """Anyone can ask to join a community with any name: Slack must show it, not act on it."""
    add_members(bot.ctx, bot.world, "arc", 1, MembershipStatus.PENDING, given="<!channel>",
                family="<https://evil.example|Approuver>")  # fmt: skip
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")

    # Slack reads mentions and links in `text` and in mrkdwn blocks (plain_text labels are
    # shown as they are).
    mrkdwn = [b["text"]["text"] for b in listing.args["blocks"]
              if b.get("text", {}).get("type") == "mrkdwn"]  # fmt: skip
    assert any("&lt;!channel&gt;00" in text for text in mrkdwn)
    for text in [listing.args["text"], *mrkdwn]:
        assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt;00 &lt;." in listing.args["text"]
