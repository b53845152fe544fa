"""The Telegram front (python-telegram-bot v22)."""
