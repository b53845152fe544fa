"""Fixtures of the operations tests: the fake Bot API, a bot App with its Telegram front and
health server, and the bot's logging set up as `run` sets it, writing to a buffer."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging
from tests.bot.telegram.conftest import api  # noqa: F401 (the fake Bot API fixture)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """`[logging] format = "json"` at DEBUG, as `referent-bot run` installs it."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = setup_logging("json", "DEBUG", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
