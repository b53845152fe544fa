"""Fixtures of the admin tests: settings with e-mail on, a real SMTP server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bot.config import EmailConfig
from handlers.core.context import Context, Settings
from storage.engine import make_sessionmaker
from tests.admin.smtp import SmtpServer


@pytest.fixture
def mail_ctx(engine, settings: Settings) -> Context:
    """The bot with [email] configured."""
    return Context(
        sessions=make_sessionmaker(engine),
        settings=dataclasses.replace(settings, email_enabled=True),
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def email_config(smtp: SmtpServer) -> EmailConfig:
    return EmailConfig(
        host="127.0.0.1",
        port=smtp.port,
        security="none",
        sender="Pass Pass covoiturage <ne-pas-repondre@passpasscovoiturage.fr>",
        timeout_seconds=5,
        retry_seconds=60,
        poll_seconds=1,
    )
