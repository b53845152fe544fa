"""Log lines: readable by default, JSON on demand, each one carrying the id of the request
(Telegram update, Slack request, notifier delivery) it was written for.

The id lives in a context variable set where a request enters the bot (`request_scope`), so it
follows the request into the tasks it starts and into the thread pool (`App.call` copies the
context); a filter on the handler copies it onto each record when the record is written.
The secret redaction of the fronts (bot/telegram/logs.py, bot/slack/limits.py) works on the
record itself, before any formatter, so it holds for both formats.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TextIO

#: "upd 12345" (Telegram update), "slack <trigger or event id>", "dlv 42" (a delivery).
request_id: ContextVar[str | None] = ContextVar("referent_bot_request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"


@contextlib.contextmanager
def request_scope(label: str) -> Iterator[None]:
    """Every line logged inside (and in what it starts) carries `label`."""
    token = request_id.set(label)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Copy the current request id onto the record (handlers run in the emitting context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        current = getattr(record, "request_id", None)
        record.request_tag = f" [{current}]" if current else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id,
    exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = getattr(record, "request_id", None)
        if current:
            entry["request_id"] = current
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # already masked when a redactor formatted it
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    format: str = "text", level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root handler this function installed before (if any) with a new one."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "referent_bot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.referent_bot = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
