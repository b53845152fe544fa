"""Which time zone the platform's newest rows were written in (`referent-bot doctor`).

The platform writes naive DATETIMEs in its PHP server's zone, which nothing in its repository
sets. On a busy platform the newest `created_date` is a few minutes old, so comparing it with
the database's own clock (in UTC) tells the zone's UTC offset, to the hour.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, inspect, text

#: Busy tables of the platform and their insertion date; the newest row of each is its last id.
#: Only tables the bot maps (and is granted SELECT on, storage/grants.py): the platform's `log`
#: would be busier, but it holds every user's actions, which the bot has no need to read.
BUSY_TABLES = (
    ("user", "created_date"),
    ("proposal", "created_date"),
    ("ask", "created_date"),
    ("carpool_item", "created_date"),
)
#: Clocks of the PHP server and of the database may disagree this much.
SKEW = dt.timedelta(minutes=2)
#: A row newer than this (in the zone tried) counts as "just written".
FRESH = dt.timedelta(hours=1)


@dataclass(frozen=True)
class ZoneProbe:
    """The newest platform row and the database's clock, read together."""

    table: str | None
    newest: dt.datetime | None  # naive, as the platform wrote it
    utc_now: dt.datetime  # the database's clock, in UTC
    database_zone: str  # what the database says its own zone is

    def offset(self) -> dt.timedelta | None:
        """The whole-hour UTC offset the newest row fits if it was written within the hour."""
        if self.newest is None:
            return None
        hours = math.ceil((self.newest - self.utc_now - SKEW) / dt.timedelta(hours=1))
        return dt.timedelta(hours=max(-12, min(14, hours)))

    def age_in(self, zone: dt.tzinfo) -> dt.timedelta | None:
        """How old the newest row is, read as a date of `zone`."""
        if self.newest is None:
            return None
        local_now = self.utc_now.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
        return local_now - self.newest


def probe(engine: Engine) -> ZoneProbe:
    """The newest row of the busy tables (by id: the last inserted, read through the primary
    key, so instant on the largest table) and the database's UTC clock and zone."""
    present = set(inspect(engine).get_table_names())
    quote = engine.dialect.identifier_preparer.quote
    newest: tuple[dt.datetime, str] | None = None
    with engine.connect() as connection:
        for table, column in BUSY_TABLES:
            if table not in present:
                continue
            value = connection.execute(
                text(f"SELECT {quote(column)} FROM {quote(table)} ORDER BY id DESC LIMIT 1")
            ).scalar()
            value = _as_datetime(value)
            if value is not None and (newest is None or value > newest[0]):
                newest = (value, table)
        utc_now, database_zone = _database_clock(connection)
    return ZoneProbe(newest[1] if newest else None, newest[0] if newest else None, utc_now,
                     database_zone)  # fmt: skip


def _database_clock(connection: Connection) -> tuple[dt.datetime, str]:
    dialect = connection.dialect.name
    if dialect == "mysql":
        row = connection.execute(
            text("SELECT UTC_TIMESTAMP(), @@session.time_zone, @@system_time_zone")
        ).one()
        zone = row[1] if row[1] != "SYSTEM" else f"SYSTEM ({row[2]})"
        return _clock(row[0]), zone
    if dialect == "postgresql":
        row = connection.execute(
            text("SELECT now() AT TIME ZONE 'UTC', current_setting('TimeZone')")
        ).one()
        return _clock(row[0]), row[1]
    value = connection.execute(text("SELECT datetime('now')")).scalar()
    return _clock(value), "UTC"


def _clock(value: object) -> dt.datetime:
    """The database's own clock, which it always has."""
    now = _as_datetime(value)
    if now is None:
        raise RuntimeError(f"the database's clock reads {value!r}")
    return now


def _as_datetime(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0)
    return None


def format_offset(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
