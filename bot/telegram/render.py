"""Reply -> Telegram: the handlers' neutral markup as Bot API HTML, buttons as an inline
keyboard, long texts split below Telegram's limit; no rule about communities lives here.

Buttons carry `handlers.chat.actions.callback_data`, so a press is re-validated by the handler
like any other. `send_html`/`edit_html` call the Bot API raw and fall back to plain text when
Telegram refuses the HTML; the front and the notifier's transport both send through them.
"""

from __future__ import annotations

import html
import logging
import warnings
from typing import Any

from telegram import Bot, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest
from telegram.warnings import PTBUserWarning

from handlers.chat import actions, pending_input
from handlers.core.markup import plain, spans
from handlers.core.reply import Button

log = logging.getLogger(__name__)

#: The name the handlers know Telegram by (chat accounts, places, bindings).
PLATFORM = "telegram"
#: Room left under Telegram's 4096 characters for what HTML escaping adds.
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH - 96


def to_html(text: str) -> str:
    """The handlers' neutral markup (`handlers.core.markup`) as Telegram HTML: every piece of text
    HTML-escaped, bold pieces in <b>; the tags are only ever the bot's own, always balanced."""
    return "".join(
        f"<b>{html.escape(piece, quote=False)}</b>" if bold else html.escape(piece, quote=False)
        for piece, bold in spans(text)
    )


def rendered_size(text: str) -> int:
    """What Telegram counts: UTF-16 code units (an emoji outside the BMP counts twice) of the
    HTML; the text shown is shorter than its HTML, so this errs on the safe side."""
    return len(to_html(text).encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` rendered units, cut between lines when possible."""
    if len(text) * 6 <= limit:  # even if every character became "&amp;": one piece
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        while rendered_size(line) > limit:  # a single huge line: cut it
            cut = min(len(line), limit)
            while rendered_size(line[:cut]) > limit:
                cut = max(1, cut - max(1, (rendered_size(line[:cut]) - limit) // 5))
            if current:
                pieces.append("\n".join(current))
                current, size = [], 0
            pieces.append(line[:cut])
            line = line[cut:]
        rendered = rendered_size(line) + 1
        if current and size + rendered > limit:
            pieces.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += rendered
    if current or not pieces:
        pieces.append("\n".join(current))
    return pieces


def button_callback(button: Button) -> str:
    """The button's callback data; an input button is marked by handlers.chat.pending_input."""
    try:
        return actions.callback_data(*pending_input.button_data(button))
    except ValueError:  # the mark did not fit in 64 bytes: the press runs without asking
        return actions.callback_data(button.action, button.ref)


def keyboard(buttons: tuple[tuple[Button, ...], ...]) -> dict[str, Any] | None:
    """The inline keyboard as the Bot API's JSON (see `send_html`)."""
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": plain(b.label)[:64], "callback_data": button_callback(b)} for b in row]
            for row in buttons
        ]
    }


# The bot's messages are sent and edited with Bot.do_api_request, which warns that
# Bot.send_message exists: on purpose (see send_html), so that warning alone is silenced.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText)' instead",
    category=PTBUserWarning,
)


def entities_refused(error: BadRequest) -> bool:
    """Telegram refused the text's HTML ("can't parse entities")."""
    return "can't parse entities" in error.message.lower()


async def _with_plain_fallback(bot: Bot, method: str, params: dict[str, Any], text: str) -> Any:
    """The call with the text as HTML; if Telegram still refuses its entities, the same message
    again as plain text (markers removed, no parse mode) rather than losing it."""
    try:
        return await bot.do_api_request(
            method, api_kwargs={**params, "text": to_html(text), "parse_mode": ParseMode.HTML}
        )
    except BadRequest as error:
        if not entities_refused(error):
            raise
        log.warning("telegram: %s refused its HTML (%s), sent as plain text", method, error)
        return await bot.do_api_request(method, api_kwargs={**params, "text": plain(text)})


async def send_html(
    bot: Bot, chat_id: int, text: str, markup: dict[str, Any] | None = None
) -> tuple[int, int]:
    """sendMessage of a reply text (neutral markup, rendered as HTML), with its answer read as
    JSON, not as a Message: building the keyboard's objects and parsing the Message back
    (keyboard included) cost more CPU than the call itself, for the two ids the bot keeps.
    Returns (chat id, message id)."""
    params: dict[str, Any] = {"chat_id": chat_id}
    if markup is not None:
        params["reply_markup"] = markup
    sent = await _with_plain_fallback(bot, "sendMessage", params, text)
    return int(sent["chat"]["id"]), int(sent["message_id"])


async def edit_html(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: dict[str, Any] | None = None
) -> None:
    """editMessageText, as send_html (a message edited without a keyboard loses it)."""
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
    if markup is not None:
        params["reply_markup"] = markup
    await _with_plain_fallback(bot, "editMessageText", params, text)


def pressed_label(message: Message, data: str) -> str | None:
    """The text of the pressed button, read back from the message's keyboard."""
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
