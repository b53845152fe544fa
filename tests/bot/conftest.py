"""Fixtures of the e-mail sender tests: a real SMTP server and the [email] configuration
pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import EmailConfig
from tests.support.smtp import SmtpServer


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
