"""The SMTP sender against a real local SMTP server (aiosmtpd): sent once, retried while the
server refuses or is down, never twice."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random

from bot.config import Config
from bot.email_sender import EmailSender, deliver_due
from bot.runtime import FRONTS, App, enabled_fronts
from bot.wiring import Runtime
from handlers.community import pending
from storage import backoff, clock
from tests.handlers.community.helpers import emails
from tests.handlers.helpers import actor
from tests.support.jitter import Longest, Shortest
from tests.support.smtp import SmtpServer


def approve_pierre(mail_ctx, world) -> None:
    reply = pending.approve(
        mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre")
    )
    assert reply.ok


def later(seconds: int) -> None:
    clock.set_now(clock.now() + dt.timedelta(seconds=seconds))


def test_a_queued_email_reaches_the_member_once(mail_ctx, world, smtp, email_config):
    approve_pierre(mail_ctx, world)

    first = deliver_due(mail_ctx.sessions, email_config, "sender-a")
    second = deliver_due(mail_ctx.sessions, email_config, "sender-b")

    assert (first.sent, second.sent) == (1, 0)
    [message] = smtp.received
    assert message["To"] == "pierre.lambert@arcfrance.fr"
    assert message["From"] == "Pass Pass covoiturage <ne-pas-repondre@passpasscovoiturage.fr>"
    assert message["Subject"] == "Bienvenue dans la communauté Arc France"
    assert "« Arc France » a été acceptée" in message.get_content()
    assert message["Message-ID"].startswith(f"<referent-bot.{emails(mail_ctx)[0].id}.")
    assert message["Message-ID"].endswith("@passpasscovoiturage.fr>")
    assert smtp.mailbox.envelopes == [
        ("ne-pas-repondre@passpasscovoiturage.fr", ["pierre.lambert@arcfrance.fr"])
    ]
    [row] = emails(mail_ctx)
    assert (row.state, row.attempts, row.sent_at, row.claimed_by) == (
        "sent", 1, clock.now(), None)  # fmt: skip


def test_a_temporary_refusal_is_retried_with_backoff_and_sent_once_when_it_comes_back(
    mail_ctx, world, smtp, email_config, monkeypatch
):
    monkeypatch.setattr(backoff, "source", Longest())  # the longest of the jittered delays
    approve_pierre(mail_ctx, world)
    smtp.mailbox.answer = "451 4.3.0 Try again later"

    assert deliver_due(mail_ctx.sessions, email_config, "sender").failed == 1
    [row] = emails(mail_ctx)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=60)
    assert "451" in row.last_error
    later(60)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").failed == 1
    [row] = emails(mail_ctx)
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=120)  # doubled

    smtp.mailbox.answer = "250 OK"
    assert deliver_due(mail_ctx.sessions, email_config, "sender").sent == 0  # not due yet
    later(120)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").sent == 1
    later(3600)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").sent == 0
    assert len(smtp.received) == 1
    assert smtp.mailbox.attempts == 3
    assert emails(mail_ctx)[0].state == "sent"


def test_the_retry_delays_are_jittered_down_to_half(
    mail_ctx, world, smtp, email_config, monkeypatch
):
    """Messages refused together do not all come back together: each waits between half the
    doubled delay and all of it."""
    monkeypatch.setattr(backoff, "source", Shortest())
    approve_pierre(mail_ctx, world)
    smtp.mailbox.answer = "451 4.3.0 Try again later"
    deliver_due(mail_ctx.sessions, email_config, "sender")
    assert emails(mail_ctx)[0].next_attempt_at == clock.now() + dt.timedelta(seconds=30)
    later(29)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").failed == 0  # not due yet
    later(1)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").failed == 1
    assert emails(mail_ctx)[0].next_attempt_at == clock.now() + dt.timedelta(seconds=60)
    monkeypatch.setattr(backoff, "source", random.Random(11))
    for attempts in range(3, 15):
        later(6 * 3600)
        assert deliver_due(mail_ctx.sessions, email_config, "sender").failed == 1
        [row] = emails(mail_ctx)
        planned = min(60 * 2 ** (attempts - 1), 6 * 3600)
        waits = (row.next_attempt_at - clock.now()).total_seconds()
        assert (row.attempts, planned / 2 <= waits <= planned) == (attempts, True), waits
    smtp.mailbox.answer = "250 OK"
    later(6 * 3600)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").sent == 1
    assert len(smtp.received) == 1


def test_a_server_down_loses_nothing_and_sends_once_when_back(mail_ctx, world, smtp, email_config):
    approve_pierre(mail_ctx, world)
    pending.refuse(mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "helene"))
    smtp.stop()

    result = deliver_due(mail_ctx.sessions, email_config, "sender")

    assert result.failed == 2
    assert [(r.state, r.attempts) for r in emails(mail_ctx)] == [("pending", 1), ("pending", 1)]
    smtp.start()
    later(60)
    assert deliver_due(mail_ctx.sessions, email_config, "sender").sent == 2
    assert deliver_due(mail_ctx.sessions, email_config, "other-sender").sent == 0
    assert sorted(m["To"] for m in smtp.received) == [
        "helene.bernard@gmail.com",
        "pierre.lambert@arcfrance.fr",
    ]


def test_a_permanent_refusal_is_not_retried(mail_ctx, world, smtp, email_config):
    approve_pierre(mail_ctx, world)
    smtp.mailbox.answer = "550 5.1.1 No such user"

    deliver_due(mail_ctx.sessions, email_config, "sender")
    later(24 * 3600)
    deliver_due(mail_ctx.sessions, email_config, "sender")

    [row] = emails(mail_ctx)
    assert (row.state, row.attempts, smtp.mailbox.attempts) == ("failed", 1, 1)
    assert smtp.received == []


def test_a_message_claimed_by_a_live_sender_is_not_taken_by_another(
    mail_ctx, world, smtp, email_config
):
    """A lease: while sender A holds a message (sending it), sender B leaves it alone."""
    from storage.email_outbox import claim_due

    approve_pierre(mail_ctx, world)
    held = claim_due(mail_ctx.sessions, "sender-a", clock.now(), dt.timedelta(minutes=10))

    assert len(held) == 1
    assert deliver_due(mail_ctx.sessions, email_config, "sender-b").sent == 0
    assert smtp.received == []
    later(11 * 60)  # sender A died: its lease ends, another sender takes over
    assert deliver_due(mail_ctx.sessions, email_config, "sender-b").sent == 1
    assert len(smtp.received) == 1


def test_login_uses_the_password_but_never_logs_it(
    mail_ctx, world, email_config, caplog, monkeypatch
):
    server = SmtpServer(user="bot@passpass", password="s3cret-Pa55")
    server.start()
    try:
        config = dataclasses.replace(email_config, port=server.port, user="bot@passpass",
                                     password="wrong-Pa55")  # fmt: skip
        approve_pierre(mail_ctx, world)
        with caplog.at_level(logging.DEBUG):
            assert deliver_due(mail_ctx.sessions, config, "sender").failed == 1
            later(60)
            good = dataclasses.replace(config, password="s3cret-Pa55")
            assert deliver_due(mail_ctx.sessions, good, "sender").sent == 1
        assert server.logins == ["bot@passpass"]
        assert len(server.received) == 1
        assert "Pa55" not in caplog.text
        assert "Pa55" not in (emails(mail_ctx)[0].last_error or "")
        assert "Pa55" not in repr(good)
    finally:
        server.stop()


def test_run_starts_the_sender_only_when_email_is_configured(email_config):
    assert "email" not in enabled_fronts(Config())
    assert "email" in enabled_fronts(Config(email=email_config))
    assert any(
        name == "email" and path == "bot.email_sender:build_front" for name, _, path in FRONTS
    )


def test_the_sender_worker_delivers_while_the_bot_runs(engine, mail_ctx, world, smtp, email_config):
    approve_pierre(mail_ctx, world)
    config = Config(email=email_config)
    app = App(Runtime(config, engine, mail_ctx))

    async def run() -> None:
        sender = EmailSender(app)
        await sender.start()
        for _ in range(100):
            if smtp.received:
                break
            await asyncio.sleep(0.05)
        await sender.stop()

    try:
        asyncio.run(run())
    finally:
        app.close()
    assert len(smtp.received) == 1
    assert emails(mail_ctx)[0].state == "sent"
