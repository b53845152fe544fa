"""Telegram's way of handing a link code over: a deep link that opens a chat with the bot and
sends `/start <code>` (https://core.telegram.org/bots/features#deep-linking). The use cases
only issue the code; how a front presents it is the front's business."""

from __future__ import annotations


def deep_link(bot_username: str, code: str) -> str:
    """The t.me address for the bot named `bot_username` (without @) and this code."""
    return f"https://t.me/{bot_username}?start={code}"
