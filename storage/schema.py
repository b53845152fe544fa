"""Creating and upgrading what the bot owns, and refusing to touch what the platform owns."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, inspect, text

from storage.bot_models import BOT_TABLES
from storage.models import PLATFORM_TABLES, PlatformBase
from storage.roles import ensure_auth_items

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "bot_alembic_version"
#: Dialects on which the bot may create the platform tables itself (never MariaDB/MySQL).
CREATES_PLATFORM_TABLES = ("sqlite", "postgresql")
#: The lock that lets one `db upgrade` (or first start) at a time change the schema.
LOCK_NAME = "referent_bot_schema"
LOCK_KEY = 0x7265666572656E74  # pg_advisory_lock takes a bigint: "referent" in ASCII
#: How long a second upgrade waits for the first before giving up.
LOCK_WAIT_SECONDS = 600


class SchemaError(RuntimeError):
    """The database is not in a state the bot can work with; the message says what to do."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def missing_platform_tables(engine: Engine) -> list[str]:
    present = set(inspect(engine).get_table_names())
    return [name for name in PLATFORM_TABLES if name not in present]


def ensure_platform_tables(engine: Engine) -> bool:
    """Create the platform tables on an empty SQLite or PostgreSQL database.

    Returns True when they were created. A database holding all of them is left alone; one
    holding only some of them is refused, since completing it would mean changing the
    platform's schema.
    """
    missing = missing_platform_tables(engine)
    if not missing:
        return False
    if len(missing) < len(PLATFORM_TABLES) and created_by_bot(engine):
        # A database whose platform tables the bot made itself, from an older version that
        # used fewer of them: complete it with the tables added since.
        PlatformBase.metadata.create_all(engine, tables=_tables(missing))
        _seed(engine, auth_items="auth_item" in missing)
        return False
    if len(missing) < len(PLATFORM_TABLES):
        raise SchemaError(
            "the database holds some of the platform's tables but not these: "
            + ", ".join(missing)
            + ". The bot does not complete a platform schema; load the platform's schema first."
        )
    if engine.dialect.name not in CREATES_PLATFORM_TABLES:
        raise SchemaError(
            f"no platform tables found on this {engine.dialect.name} database. On "
            "MariaDB/MySQL the bot runs on the platform's own database: point [database] url "
            "at it, or load the platform's schema.sql first."
        )
    PlatformBase.metadata.create_all(engine)
    _seed(engine, auth_items=True)
    return True


def _seed(engine: Engine, auth_items: bool) -> None:
    """The platform's reference rows the bot's writes need, which the platform's own
    migrations insert: the notifications of storage.notified.SEED (those missing), and the
    roles the bot assigns or reads, only in an auth_item table the bot has just created."""
    from sqlalchemy.orm import Session

    from storage import notified

    with Session(engine) as session, session.begin():
        notified.seed(session)
    if auth_items:
        with engine.begin() as connection:
            ensure_auth_items(connection)


def created_by_bot(engine: Engine) -> bool:
    """True when the platform tables come from the bot's own models (SQLite, stand-alone
    PostgreSQL): their indexes bear SQLAlchemy's names, never the platform's IDX_... ones."""
    if engine.dialect.name not in CREATES_PLATFORM_TABLES:
        return False
    inspector = inspect(engine)
    if "community_user" not in inspector.get_table_names():
        return False
    names = {index["name"] for index in inspector.get_indexes("community_user")}
    return "ix_community_user_community_id" in names


def _tables(names: list[str]) -> list[Table]:
    return [PlatformBase.metadata.tables[name] for name in names]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the bot's `bot_` tables to `revision`; platform tables are never touched."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return ctx.get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def prepare(engine: Engine, wait: float = LOCK_WAIT_SECONDS) -> bool:
    """Everything a fresh start needs: platform tables where allowed, then migrations.

    Returns True when the platform tables were created (an empty embedded database). Two
    replicas upgrading at once (systemd's ExecStartPre on both) take turns: the second finds
    the work done; without the lock one of them failed half-way with a duplicate table.
    """
    with schema_lock(engine, wait):
        created = ensure_platform_tables(engine)
        upgrade(engine)
    return created


@contextlib.contextmanager
def schema_lock(engine: Engine, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Held while the schema changes: an advisory lock on PostgreSQL, GET_LOCK on MariaDB, a
    lock file beside an SQLite database (none for an in-memory one)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        with _file_lock(engine.url.database, wait):
            yield
        return
    with engine.connect() as connection:
        if dialect == "postgresql":
            take = text("SELECT pg_try_advisory_lock(:key)").bindparams(key=LOCK_KEY)
            release = text("SELECT pg_advisory_unlock(:key)").bindparams(key=LOCK_KEY)
        else:
            take = text("SELECT GET_LOCK(:name, 0)").bindparams(name=LOCK_NAME)
            release = text("SELECT RELEASE_LOCK(:name)").bindparams(name=LOCK_NAME)
        deadline = time.monotonic() + wait
        while not connection.execute(take).scalar():
            connection.rollback()
            if time.monotonic() >= deadline:
                raise SchemaError(_busy(wait))
            time.sleep(0.5)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(release)
            connection.commit()


@contextlib.contextmanager
def _file_lock(database: str | None, wait: float) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: one process at a time is the operator's to ensure
        posix = False
    else:
        posix = True
    if not posix or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.schema-lock", "a+b") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SchemaError(_busy(wait)) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _busy(wait: float) -> str:
    return (
        f"another `referent-bot db upgrade` (or a first start) has been changing the schema "
        f"for more than {wait:.0f} s; wait for it to finish, then run this again"
    )


def bot_tables_present(engine: Engine) -> list[str]:
    present = set(inspect(engine).get_table_names())
    return [name for name in BOT_TABLES if name in present]
