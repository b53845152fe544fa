"""The platform's clock.

Mobicoop writes naive DATETIME values in its PHP server's time zone (`new \\DateTime()`); nothing
in its repository sets that zone, so it is a setting ([platform] timezone, Europe/Paris by
default), set once at start by the CLI (`set_zone`). The bot writes its dates in the same zone,
in the platform's tables and in its own, so that every date compares with every other. Tests
freeze the clock with `set_now`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Paris"
_zone = ZoneInfo(DEFAULT_ZONE)
_frozen: dt.datetime | None = None


def set_zone(name: str) -> None:
    """Use the platform's zone `name` from now on (the configuration checked it exists)."""
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    """The zone the platform's naive dates are in."""
    return _zone


def now() -> dt.datetime:
    """Naive local time of the platform, to the second, as the platform stores it."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(_zone).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


def set_now(value: dt.datetime | None) -> None:
    """Freeze the clock (tests); None lets it run again."""
    global _frozen
    _frozen = value
