"""The SMTP sender: delivers the e-mail outbox (bot_email), started by `referent-bot run`.

Each round claims the due messages with a lease, sends them one by one with smtplib (in the
App's thread pool, never on the event loop), and marks each one sent as soon as the server has
accepted it. When the server is down or answers with a temporary error, the message stays
pending with an exponential backoff, so nothing is lost; a message marked sent is never picked
up again, so nothing is sent twice (short of a crash between the server's "250" and the mark,
when the lease expires and the message is sent again: the Message-ID is stable so that mail
clients may recognise the duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate

from sqlalchemy.orm import Session, sessionmaker

from bot.config import EmailConfig
from storage import email_outbox
from storage.clock import now
from storage.email_outbox import Outgoing

log = logging.getLogger(__name__)
#: How long a claimed message stays reserved for its sender (well above an SMTP timeout).
LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class RoundResult:
    sent: int = 0
    failed: int = 0


def email_status(config: EmailConfig) -> str:
    """One line for `referent-bot doctor` (when it exists): is e-mail on, and where to."""
    if not config.enabled:
        return "e-mail: off ([email] host is not set): members are not e-mailed, nothing is queued"
    login = f" as {config.user}" if config.user else ""
    return (
        f"e-mail: on, {config.security} to {config.host}:{config.port}{login}, from {config.sender}"
    )


def build_mime(config: EmailConfig, message: Outgoing) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = config.sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=True)
    domain = config.sender.rsplit("@", 1)[-1].strip(" >") or "referent-bot"
    # Stable per outbox row: a re-send after a crash carries the same Message-ID.
    digest = hashlib.sha256(message.dedup_key.encode()).hexdigest()[:16]
    mime["Message-ID"] = f"<referent-bot.{message.id}.{digest}@{domain}>"
    mime["Content-Language"] = message.language
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(message.body)
    return mime


def open_smtp(config: EmailConfig) -> smtplib.SMTP:
    """A connected (and logged-in) SMTP client, as [email] security says."""
    if config.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout_seconds,
            context=ssl.create_default_context(),
        )  # fmt: skip
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
    try:
        if config.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if config.user:
            client.login(config.user, config.password)
    except BaseException:
        with contextlib.suppress(Exception):
            client.close()
        raise
    return client


def _describe(error: BaseException) -> tuple[str, bool]:
    """A loggable description (never the password), and whether retrying cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return f"recipient refused: {codes}", all(500 <= c < 600 for c in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)  # fmt: skip
        permanent = isinstance(error, smtplib.SMTPDataError | smtplib.SMTPSenderRefused) and (
            500 <= error.smtp_code < 600
        )
        return f"{type(error).__name__} {error.smtp_code}: {text[:300]}", permanent
    return f"{type(error).__name__}: {str(error)[:300]}", False


def deliver_due(
    sessions: sessionmaker[Session], config: EmailConfig, worker: str, limit: int = 20
) -> RoundResult:
    """One round: claim the due messages and send them over one SMTP connection."""
    claimed = email_outbox.claim_due(sessions, worker, now(), LEASE, limit)
    if not claimed:
        return RoundResult()
    first_delay = dt.timedelta(seconds=config.retry_seconds)
    sent = failed = 0
    client: smtplib.SMTP | None = None
    try:
        client = open_smtp(config)
    except (smtplib.SMTPException, OSError) as error:
        # The server is unreachable or refused us: every claimed message waits for a retry.
        description, _ = _describe(error)
        log.warning("SMTP unavailable (%s): %d e-mail(s) will be retried", description,
                    len(claimed))  # fmt: skip
        for message in claimed:
            email_outbox.mark_failed(sessions, message, worker, now(), description, first_delay)
        return RoundResult(failed=len(claimed))
    try:
        for index, message in enumerate(claimed):
            try:
                client.send_message(build_mime(config, message))
            except (smtplib.SMTPException, OSError) as error:
                description, permanent = _describe(error)
                failed += 1
                log.warning("e-mail %d not sent (%s)%s", message.id, description,
                            " for good" if permanent else ", will retry")  # fmt: skip
                email_outbox.mark_failed(
                    sessions, message, worker, now(), description, first_delay, permanent
                )
                if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
                    # The connection is gone: the rest waits for the next round.
                    for rest in claimed[index + 1 :]:
                        email_outbox.mark_failed(
                            sessions, rest, worker, now(), description, first_delay
                        )
                        failed += 1
                    break
                continue
            email_outbox.mark_sent(sessions, message.id, worker, now())
            sent += 1
    finally:
        with contextlib.suppress(Exception):
            client.quit()
    if sent:
        log.info("%d e-mail(s) sent", sent)
    return RoundResult(sent=sent, failed=failed)


class EmailSender:
    """The worker `referent-bot run` starts when [email] host is set."""

    name = "email"

    def __init__(self, app) -> None:
        self.app = app
        self.config: EmailConfig = app.config.email
        self.worker = f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:12]}"
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="email-sender")

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.app.call_background(
                    deliver_due, self.app.ctx.sessions, self.config, self.worker
                )
            except Exception:  # a database outage must not end the worker
                log.exception("e-mail round failed; retrying later")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.config.poll_seconds)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None


def build_front(app) -> EmailSender:
    return EmailSender(app)
