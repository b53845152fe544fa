"""`fill_demo`: the whole fill, in one connection, refused on a database that has communities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from storage.demo.after_fill import _AfterFill, _analyze
from storage.demo.constants import SCALES
from storage.demo.large import _Large
from storage.demo.roles import _Roles
from storage.demo.scale0 import _Scale0
from storage.models import Community
from storage.progress import Progress


class DemoError(RuntimeError):
    """The database cannot receive demo data; the message says why."""


@dataclass(frozen=True)
class DemoSummary:
    """Rows written by `fill_demo`, per kind."""

    users: int
    communities: int
    memberships: int
    ads: int
    carpool_items: int
    solidary_users: int
    territories: int


#: SQLite settings during a fill: a demo fill can be redone from scratch, so durability is traded
#: for speed meanwhile, and a large page cache keeps the indexes in memory.
_SQLITE_FILL_PRAGMAS = (("synchronous", "OFF"), ("cache_size", "-262144"))


def _sqlite_fast_writes(connection: Connection) -> list[tuple[str, object]]:
    """Apply the fill pragmas on SQLite; returns the previous values.

    Run on the DBAPI connection before SQLAlchemy begins a transaction: SQLite refuses to
    change the safety level inside one.
    """
    if connection.dialect.name != "sqlite":
        return []
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a checked-out connection always has one
    cursor = dbapi.cursor()
    saved = []
    try:
        for pragma, value in _SQLITE_FILL_PRAGMAS:
            saved.append((pragma, cursor.execute(f"PRAGMA {pragma}").fetchone()[0]))
            cursor.execute(f"PRAGMA {pragma}={value}")
    finally:
        cursor.close()
    return saved


def _sqlite_restore(connection: Connection, saved: list[tuple[str, object]]) -> None:
    if not saved:
        return
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a checked-out connection always has one
    cursor = dbapi.cursor()
    try:
        for pragma, value in saved:
            cursor.execute(f"PRAGMA {pragma}={value}")
    finally:
        cursor.close()


class _Demo(_Scale0, _Large, _Roles, _AfterFill):
    """The generator with all its parts; `fill_demo` runs them in order."""


def fill_demo(
    engine: Engine,
    scale: int = 0,
    seed: int = 2024,
    *,
    progress: Progress | None = None,
    security_folder: Path | None = None,
) -> DemoSummary:
    """Fill an empty platform database with demo data (see the module docstring for scales).

    The platform tables must exist (`storage.schema.prepare`, or the platform's schema on
    MariaDB). Refuses a database that already holds communities, so a real database is never
    polluted. `progress` receives a `Step` as each phase starts and ends and after each batch
    (users, ads, carpool items: done and total, for a bar with the time left).
    `security_folder`: where the secured communities' identifier files go (the platform's
    folder, [platform] community_security_dir); None writes no file.
    """
    if scale != 0 and scale not in SCALES:
        raise ValueError(f"scale must be 0 or one of {sorted(SCALES)}, not {scale}")
    with engine.connect() as connection:
        saved = _sqlite_fast_writes(connection)
        try:
            if connection.execute(select(Community.id).limit(1)).first() is not None:
                raise DemoError(
                    "the community table already holds rows: demo data goes only into an empty "
                    "database (create a new one, or point the bot at another file)"
                )
            demo = _Demo(connection, seed, progress)
            demo.writer.phase("sample", None)
            demo.write_reference()
            demo.build_sample()
            if scale == 0:
                demo.build_platform()
            else:
                demo.build_large(*SCALES[scale])
            demo.writer.flush()
            demo.writer.phase("roles", None)
            demo.write_roles()
            demo.reset_sequences()
            demo.writer.phase("statistics", None)
            _analyze(connection)
        finally:
            connection.rollback()
            _sqlite_restore(connection, saved)
    if security_folder is not None:
        security_folder.mkdir(parents=True, exist_ok=True)
        for name, content in demo.security_files.items():
            (security_folder / name).write_bytes(content)
    counts = demo.writer.counts
    return DemoSummary(
        users=counts["user"],
        communities=counts["community"],
        memberships=counts["community_user"],
        ads=counts["proposal"] - demo.searches,
        carpool_items=counts["carpool_item"],
        solidary_users=counts["solidary_user"],
        territories=demo.territories,
    )
