"""What the notifier needs from Telegram: send a Reply to a chat, edit it later.

Telegram's errors are mapped to the outbox's outcomes: flood control (429), server errors (5xx)
and failures to connect are retried later by the notifier, honouring retry_after; a user who
blocked the bot (403) or a chat that does not exist is unreachable; a send that timed out or
lost its connection after Telegram had it may have been delivered (MaybeSent: sent again
by the notifier, marked as a possible repeat).
A group that became a supergroup is followed: its bindings move and the message goes to the
new chat id, kept in the reference.
Pushes are paced by the Telegram budget the front's replies share (bot/telegram/budget.py):
the notifier takes a slot through `pace` right before each call, and a 429 is reported to it.
"""

from __future__ import annotations

import datetime as dt
import warnings

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.notifier import MaybeSent, RetryLater, Unreachable
from bot.telegram.budget import Kind
from bot.telegram.render import PLATFORM, edit_html, keyboard, send_html, split_text
from bot.telegram.request import maybe_delivered
from handlers.chat import bindings
from handlers.core.reply import Reply

#: BadRequest messages meaning the chat cannot be reached until someone fixes it.
GONE = ("chat not found", "user not found", "bot was kicked", "have no rights to send")
#: BadRequest messages of an edit that has nothing left to do.
NOTHING_TO_EDIT = ("message is not modified", "message to edit not found")


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that the type will become a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramTransport:
    def __init__(self, front) -> None:
        self.front = front

    @property
    def bot(self):
        return self.front.application.bot

    async def pace(self, chat_id: str) -> None:
        """A push's slot in the process's Telegram budget (bot.notifier.RateLimiter calls it)."""
        await self.front.budget.acquire(chat_id, Kind.PUSH)

    def _flooded(self, chat_id: str | int, error: Exception) -> None:
        if isinstance(error, RetryAfter):
            self.front.budget.flood(chat_id, _retry_after(error))

    async def send(self, chat_id: str, team_id: str, reply: Reply) -> str:
        """One message (a notification fits in one); returns "chat_id:message_id"."""
        text = split_text(reply.text)[0]
        markup = keyboard(reply.buttons)
        target = int(chat_id)
        for _ in range(2):  # once more after a group migration
            try:
                try:
                    chat, message_id = await send_html(self.bot, target, text, markup)
                finally:
                    self.front.budget.done(target)  # the slot `pace` took counts from now
                return f"{chat}:{message_id}"
            except ChatMigrated as error:
                await self.front.app.call(
                    bindings.migrate_chat,
                    self.front.ctx,
                    PLATFORM,
                    str(target),
                    str(error.new_chat_id),
                )
                target = error.new_chat_id
                await self.pace(str(target))  # a message to another chat
            except Exception as error:
                self._flooded(target, error)
                raise _outcome(error, sending=True) from error
        raise RetryLater("group migrated twice")

    async def edit(self, chat_id: str, team_id: str, message_ref: str, reply: Reply) -> None:
        """Show the outcome in place of the buttons."""
        chat, _, message_id = message_ref.partition(":")
        try:
            try:
                await edit_html(
                    self.bot,
                    int(chat),
                    int(message_id),
                    split_text(reply.text)[0],
                    keyboard(reply.buttons),
                )
            finally:
                self.front.budget.done(chat_id)
        except BadRequest as error:
            if any(text in error.message.lower() for text in NOTHING_TO_EDIT):
                return
            raise _outcome(error) from error
        except Exception as error:
            self._flooded(chat, error)
            raise _outcome(error) from error


def _outcome(error: Exception, sending: bool = False) -> Exception:
    if isinstance(error, RetryAfter):
        return RetryLater("429 flood control", _retry_after(error))
    if isinstance(error, Forbidden):
        return Unreachable(f"403 {error.message[:120]}")
    if isinstance(error, BadRequest):
        if any(text in error.message.lower() for text in GONE):
            return Unreachable(f"400 {error.message[:120]}")
        return RetryLater(f"400 {error.message[:120]}")
    if isinstance(error, NetworkError) and sending and maybe_delivered(error):
        return MaybeSent(f"{type(error).__name__}: {str(error)[:120]}")
    if isinstance(error, NetworkError):  # 5xx, failures to connect; an edit can be done again
        return RetryLater(f"{type(error).__name__}: {str(error)[:120]}")
    return error
