"""The neutral markup of reply texts, and how user data is kept out of it.

Catalog texts mark bold with `**`; that is the whole markup. User data (names, e-mails,
community names, descriptions, reasons, domains, file names) is put into those texts by
`handlers.core.i18n.t`, which escapes every parameter with `escape`: each `*` of the data is
preceded by ESC, so data can never form a `**` marker, whatever it holds. Each front then reads
the text with `spans` (a list of (text, bold) pieces, data literal) and renders every piece
for its own syntax (Telegram HTML, Slack mrkdwn, the terminal), escaping all of it; what
shows no formatting (button labels, toasts, captions, e-mails) reads `plain`.

ESC is a Unicode noncharacter, which Unicode keeps for a program's internal use: no one types
it, so it is removed from data rather than escaped.
"""

from __future__ import annotations

import re

ESC = "\ufdd0"
MARKER = "**"
_TOKEN = re.compile(re.escape(ESC) + r"\*|\*\*")


def escape(value: str) -> str:
    """Data as it goes into a reply text: never a marker (idempotent: escaping twice is once)."""
    return value.replace(ESC, "").replace("*", ESC + "*")


def spans(text: str) -> list[tuple[str, bool]]:
    """The text as (literal text, bold) pieces: unescaped `**` toggles bold, `ESC*` is a
    literal star. Adjacent pieces with the same style are merged; empty ones dropped."""
    pieces: list[tuple[str, bool]] = []
    bold = False
    current: list[str] = []
    position = 0

    def flush() -> None:
        if current:
            pieces.append(("".join(current), bold))
            current.clear()

    for match in _TOKEN.finditer(text):
        current.append(text[position : match.start()])
        position = match.end()
        if match.group() == MARKER:
            flush()
            bold = not bold
        else:
            current.append("*")
    current.append(text[position:])
    flush()
    return [(piece, style) for piece, style in pieces if piece]


def plain(text: str) -> str:
    """The text without its markup, data as typed: for what shows no formatting."""
    return "".join(piece for piece, _ in spans(text))
