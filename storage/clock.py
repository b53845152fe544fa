"""The platform's clock.

Mobicoop writes naive DATETIME values in the platform's local time (Europe/Paris); the bot does
the same in the platform's tables and in its own, so that every date compares with every other.
Tests freeze it with `set_now`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PLATFORM_TIMEZONE = ZoneInfo("Europe/Paris")
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Naive local time of the platform, to the second, as the platform stores it."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(PLATFORM_TIMEZONE).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


def set_now(value: dt.datetime | None) -> None:
    """Freeze the clock (tests); None lets it run again."""
    global _frozen
    _frozen = value
