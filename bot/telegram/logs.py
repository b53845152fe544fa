"""Keep the bot token and the webhook secret out of every log line.

The token is part of every Bot API URL: HTTP clients may log request URLs (httpx does at INFO,
for `doctor`), a transport error may quote one, and python-telegram-bot logs its base URL at
DEBUG. The HTTP client loggers are raised to WARNING, and the secrets are masked in whatever
still gets through: by a filter on the root handlers, and when each record is created (for
handlers added after the front started).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable

MASK = "[secret]"
#: A link code after the words that redeem it (/start CODE, t.me/...?start=CODE, link CODE):
#: python-telegram-bot logs every update's text at DEBUG.
LINK_CODE = re.compile(r"(?i)\b(start|link|relier)(\s+|=)([a-z0-9]{10})\b")
#: A link code pasted on its own ("mon code : 2XN9RTQEPG"): a word of ten characters of the
#: codes' alphabet with a letter (numeric ids stay readable), either in capitals as issued, or
#: typed in any case with a digit (so that words such as `getUpdates` stay readable).
_CODE_CHARS = "A-HJKMNP-Za-hjkmnp-z2-9"
BARE_CODE = re.compile(
    r"(?<![A-Za-z0-9])"
    r"(?:(?=[2-9]*[A-Z])[A-HJKMNP-Z2-9]{10}"
    rf"|(?=[A-Za-z]*[2-9])(?=[2-9]*[A-Za-z])[{_CODE_CHARS}]{{10}})"
    r"(?![A-Za-z0-9])"
)


class SecretRedactor(logging.Filter):
    def __init__(self, secrets: Iterable[str], extra_loggers: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]
        self.quiet_loggers = tuple(extra_loggers)
        self._levels: dict[str, int] = {}
        self._handlers: list[logging.Handler] = []
        self._active = False
        self._previous_factory: Callable[..., logging.LogRecord] | None = None

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = LINK_CODE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        return BARE_CODE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions from the HTTP stack may quote the URL; format them now, masked.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True

    def install(self) -> None:
        """Attach to every handler of the root logger and quiet the HTTP client loggers."""
        for name in self.quiet_loggers:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)
        for handler in logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)
                self._handlers.append(handler)
        # Handlers added later (logging reconfigured, a library's own) have no filter: every
        # record is also masked when it is created.
        self._active = True
        if self._previous_factory is None:
            previous = self._previous_factory = logging.getLogRecordFactory()

            def factory(*args, **kwargs) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                if self._active:
                    # A malformed record is left to logging's own error path.
                    with contextlib.suppress(Exception):
                        self.filter(record)
                return record

            self._factory = factory
            logging.setLogRecordFactory(factory)

    def uninstall(self) -> None:
        self._active = False
        if self._previous_factory is not None and logging.getLogRecordFactory() is self._factory:
            logging.setLogRecordFactory(self._previous_factory)
            self._previous_factory = None
        for handler in self._handlers:
            handler.removeFilter(self)
        self._handlers.clear()
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels.clear()
