"""Creating and upgrading the bot's tables; the platform's tables only where the bot may.

Runs on a fresh SQLite file, and on a fresh PostgreSQL database when
REFERENT_BOT_TEST_POSTGRES is set. The platform's real MariaDB schema is in
test_schema_mariadb.py.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select

from storage import schema
from storage.bot_models import BOT_TABLES, BotBase, Preference
from storage.engine import make_engine
from storage.models import PLATFORM_TABLES, PlatformBase
from tests.support.databases import create_server_database, drop_server_database

POSTGRES = "REFERENT_BOT_TEST_POSTGRES"
EVERYTHING = set(PLATFORM_TABLES) | set(BOT_TABLES) | {schema.VERSION_TABLE}


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_engine(request, tmp_path) -> Iterator[Engine]:
    """An empty database: a new SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        yield engine
        engine.dispose()
        return
    server = os.environ.get(POSTGRES)
    if not server:
        pytest.skip(f"PostgreSQL schema tests need {POSTGRES} (a server URL)")
    name = f"rb_schema_{uuid.uuid4().hex[:10]}"
    engine = make_engine(create_server_database(server, name))
    yield engine
    engine.dispose()
    drop_server_database(server, name)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_prepare_creates_the_platform_tables_and_the_bot_tables(fresh_engine):
    assert tables(fresh_engine) == set()

    created = schema.prepare(fresh_engine)

    assert created is True
    assert tables(fresh_engine) == EVERYTHING
    assert {"community", "community_user", "community_security", "user"} <= tables(fresh_engine)
    assert schema.bot_tables_present(fresh_engine) == list(BOT_TABLES)
    assert schema.head_revision() is not None
    assert schema.current_revision(fresh_engine) == schema.head_revision()


def test_prepare_twice_is_a_no_op(fresh_engine):
    schema.prepare(fresh_engine)
    with fresh_engine.begin() as connection:
        connection.execute(
            insert(Preference).values(
                user_id=7, language="en", push_enabled=True, updated_at=dt.datetime(2024, 1, 1)
            )
        )

    created = schema.prepare(fresh_engine)

    assert created is False
    assert tables(fresh_engine) == EVERYTHING
    assert schema.current_revision(fresh_engine) == schema.head_revision()
    with fresh_engine.connect() as connection:
        assert connection.execute(select(Preference.user_id, Preference.language)).all() == [
            (7, "en")
        ]


def bot_objects_only(obj, name, type_, reflected, compare_to) -> bool:
    """As the migrations' env.py: only `bot_` tables and what belongs to them."""
    if type_ == "table":
        return bool(name) and name.startswith("bot_")
    table = getattr(obj, "table", None)
    return table is None or table.name.startswith("bot_")


def test_the_migrations_build_exactly_the_bot_models(fresh_engine):
    """Nothing for autogenerate to add: the migrations and the models agree."""
    schema.prepare(fresh_engine)

    with fresh_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": bot_objects_only, "version_table": schema.VERSION_TABLE},
        )
        differences = compare_metadata(context, BotBase.metadata)

    assert differences == []


def test_a_database_with_only_some_platform_tables_is_refused(fresh_engine):
    some = [PlatformBase.metadata.tables[name] for name in ("user", "language", "solidary_user")]
    PlatformBase.metadata.create_all(fresh_engine, tables=some)
    before = tables(fresh_engine)

    with pytest.raises(schema.SchemaError) as refused:
        schema.prepare(fresh_engine)

    message = str(refused.value)
    missing = [name for name in PLATFORM_TABLES if name not in before]
    assert "community_user" in missing and "user" not in missing
    assert message.split("not these: ")[1].split(". ")[0].split(", ") == missing
    assert "load the platform's schema first" in message
    assert tables(fresh_engine) == before  # nothing created, no bot table either
    assert schema.bot_tables_present(fresh_engine) == []


def test_upgrade_alone_touches_only_bot_tables(fresh_engine):
    schema.ensure_platform_tables(fresh_engine)
    platform = tables(fresh_engine)

    schema.upgrade(fresh_engine)

    assert tables(fresh_engine) - platform == set(BOT_TABLES) | {schema.VERSION_TABLE}
    assert schema.ensure_platform_tables(fresh_engine) is False


def test_missing_platform_tables_are_listed_in_creation_order(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    PlatformBase.metadata.create_all(engine, tables=[PlatformBase.metadata.tables["language"]])

    assert schema.missing_platform_tables(engine) == [
        name for name in PLATFORM_TABLES if name != "language"
    ]
    engine.dispose()


def test_a_bot_made_database_gets_the_platform_tables_added_since(tmp_path):
    """An embedded database from a version that used fewer platform tables is completed."""
    from storage.models import PlatformBase

    engine = make_engine(f"sqlite:///{tmp_path / 'older.sqlite3'}")
    older = [t for t in PlatformBase.metadata.sorted_tables if t.name != "waypoint"]
    PlatformBase.metadata.create_all(engine, tables=older)
    assert "waypoint" in schema.missing_platform_tables(engine)
    assert schema.created_by_bot(engine)
    assert schema.prepare(engine) is False
    assert schema.missing_platform_tables(engine) == []
    assert "waypoint" in inspect(engine).get_table_names()
    engine.dispose()
