"""The Telegram bench's baseline: a bare python-telegram-bot Application with one echo handler.

    python -m bench.echo_bot --base-url http://127.0.0.1:PORT/bot [--mode webhook ...]

Built like the bot's front (same PTB version, concurrent_updates(16), same polling timeout and
allowed updates) but with no use case, no database and no logging: a message is echoed with
sendMessage; a button press is answered (answerCallbackQuery) and its message edited, the two
calls the bot makes for an approval.
"""

from __future__ import annotations

import argparse

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.bot.telegram.fake_bot_api import TOKEN


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:  # not for this handler's filter (text)
        return
    await message.reply_text(message.text)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:  # not for a CallbackQueryHandler
        return
    await query.answer()
    await query.edit_message_text(f"pressed {query.data}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--mode", default="polling", choices=["polling", "webhook"])
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--listen-port", type=int, default=0)
    parser.add_argument("--secret", default="")
    args = parser.parse_args(argv)
    application = (
        ApplicationBuilder().token(TOKEN).base_url(args.base_url).concurrent_updates(16).build()
    )
    application.add_handler(CallbackQueryHandler(press))
    application.add_handler(MessageHandler(filters.TEXT, echo))
    allowed = ["message", "callback_query"]
    if args.mode == "webhook":
        application.run_webhook(
            listen="127.0.0.1", port=args.listen_port, url_path="telegram",
            webhook_url=args.webhook_url, secret_token=args.secret, allowed_updates=allowed,
        )  # fmt: skip
    else:
        application.run_polling(timeout=10, allowed_updates=allowed)


if __name__ == "__main__":
    main()
