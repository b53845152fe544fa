"""Two small guards of the Slack front: one message per second per channel, and no secret in
any log line (slack-bolt and slack_sdk log request bodies at DEBUG, a link code included)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable

#: A link code as a person may type it (handlers.chat.linking's alphabet, any case).
LINK_CODE = re.compile(r"(?i)(?<![a-z0-9])[a-hj-km-np-z2-9]{10}(?![a-z0-9])")
#: Slack tokens of any kind (xoxb-, xapp-, xoxp-...).
SLACK_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
REDACTED = "[redacted]"
#: Loggers whose records may quote what Slack sent or what the bot sends.
NOISY = ("slack_bolt", "slack_sdk", "bot.slack", "aiohttp")


class ChannelLimiter:
    """Slack accepts about one message per second per channel: space them out, per channel."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            delay = self._next.get(channel, 0.0) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[channel] = time.monotonic() + self.interval


_secrets: list[str] = []
_previous_factory = None
_users = 0


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    text = SLACK_TOKEN.sub(REDACTED, text)
    return LINK_CODE.sub(REDACTED, text)


def install_redaction(secrets: Iterable[str]) -> None:
    """Every log record of the Slack libraries (and of this front) is redacted when created.

    A record factory rather than a filter: the libraries log on many loggers of their own,
    and filters on a logger do not see records propagated from its children.
    """
    global _previous_factory, _users
    known = set(_secrets) | {s for s in secrets if s and len(s) >= 8}
    _secrets[:] = sorted(known, key=len, reverse=True)
    _users += 1
    if _previous_factory is not None:
        return
    _previous_factory = previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(NOISY):
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to logging's own error path
                return record
            record.msg = redact(message)
            record.args = None
        return record

    logging.setLogRecordFactory(factory)


def remove_redaction() -> None:
    """Undo install_redaction once every front that installed it has stopped."""
    global _previous_factory, _users
    _users = max(0, _users - 1)
    if _users == 0 and _previous_factory is not None:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None
