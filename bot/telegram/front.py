"""The Telegram front: python-telegram-bot v22 in the bot's own asyncio program.

It only translates. An update becomes (chat account, place, command or button press or
message); the use case runs in the thread pool (`App.call`), never on the event loop; the Reply
becomes Bot API calls (rendered by bot/telegram/render.py, which the notifier's transport shares).
Which buttons need input, who may act and every other rule live in handlers/. Telegram's limits
and errors are handled here: each message takes a reply slot in the Telegram budget the
notifier's pushes share (bot/telegram/budget.py: replies first, never paced per chat), flood
control (RetryAfter) waited out and reported to the budget, a blocked bot (403) marks
the identity unreachable, a group migrated to a supergroup (ChatMigrated) has its bindings
moved, long texts are split below 4096 characters.
Network errors and 5xx are retried, except a send that may have arrived (see `maybe_delivered`):
Telegram has no idempotency key, and a second copy of a message with decision buttons is worse
than a reply that is lost (the person can ask again).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
import logging
import re
import warnings
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    ForceReply,
    InputFile,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import http_guard
from bot.runtime import App
from bot.telegram.budget import Kind, TelegramBudget
from bot.telegram.logs import SecretRedactor
from bot.telegram.render import (
    PLATFORM,
    edit_html,
    entities_refused,
    keyboard,
    pressed_label,
    send_html,
    split_text,
    to_html,
)
from bot.telegram.request import AiohttpRequest, maybe_delivered
from bot.telegram.transport import TelegramTransport
from handlers.chat import actions, bindings, commands, linking, pending_input
from handlers.chat.bindings import ChatPlace
from handlers.chat.entry import failure_reply
from handlers.chat.linking import ChatAccount
from handlers.core.i18n import LANGUAGES, normalize_language, t
from handlers.core.markup import plain
from handlers.core.reply import Reply

log = logging.getLogger(__name__)
T = TypeVar("T")

CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
ANSWER_LIMIT = 200  # answerCallbackQuery text
#: Flood control: how many times a call is retried, and the longest wait accepted each time.
MAX_RETRIES = 3
MAX_RETRY_WAIT = 60.0
GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL}
#: Bot API limits of setMyCommands: 1-32 characters, lowercase letters, digits, underscores.
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


def account_of(user: User) -> ChatAccount:
    return ChatAccount(PLATFORM, str(user.id), display_name=user.full_name[:255])


def place_of(chat: Chat) -> ChatPlace:
    return ChatPlace(PLATFORM, str(chat.id), is_group=chat.type in GROUP_TYPES)


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def file_url(api_base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (any server)."""
    base = api_base_url.rstrip("/")
    head, _, tail = base.rpartition("/")
    return f"{head}/file/{tail}" if head else f"{base}/file"


def webhook_path(webhook_url: str) -> str:
    """The path Telegram will post to, so that the listener serves the URL given to it."""
    return urlsplit(webhook_url).path.strip("/") or "telegram"


class TelegramFront:
    """`referent-bot run`'s Telegram front: polling by default, or a webhook with a secret."""

    name = "telegram"

    def __init__(
        self,
        app: App,
        *,
        poll_timeout: float = 10.0,
        request_timeout: float | None = None,
        budget: TelegramBudget | None = None,
    ) -> None:
        self.app = app
        #: The process's one Telegram budget: these replies and the notifier's pushes
        #: (through TelegramTransport.pace) take their slots from it.
        self.budget = budget or TelegramBudget()
        self.config = app.config.telegram
        self.poll_timeout = poll_timeout
        #: The Bot API calls' connect/read/write timeout (PTB's defaults when None).
        self.request_timeout = request_timeout
        self.redactor = SecretRedactor(
            [self.config.token, self.config.webhook_secret],
            extra_loggers=("aiohttp", "httpx", "httpcore"),
        )
        self._application: Application | None = None
        self._webhook: web.AppRunner | None = None

    @property
    def application(self) -> Application:
        if self._application is None:
            raise RuntimeError("the Telegram front is not started")
        return self._application

    def _build(self) -> Application:
        """Built once the log redactor is in place: the Bot logs its URL (token) when built."""
        builder = (
            ApplicationBuilder()
            .token(self.config.token)
            .base_url(self.config.api_base_url)
            .base_file_url(file_url(self.config.api_base_url))
            .concurrent_updates(16)
        )
        timeouts: dict[str, float] = {}
        if self.request_timeout is not None:
            names = ("connect_timeout", "read_timeout", "write_timeout")
            timeouts = dict.fromkeys(names, self.request_timeout)
        metrics = getattr(self.app, "metrics", None)
        if metrics is not None:  # update ids in the logs, metrics, waited for at shutdown
            from bot.telegram.observed import MeteredRequest, ObservedApplication

            builder = builder.application_class(ObservedApplication, {"bot_app": self.app})
            if self.budget.on_wait is None:
                self.budget.on_wait = lambda kind, waited: metrics.budget_wait(kind.value, waited)
            calls: AiohttpRequest = MeteredRequest(metrics, connection_pool_size=256, **timeouts)
            polls: AiohttpRequest = MeteredRequest(metrics, connection_pool_size=1)
        else:
            calls = AiohttpRequest(connection_pool_size=256, **timeouts)
            polls = AiohttpRequest(connection_pool_size=1)
        builder = builder.request(calls).get_updates_request(polls)
        application = builder.build()
        if self.config.mode == "webhook":
            # Telegram posts a webhook update again when the answer was late, perhaps to another
            # replica: the first copy wins (before all other handlers). Polling needs no such
            # write per update: one process polls, and it confirms each update's offset itself.
            application.add_handler(TypeHandler(Update, self.once), group=-1)
        application.add_handler(CallbackQueryHandler(self.on_callback))
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        application.add_handler(MessageHandler(filters.COMMAND, self.on_command))
        application.add_handler(MessageHandler(filters.Document.ALL, self.on_document))
        application.add_handler(MessageHandler(filters.TEXT, self.on_text))
        application.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, self.on_other)
        )
        application.add_error_handler(self.on_error)
        return application

    @property
    def ctx(self):
        return self.app.ctx

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.redactor.install()
        self._application = self._build()
        try:
            await self._start()
        except BaseException:
            await self.stop()  # serve() only stops the fronts that started
            raise
        self.app.transports[PLATFORM] = TelegramTransport(self)
        log.info(
            "telegram front started (%s) as @%s", self.config.mode, self.application.bot.username
        )

    async def _start(self) -> None:
        await self.application.initialize()
        try:
            await self.publish_commands()
        except TelegramError as error:  # the menu is a convenience: serve without it
            log.warning("telegram: setMyCommands failed: %s", type(error).__name__)
        await self.application.start()
        updater = self.application.updater
        assert updater is not None
        if self.config.mode == "webhook":
            await self._start_webhook()
        else:
            await updater.start_polling(
                # A float on purpose (tests poll for less than a second); PTB passes it through.
                timeout=self.poll_timeout,  # type: ignore[arg-type]
                allowed_updates=["message", "callback_query"],
            )

    async def _start_webhook(self) -> None:
        """The webhook listener: the bot's own aiohttp server rather than PTB's tornado one, so
        that the secret header is checked before the body is read, and the body's size and
        time are capped (bot/http_guard.py); updates go to PTB's queue as its server would."""
        secret = self.config.webhook_secret
        check = http_guard.telegram_secret(secret) if secret else None
        web_app = http_guard.application(check=check)
        web_app.router.add_post("/" + webhook_path(self.config.webhook_url), self.on_webhook)
        self._webhook = http_guard.runner(web_app)
        await self._webhook.setup()
        site = web.TCPSite(self._webhook, self.config.listen_host, self.config.listen_port)
        await site.start()
        if self.config.webhook_url:
            await self.application.bot.set_webhook(
                url=self.config.webhook_url,
                secret_token=secret or None,
                allowed_updates=["message", "callback_query"],
            )

    async def on_webhook(self, request: web.Request) -> web.Response:
        """One update posted by Telegram (secret and body already checked by the guard)."""
        if request.content_type != "application/json":
            return web.Response(status=403, text="forbidden\n")
        try:
            update = Update.de_json(json.loads(await request.read()), self.application.bot)
        except Exception:  # not an update: nothing to handle
            log.warning("telegram: a webhook body that is not an update was refused")
            return web.Response(status=400, text="not an update\n")
        if update is not None:
            await self.application.update_queue.put(update)
        return web.Response()

    async def _stop_webhook(self) -> None:
        if self._webhook is not None:
            await self._webhook.cleanup()
            self._webhook = None

    async def drain(self) -> None:
        """Shutdown: no new update (polling stops, the webhook listener closes), then the
        updates already received are handled to the end (runtime.shutdown bounds the wait)."""
        if self._application is None:
            return
        await self._stop_webhook()
        updater = self._application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._application.running:
            await self._application.update_queue.join()

    async def stop(self) -> None:
        if self._application is None:
            self.redactor.uninstall()
            return
        try:
            await self._stop_webhook()
            updater = self.application.updater
            if updater is not None and updater.running:
                await updater.stop()
            if self.application.running:
                await self.application.stop()
            with contextlib.suppress(RuntimeError, TelegramError):  # never initialized
                await self.application.shutdown()
        finally:
            self.redactor.uninstall()

    async def publish_commands(self) -> None:
        """setMyCommands in French (default and "fr") and English, from the handlers' menu."""
        for language in (*LANGUAGES, None):
            menu_language = language or self.ctx.settings.default_language
            menu = list(commands.command_menu(menu_language))
            menu += [
                (
                    command.name if menu_language == "fr" else command.english,
                    t(menu_language, f"telegram.commands.{command.name}"),
                )
                for command in (bindings.BIND_COMMAND, linking.UNLINK)
            ]
            bot_commands = [
                BotCommand(name, text[:256]) for name, text in menu if COMMAND_NAME.match(name)
            ]
            await self.call(
                partial(
                    self.application.bot.set_my_commands,
                    bot_commands,
                    scope=BotCommandScopeDefault(),
                    language_code=language,
                )
            )

    # --- updates ---------------------------------------------------------------------------

    async def once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A copy of an update already taken (Telegram redelivers a webhook post, perhaps to
        another replica) stops here: answered 200 by the webhook, handled nowhere."""
        key = f"{self.application.bot.id}:{update.update_id}"
        if not await self.app.first_seen(PLATFORM, key):
            log.info("telegram: update %s already handled, ignored", update.update_id)
            raise ApplicationHandlerStop

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text:
            return
        first = message.text.split(maxsplit=1)[0]
        if "@" in first:
            addressed = first.split("@", 1)[1].lower()
            if addressed != (self.application.bot.username or "").lower():
                return  # a command for another bot in the group
        name, args = commands.parse(message.text)
        answer = await self.use(
            message.chat_id, user,
            pending_input.on_command, self.ctx, account_of(user), place_of(message.chat),
            name, args, user.language_code,
        )  # fmt: skip
        await self.show_answer(message.chat_id, answer, account_of(user), user)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or message.text is None:
            return
        account, place = account_of(user), place_of(message.chat)
        answer = await self.use(
            message.chat_id, user,
            pending_input.on_text, self.ctx, account, place, message.text, user.language_code,
        )  # fmt: skip
        if answer is None:
            if place.is_group:
                return  # group chatter is not for the bot
            name, args = commands.parse(message.text)
            answer = await self.use(
                message.chat_id, user,
                pending_input.on_command, self.ctx, account, place, name, args,
                user.language_code,
            )  # fmt: skip
        await self.show_answer(message.chat_id, answer, account, user)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        user = query.from_user
        account = account_of(user)
        message = query.message if isinstance(query.message, Message) else None
        if message is None:
            await self.answer_query(
                query, Reply(t(user.language_code or "fr", "error.bad_button"), ok=False)
            )
            return
        place = place_of(message.chat)
        press = actions.parse_callback_data(query.data or "")
        origin = f"{message.chat_id}:{message.message_id}"
        try:
            answer = await self.app.call(
                pending_input.on_press, self.ctx, account, place, press, user.language_code,
                origin, pressed_label(message, query.data or ""),
            )  # fmt: skip
        except Exception as error:
            # Still answer the query (the client shows a spinner until then), and say so.
            failed = failure_reply(error, user.language_code, self.ctx)
            await self.answer_query(query, failed)
            with contextlib.suppress(TelegramError):
                await self.show(message.chat_id, failed, account=account)
            raise
        await self.answer_query(query, answer.reply)
        if (
            answer.awaiting is None
            and answer.reply.replaces_message
            and answer.origin not in (None, origin)
        ):
            # The outcome goes to the message that held the first button; this one (a prompt)
            # loses its keyboard.
            await self.call(
                lambda: message.edit_reply_markup(reply_markup=None), account, to=message.chat_id
            )
        await self.show_answer(message.chat_id, answer, account, user, pressed=message)

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or message.document is None:
            return
        account, place = account_of(user), place_of(message.chat)
        document = message.document
        target = await self.use(
            message.chat_id, user,
            pending_input.file_target, self.ctx, account, place, document.file_size,
            user.language_code,
        )  # fmt: skip
        if target.reply is not None:
            await self.show(message.chat_id, target.reply, account=account)
            return
        if target.press is None:
            return
        try:
            telegram_file = await self.call(lambda: context.bot.get_file(document.file_id), account)
            content = bytes(await telegram_file.download_as_bytearray())
        except (NetworkError, BadRequest) as error:
            log.warning("telegram: could not download a document: %s", type(error).__name__)
            language = normalize_language(user.language_code)
            await self.show(
                message.chat_id,
                Reply(t(language, "telegram.download_failed"), ok=False),
                account=account,
            )
            return
        reply = await self.use(
            message.chat_id, user,
            pending_input.on_file, self.ctx, account, place, target.press,
            document.file_name or "", content, user.language_code,
        )  # fmt: skip
        await self.show_answer(
            message.chat_id, pending_input.Answer(reply, origin=target.origin), account, user
        )

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A sticker, a photo... in a private chat: say what the bot understands."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        language = normalize_language(user.language_code)
        await self.show(
            message.chat_id,
            Reply(t(language, "telegram.unsupported"), ok=False),
            account=account_of(user),
        )

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat_id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat_id
        else:
            return
        await self.app.call(bindings.migrate_chat, self.ctx, PLATFORM, str(old), str(new))

    async def use(self, chat_id: int, user: User, func: Callable[..., T], *args: Any) -> T:
        """Call into the handlers; if that raises (the database went away before a use case
        could say so), the person is told, and the error goes on to be logged."""
        try:
            return await self.app.call(func, *args)
        except Exception as error:
            failed = failure_reply(error, user.language_code, self.ctx)
            with contextlib.suppress(TelegramError):
                await self.show(chat_id, failed, account=account_of(user))
            raise

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, Forbidden):  # blocked the bot: already marked unreachable
            log.info("telegram: a person blocked the bot; marked unreachable")
            return
        log.error(
            "telegram: update failed: %s", type(error).__name__,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )  # fmt: skip

    # --- rendering -------------------------------------------------------------------------

    async def answer_query(self, query: CallbackQuery, reply: Reply) -> None:
        """Every callback query is answered; a refusal with a short text (a toast)."""
        text = None
        if not reply.ok:
            text = plain(reply.text).split("\n", 1)[0]
            if len(text) > ANSWER_LIMIT:
                text = text[: ANSWER_LIMIT - 1] + "…"
        try:
            await self.call(lambda: query.answer(text=text))
        except (BadRequest, NetworkError) as error:  # too old a query: the message still shows
            log.info("telegram: callback query not answered: %s", type(error).__name__)

    async def show_answer(
        self,
        chat_id: int,
        answer: pending_input.Answer,
        account: ChatAccount,
        user: User,
        pressed: Message | None = None,
    ) -> None:
        reply = answer.reply
        if answer.awaiting is not None:
            await self.prompt(chat_id, reply, account, user, private=chat_id > 0)
            return
        target: int | None = None
        if reply.replaces_message:
            if answer.origin:
                origin_chat, _, origin_message = answer.origin.partition(":")
                if origin_chat == str(chat_id) and origin_message.isdigit():
                    target = int(origin_message)
            elif pressed is not None:
                target = pressed.message_id
        await self.show(chat_id, reply, account=account, edit_message_id=target)

    async def prompt(
        self, chat_id: int, reply: Reply, account: ChatAccount, user: User, private: bool
    ) -> None:
        """Ask for text or a file. In a private chat every message reaches the bot, so the
        prompt carries the skip/cancel buttons; in a group (privacy mode) the answer must be a
        reply, so the prompt forces one from that person and the buttons follow it."""
        if private:
            await self.show(chat_id, reply, account=account)
            return
        mention = f'<a href="tg://user?id={user.id}">{html.escape(user.first_name)}</a> '
        bot = self.application.bot

        async def ask() -> Message:
            try:
                return await bot.send_message(
                    chat_id, mention + to_html(reply.text), parse_mode=ParseMode.HTML,
                    reply_markup=ForceReply(selective=True),
                )  # fmt: skip
            except BadRequest as error:
                if not entities_refused(error):
                    raise
                log.warning("telegram: a prompt refused its HTML (%s), sent as plain text", error)
                return await bot.send_message(
                    chat_id, f"{user.first_name} {plain(reply.text)}",
                    reply_markup=ForceReply(selective=True),
                )  # fmt: skip

        await self.call(ask, account, once=True, to=chat_id)
        await self.show(chat_id, Reply("⬆", reply.buttons), account=account)

    async def show(
        self,
        chat_id: int,
        reply: Reply,
        *,
        account: ChatAccount | None = None,
        edit_message_id: int | None = None,
    ) -> None:
        """A Reply as Bot API calls: text (split below the limit, buttons on the last piece),
        then images and files. With `edit_message_id` the first piece replaces that message."""
        bot = self.application.bot
        pieces = split_text(reply.text)
        markup = keyboard(reply.buttons)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            piece_markup = markup if last else None
            if index == 0 and edit_message_id is not None:
                try:
                    await self.call(
                        partial(edit_html, bot, chat_id, edit_message_id, piece, piece_markup),
                        account,
                        to=chat_id,
                    )
                    continue
                except BadRequest as error:  # deleted, too old, or unchanged: send instead
                    log.info("telegram: edit refused (%s), sending instead", error.message[:80])
            chat_id = await self.send_text(chat_id, piece, piece_markup, account)
        for image in reply.images:
            await self.call(
                partial(
                    bot.send_photo,
                    chat_id,
                    InputFile(image.png, filename=image.filename),
                    caption=plain(image.caption)[:CAPTION_LIMIT],
                ),
                account,
                once=True,
                to=chat_id,
            )
        for name, content in reply.files:
            await self.call(
                partial(bot.send_document, chat_id, InputFile(content, filename=name)),
                account,
                once=True,
                to=chat_id,
            )

    async def send_text(
        self, chat_id: int, text: str, markup: Any, account: ChatAccount | None
    ) -> int:
        """Send one piece; returns the chat id it went to (a migrated group has a new one)."""
        target = {"chat_id": chat_id}

        async def send() -> tuple[int, int]:
            return await send_html(self.application.bot, target["chat_id"], text, markup)

        await self.call(send, account, chat=target, once=True)
        return target["chat_id"]

    async def call(
        self,
        make: Callable[[], Awaitable[T]],
        account: ChatAccount | None = None,
        chat: dict[str, int] | None = None,
        once: bool = False,
        to: int | None = None,
    ) -> T:
        """One Bot API call, with Telegram's errors handled: flood control waited out (bounded),
        a migrated group followed (when `chat` holds the chat id the call reads), a blocked bot
        recorded (the identity is marked unreachable, then the error is raised), network errors
        and 5xx retried (bounded), except, for a call made `once` (a new message), an error
        after which it may have been delivered.
        A call that sends or edits a message names its chat (`to`, or `chat`): each attempt
        first takes a reply slot in the Telegram budget."""
        attempt = 0
        while True:
            target = chat["chat_id"] if chat is not None else to
            try:
                if target is None:
                    return await make()
                await self.budget.acquire(target, Kind.REPLY)
                try:
                    return await make()
                finally:
                    self.budget.done(target)
            except RetryAfter as error:
                attempt += 1
                wait = _seconds(error)
                if target is not None:
                    self.budget.flood(target, wait)
                if attempt > MAX_RETRIES or wait > MAX_RETRY_WAIT:
                    raise
                log.warning("telegram: flood control, retrying in %.0f s", wait)
                await asyncio.sleep(wait)
            except ChatMigrated as error:
                attempt += 1
                if chat is None or attempt > MAX_RETRIES:
                    raise
                old, new = chat["chat_id"], error.new_chat_id
                await self.app.call(bindings.migrate_chat, self.ctx, PLATFORM, str(old), str(new))
                chat["chat_id"] = new
            except Forbidden:
                if account is not None:
                    await self.app.call(linking.mark_unreachable, self.ctx, account)
                raise
            except NetworkError as error:
                if isinstance(error, BadRequest) or (once and maybe_delivered(error)):
                    raise
                attempt += 1
                if attempt > MAX_RETRIES:
                    raise
                log.warning("telegram: network error (%s), retrying", type(error).__name__)
                await asyncio.sleep(0.2 * attempt)


def build_front(app: App) -> TelegramFront:
    """The factory `bot.runtime.FRONTS` names."""
    return TelegramFront(app)
