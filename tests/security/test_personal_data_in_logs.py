"""Personal data in the logs (issue 18, point 7): with `[logging] redact_personal_data`, a full
scenario on both fronts and the e-mail sender, every logger at DEBUG, leaves no name, e-mail
address, typed text or file name of the scenario in any log line; with it off, the lines are
as they were (the names are there: the test would see a leak)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import types
import urllib.parse

import pytest

from bot.config import EmailConfig, load_config
from bot.email_sender import deliver_due
from bot.logs import redact_personal_data, redact_personal_data_in_logs, setup_logging
from bot.runtime import App
from bot.slack.front import SlackFront
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.linking import issue_link_code
from handlers.core.context import Context
from storage.codes import MembershipStatus
from storage.engine import make_sessionmaker
from tests.bot.slack.conftest import SlackUser, slack_config
from tests.bot.slack.test_scenarios import find
from tests.bot.telegram.conftest import EMILIE, telegram_config
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.handlers.helpers import add_members
from tests.security.test_transports import (
    LOGGERS,
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    Collect,
    free_port,
    through_webhook,
)
from tests.support.smtp import SmtpServer
from tests.support.world import PEOPLE, build_world

#: What the scenario's people are called and what they type (the file's name included).
REASONS = ("Hors périmètre du site", "Pas salarié d'Arc")
FILE_NAME = "liste-salaries-arc.csv"
ADDED = "lila.aubert@free.fr"


def forms(value: str) -> set[str]:
    """The value as a log line could hold it: in clear, URL-encoded, JSON-escaped, as the
    repr of its UTF-8 bytes."""
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
            json.dumps(value)[1:-1], repr(value.encode())[2:-1]}  # fmt: skip


def personal_data() -> dict[str, str]:
    found = {}
    for key in ("emilie", "jeanmarc", "pierre", "helene", "francois", "lila"):
        given, family, email = PEOPLE[key]
        found |= {f"{key} given name": given, f"{key} family name": family, f"{key} e-mail": email}
    found |= {f"reason {n}": reason for n, reason in enumerate(REASONS)}
    found |= {"file name": FILE_NAME, "extra member's family name": "Extrapersonne",
              "Slack user name": "u0jeanmarc"}  # fmt: skip
    return found


async def run_scenario(fake, sqlite_engine, settings) -> list[Collect]:
    """The scenario of test_transports, plus an e-mail typed in a message, a Slack file and a
    renaming; every logger at DEBUG; the lines of a handler set before and one set after."""
    world = build_world(sqlite_engine)
    settings = dataclasses.replace(settings, email_enabled=True)
    ctx = Context(sessions=make_sessionmaker(sqlite_engine), settings=settings)
    add_members(ctx, world, "arc", 2, MembershipStatus.PENDING, family="Extrapersonne")
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
    try:
        await slack.start()
        await telegram.start()
        root.handlers.insert(0, late)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        through_webhook(telegram_api, f"http://127.0.0.1:{port}/telegram", WEBHOOK_SECRET, tasks)

        # Telegram: link, list, approve, refuse with a reason, add someone by e-mail.
        telegram_api.send_text(EMILIE, f"/start {issue_link_code(ctx, PEOPLE['emilie'][2]).code}")
        await telegram_api.wait_for(lambda c: "Compte relié" in (c.params.get("text") or ""))
        telegram_api.send_text(EMILIE, "/attente")
        (listing,) = await telegram_api.wait_for(
            lambda c: "Demandes en attente" in (c.params.get("text") or ""))  # fmt: skip
        telegram_api.press(EMILIE, listing, listing.button("✅ Pierre")["callback_data"])
        await telegram_api.wait_for(lambda c: c.method == "editMessageText")
        telegram_api.press(EMILIE, listing, listing.button("❌ Hélène")["callback_data"])
        await telegram_api.wait_for(lambda c: "Motif du refus" in (c.params.get("text") or ""))
        telegram_api.send_text(EMILIE, REASONS[0])
        await telegram_api.wait_for(lambda c: c.method == "editMessageText", count=2)
        telegram_api.send_text(EMILIE, f"/ajouter {world.communities['arc']} {ADDED}")
        await telegram_api.wait_for(lambda c: "en tant que" in (c.params.get("text") or ""))

        # Slack: link, list, approve, refuse with a reason, an identifiers file.
        user = SlackUser(f"http://127.0.0.1:{slack.port}/slack/events", fake)
        code = issue_link_code(ctx, PEOPLE["jeanmarc"][2]).code
        await user.command("jeanmarc", f"link {code.lower()}")
        await fake.wait_for("chat.postEphemeral")
        await user.command("jeanmarc", "attente")
        (slack_listing,) = await fake.wait_for("chat.postMessage")
        ts = slack_listing.result["ts"]
        await user.press("jeanmarc", find(slack_listing, "approve_listed", "François"), ts)
        await fake.wait_for("chat.update")
        await user.press("jeanmarc", find(slack_listing, "refuse_listed", "Membre"), ts)
        (opened,) = await fake.wait_for("views.open")
        await user.submit("jeanmarc", opened.args["view"], REASONS[1])
        await fake.wait_for("chat.update", 2)
        await user.command("jeanmarc", "parametres")
        card = (await fake.wait_for("chat.postMessage", 2))[1]
        await user.press("jeanmarc", find(card, "validation"), card.result["ts"])
        menu = (await fake.wait_for("chat.postMessage", 3))[2]
        await user.press("jeanmarc", find(menu, "validation_set"), menu.result["ts"], option=3)
        await fake.wait_for("chat.postEphemeral", 2)
        fake.downloads[FILE_NAME] = b"jean;1234\nmarie;5678\n"
        await user.file_shared("jeanmarc", FILE_NAME)
        await fake.wait_for("chat.update", 3)  # secured validation, the file accepted

        # The e-mails of those decisions.
        email = EmailConfig(host="127.0.0.1", port=smtp.port, security="none", user=SMTP_USER,
                            password=SMTP_PASSWORD, sender="bot@exemple.fr", timeout_seconds=5,
                            retry_seconds=1)  # fmt: skip
        assert deliver_due(ctx.sessions, email, "w1").sent >= 4
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
    return [early, late]


@pytest.mark.asyncio
async def test_no_personal_data_in_any_log_line_of_a_full_scenario_at_debug(fake, sqlite_engine,
                                                                            settings):  # fmt: skip
    redact_personal_data_in_logs(True)  # as `referent-bot run` does with the key on
    handlers = await run_scenario(fake, sqlite_engine, settings)

    for handler in handlers:
        assert len(handler.lines) > 100  # the libraries did log, at DEBUG
        text = "\n".join(handler.lines)
        assert "sqlalchemy.engine" in text and "telegram" in text and "slack" in text
        assert "[name]" in text and "[e-mail]" in text and "chars]" in text
        # aiosmtpd ("mail.log") is the test's SMTP server, not part of the bot: it logs each
        # line of the e-mails it receives.
        lines = [line for line in handler.lines if not line.startswith("mail.log ")]
        for what, value in personal_data().items():
            for form in forms(value):
                leaked = [line[:300] for line in lines if form in line]
                assert not leaked, (what, form, leaked[:3])


@pytest.mark.asyncio
async def test_with_redaction_off_the_lines_are_as_before(fake, sqlite_engine, settings):
    redact_personal_data_in_logs(False)
    handlers = await run_scenario(fake, sqlite_engine, settings)

    text = "\n".join(handlers[1].lines)
    assert "[name]" not in text and "[e-mail]" not in text and " chars]" not in text
    for value in (PEOPLE["emilie"][0], PEOPLE["jeanmarc"][2], REASONS[0], ADDED):
        assert value in text, value


# --- The rules, line by line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Update(message=Message(text='Hors périmètre', from_user=User(first_name='Emilie', "
            "last_name='Fournier', username='emilief')))",
            "Update(message=Message(text='[text, 14 chars]', from_user=User(first_name="
            "'[name]', last_name='[name]', username='[name]')))",
        ),
        (
            '{"user": {"real_name": "Jean-Marc Morel", "profile": {"email": "jm@arcfrance.fr"}}}',
            '{"user": {"real_name": "[name]", "profile": {"email": "[e-mail]"}}}',
        ),
        (
            "Document(file_name='salariés.csv', file_size=20)",
            "Document(file_name='[file name]', file_size=20)",
        ),
        (
            "token=x&user_name=jeanmarc&text=ajouter+1+lila.aubert%40free.fr&channel_id=C1",
            "token=x&user_name=[name]&text=[text, 29 chars]&channel_id=C1",
        ),
        ("payload=%7B%22type%22%3A%22view_submission%22%7D", "payload=[hidden]"),
        ("mail to pierre.lambert@arcfrance.fr failed", "mail to [e-mail] failed"),
        (
            "(pymysql.err.X) boom\n[SQL: UPDATE user SET x=%s]\n[parameters: ('Emilie',)]",
            "(pymysql.err.X) boom\n[SQL: UPDATE user SET x=%s]\n[parameters: hidden]",
        ),
        ("delivery 42: retry later (TimedOut)", "delivery 42: retry later (TimedOut)"),
    ],
)
def test_each_kind_of_personal_data_is_masked(line, expected):
    assert redact_personal_data(line) == expected
    assert redact_personal_data(expected) == expected  # masking twice changes nothing


def test_sqlalchemy_parameters_and_rows_are_hidden_but_not_its_statements(caplog):
    redact_personal_data_in_logs(True)
    log = logging.getLogger("sqlalchemy.engine.Engine")
    with caplog.at_level(logging.DEBUG, "sqlalchemy.engine.Engine"):
        log.info("SELECT user.given_name FROM user WHERE user.email = ?")
        log.info("[%s] %r", "generated in 0.0001s", ("emilie.fournier@arcfrance.fr", 3))
        log.debug("Row %r", ("Emilie", "Fournier", 1001))
    assert caplog.messages == [
        "SELECT user.given_name FROM user WHERE user.email = ?",
        "[generated in 0.0001s] ('[text, 28 chars]', 3)",
        "Row ('[text, 6 chars]', '[text, 8 chars]', 1001)",
    ]


def test_an_exception_s_text_is_masked_too(caplog):
    redact_personal_data_in_logs(True)
    try:
        raise ValueError("no account for emilie.fournier@arcfrance.fr")
    except ValueError:
        logging.getLogger("bot.test").exception("lookup failed for %s", "helene.bernard@gmail.com")
    (record,) = caplog.records
    assert record.getMessage() == "lookup failed for [e-mail]"
    assert "[e-mail]" in record.exc_text and "arcfrance" not in record.exc_text


def test_the_setting_is_on_unless_turned_off_and_reaches_the_log_handler(tmp_path):
    assert load_config(None, environ={}).logging.redact_personal_data is True
    path = tmp_path / "bot.toml"
    path.write_text("[logging]\nredact_personal_data = false\n", "utf-8")
    assert load_config(path, environ={}).logging.redact_personal_data is False

    stream = types.SimpleNamespace(lines=[], write=lambda s: stream.lines.append(s),
                                   flush=lambda: None)  # fmt: skip
    handler = setup_logging("json", "INFO", stream=stream, redact_personal=True)
    try:
        logging.getLogger("bot.test").info("added %s", "lila.aubert@free.fr")
        record = logging.makeLogRecord({"name": "bot.test", "msg": "to lila.aubert@free.fr",
                                        "levelno": logging.INFO, "levelname": "INFO"})  # fmt: skip
        handler.handle(record)  # made without the record factory: the handler masks it
    finally:
        logging.getLogger().removeHandler(handler)
    written = "".join(stream.lines)
    assert '"message": "added [e-mail]"' in written and '"message": "to [e-mail]"' in written
    assert "lila" not in written
