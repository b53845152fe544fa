"""Engines and sessions for the three supported databases."""

from __future__ import annotations

import sqlite3
import time
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

#: Seconds to establish a connection to PostgreSQL or MariaDB.
CONNECT_TIMEOUT = 5


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned per dialect.

    SQLite: foreign keys on, WAL, a busy timeout, and transactions begun by SQLAlchemy rather
    than by the driver, so that a writing use case can ask for BEGIN IMMEDIATE
    (execution option `sqlite_immediate`) and two writers queue instead of failing half-way.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            _journal_in_wal(cursor)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            immediate = connection.get_execution_options().get("sqlite_immediate")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # A connection the server dropped (restart, failover, idle timeout) is found and replaced
    # when taken from the pool, before a use case runs on it.
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("mysql"):
        kwargs.setdefault("pool_recycle", 3600)
    if "connect_timeout" not in make_url(url).query:
        # An unreachable server fails a press within seconds instead of the system's TCP
        # timeout (minutes): the person is told and the use case's retry gets its chance.
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT)
        kwargs["connect_args"] = connect_args
    return create_engine(url, **kwargs)


#: How long a new connection keeps asking for WAL while another process holds the file.
WAL_WAIT_S = 30.0


def _journal_in_wal(cursor: sqlite3.Cursor) -> None:
    """PRAGMA journal_mode=WAL, retried while another process holds the file: SQLite answers
    "database is locked" at once there, without its busy timeout (two `db upgrade` starting
    together on a new file, tests/storage/test_schema_lock.py, failed about one run in four)."""
    deadline = time.monotonic() + WAL_WAIT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. Session.execute is typed as returning a Result
    whatever the statement; for these it returns a CursorResult, which has the count."""
    return cast(CursorResult[Any], result).rowcount
