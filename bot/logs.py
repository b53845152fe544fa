"""Log lines: readable by default, JSON on demand, each one carrying the id of the request
(Telegram update, Slack request, notifier delivery) it was written for.

The id lives in a context variable set where a request enters the bot (`request_scope`), so it
follows the request into the tasks it starts and into the thread pool (`App.call` copies the
context); a filter on the handler copies it onto each record when the record is written.
The secret redaction of the fronts (bot/telegram/logs.py, bot/slack/limits.py) works on the
record itself, before any formatter, so it holds for both formats; so does the masking of
personal data (`[logging] redact_personal_data`, `PersonalDataRedactor`).
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TextIO
from urllib.parse import unquote_plus

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


#: Keys under which the libraries and the bot log personal data, by what replaces the value:
#: python-telegram-bot's objects (`first_name='Emilie'`), the Bot API's and Slack's JSON
#: (`"real_name": "Jean-Marc Morel"`, `'text': '...'`), slack-bolt's request bodies.
NAME_KEYS = ("first_name", "last_name", "username", "user_name", "real_name",
             "real_name_normalized", "display_name", "display_name_normalized", "given_name",
             "family_name", "full_name", "name", "by")  # fmt: skip
FILE_KEYS = ("file_name", "filename", "original_name", "title")
EMAIL_KEYS = ("email", "e_mail", "mail")
TEXT_KEYS = ("text", "caption", "value", "reason", "query", "description", "full_description",
             "message", "before", "after", "pretext", "fallback", "alt_text", "topic", "purpose",
             "question", "placeholder", "initial_value", "private_metadata")  # fmt: skip
_QUOTED = r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
_KEYS = "|".join(sorted(NAME_KEYS + FILE_KEYS + EMAIL_KEYS + TEXT_KEYS, key=len, reverse=True))
#: `key='value'`, `'key': 'value'`, `"key": "value"` (also escaped once inside a JSON string).
KEYED = re.compile(
    rf"(?P<head>(?<![A-Za-z0-9_])(?P<q>\\?['\"]?)(?P<key>{_KEYS})(?P=q)\s*[:=]\s*)"
    rf"(?P<value>\\\"(?:[^\"\\]|\\[^\"])*\\\"|{_QUOTED})"
)
#: `key=value&` in URL-encoded bodies and query strings (Slack's slash commands).
FORM = re.compile(
    rf"(?P<head>(?:(?<=[?&\s])|^)(?P<key>{_KEYS})=)(?P<value>[A-Za-z0-9%+._~*!-]+)(?=&|\s|$)"
)
#: Slack's interactive payloads arrive as `payload=<URL-encoded JSON>`: opaque, masked whole.
FORM_PAYLOAD = re.compile(r"(?<![A-Za-z0-9_])payload=%7B[^&\s'\"]*")
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
#: SQLAlchemy's errors quote the statement's parameters.
SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
#: A quoted literal, for SQLAlchemy's parameter and row lines.
LITERAL = re.compile(_QUOTED)
MASKED = re.compile(r"^\\?['\"]?\[(?:name|file name|e-mail|text, \d+ chars)\]")


def _length(value: str) -> int:
    """How many characters a quoted value holds once unquoted (its escapes counted once)."""
    with contextlib.suppress(ValueError, SyntaxError, TypeError, MemoryError):
        if value.startswith("\\"):
            value = value[1:-2] + value[-1]
        inner = ast.literal_eval(value)
        if isinstance(inner, str):
            return len(inner)
    return max(len(value) - 2, 0)


def _mask(key: str, value: str | None = None) -> str:
    key = key.lower()
    if key in NAME_KEYS:
        return "[name]"
    if key in FILE_KEYS:
        return "[file name]"
    if key in EMAIL_KEYS:
        return "[e-mail]"
    return f"[text, {_length(value or '')} chars]"


def redact_personal_data(text: str, literals: bool = False) -> str:
    """`text` without names, e-mail addresses, message texts and file names: the values of
    the keys that hold them, replaced (a text by its length), every e-mail address, the
    parameters quoted in SQLAlchemy's errors; with `literals`, every quoted string."""

    def keyed(match: re.Match) -> str:
        value = match["value"]
        if MASKED.match(value):
            return match[0]
        quote = value[:2] if value.startswith("\\") else value[:1]
        return f"{match['head']}{quote}{_mask(match['key'], value)}{quote}"

    text = SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = KEYED.sub(keyed, text)
    text = FORM_PAYLOAD.sub("payload=[hidden]", text)
    text = FORM.sub(lambda m: m["head"] + _mask(m["key"], repr(unquote_plus(m["value"]))), text)
    if literals:
        text = LITERAL.sub(lambda m: m[0][0] + _mask("text", m[0]) + m[0][0], text)
    return EMAIL.sub("[e-mail]", text)


class PersonalDataRedactor(logging.Filter):
    """Masks personal data in a record's message, exception and stack (see
    `redact_personal_data`), once per message (a record filled in after it was made, as
    `logging.makeLogRecord` does, is masked again). The lines of SQLAlchemy's engine logger that
    carry arguments are its parameters and result rows: every quoted literal is masked there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "personal_data_redacted", None) is record.msg and record.msg:
            return True  # already masked (by the record factory, then by the handler)
        literals = bool(record.args) and record.name.startswith("sqlalchemy.engine")
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: left to logging's own error path
            return True
        record.msg, record.args = redact_personal_data(message, literals), None
        record.personal_data_redacted = record.msg
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_personal_data(record.stack_info)
        return True


_redactor = PersonalDataRedactor()
_redacting = False
_factory_installed = False


def redact_personal_data_in_logs(enabled: bool) -> None:
    """Mask personal data in every record from now on (or stop): when each record is created,
    so that every handler, added before or after, and every code path writes it masked. The
    factory stays in the chain once installed (other factories may wrap it), switched off."""
    global _redacting, _factory_installed
    _redacting = enabled
    if not enabled or _factory_installed:
        return
    _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _redacting:
            _redactor.filter(record)
        return record

    logging.setLogRecordFactory(factory)


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
    format: str = "text",
    level: str = "INFO",
    stream: TextIO | None = None,
    redact_personal: bool = False,
) -> logging.Handler:
    """Replace the root handler this function installed before (if any) with a new one;
    with `redact_personal`, personal data are masked in every record."""
    redact_personal_data_in_logs(redact_personal)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "referent_bot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    # A marker of our own on the stdlib's handler, which declares no such attribute.
    handler.referent_bot = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if redact_personal:  # records made without the factory (logging.makeLogRecord)
        handler.addFilter(_redactor)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
