"""The Telegram front's two central points, observed: each update (its id on every log line,
counted, timed, waited for at shutdown) and each Bot API call (timed, errors counted)."""

from __future__ import annotations

import time
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.logs import request_scope
from bot.telegram.request import AiohttpRequest


def update_kind(update: Update) -> str:
    if update.callback_query is not None:
        return "button"
    message = update.effective_message
    if message is None:
        return "other"
    if message.text and message.text.startswith("/"):
        return "command"
    if message.document is not None:
        return "file"
    if message.text is not None:
        return "text"
    return "other"


class ObservedApplication(Application):
    """python-telegram-bot's Application, each update wrapped by the bot's App."""

    def __init__(self, *, bot_app: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bot_app = bot_app

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        finished = self.bot_app.track("telegram", update_kind(update))
        try:
            with request_scope(f"upd {update.update_id}"):
                await super().process_update(update)
        finally:
            finished()


class MeteredRequest(AiohttpRequest):
    """Every Bot API call timed by method; an HTTP error or a network failure counted."""

    def __init__(self, metrics: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    async def do_request(self, url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        method = url.rstrip("/").rpartition("/")[2] or "unknown"
        if "/file/" in url:
            method = "download"
        started = time.perf_counter()
        error: str | None = None
        try:
            status, payload = await super().do_request(url, *args, **kwargs)
            if status >= 400:
                error = str(status)
            return status, payload
        except Exception as failure:  # timeouts, refused connections: named by their type
            error = type(failure).__name__
            raise
        finally:
            self.metrics.api_call("telegram", method, time.perf_counter() - started, error)
