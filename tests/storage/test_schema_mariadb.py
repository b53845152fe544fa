"""The bot on the platform's real MariaDB database: it adds its `bot_` tables, nothing else.

Each test loads shared/reference/mobicoop/schema.sql (the platform's 116 tables) into a
throwaway database on the server named by REFERENT_BOT_TEST_MARIADB.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from handlers.chat.identity import actor_for_user
from handlers.community import pending
from handlers.core.context import Context, Settings
from storage import schema
from storage.bot_models import BOT_TABLES
from storage.codes import MembershipStatus
from storage.engine import make_engine, make_sessionmaker
from storage.models import PLATFORM_TABLES, CommunityUser, PlatformBase
from tests.support.databases import (
    create_server_database,
    drop_server_database,
    platform_schema_sql,
    schema_statements,
    table_definitions,
)
from tests.support.world import build_world

MARIADB = "REFERENT_BOT_TEST_MARIADB"
PLATFORM_TABLE_COUNT = 116
#: Required columns deliberately left out of the models, filled by raw SQL where needed:
#: a territory's MULTIPOLYGON (the demo data writes it itself; the bot only reads names).
UNMAPPED_REQUIRED = {"territory": {"geo_json_detail"}}


@pytest.fixture(scope="module")
def server() -> str:
    url = os.environ.get(MARIADB)
    if not url:
        pytest.skip(
            f"the platform's MariaDB schema tests need {MARIADB} (a MariaDB/MySQL server URL, "
            "e.g. mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4)"
        )
    return url


def throwaway(server: str, platform_schema: bool) -> Iterator[Engine]:
    name = f"rb_schema_{uuid.uuid4().hex[:10]}"
    engine = make_engine(create_server_database(server, name, platform_schema=platform_schema))
    try:
        yield engine
    finally:
        engine.dispose()
        drop_server_database(server, name)


@pytest.fixture
def platform_db(server) -> Iterator[Engine]:
    """A database holding the platform's real schema, and nothing else."""
    yield from throwaway(server, platform_schema=True)


@pytest.fixture
def empty_db(server) -> Iterator[Engine]:
    yield from throwaway(server, platform_schema=False)


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {row[0] for row in connection.exec_driver_sql("SHOW TABLES")}


def test_prepare_adds_the_bot_tables_and_changes_no_platform_table(platform_db):
    before = table_definitions(platform_db)
    assert len(before) == PLATFORM_TABLE_COUNT
    assert set(PLATFORM_TABLES) <= set(before)

    created = schema.prepare(platform_db)

    assert created is False  # the platform's tables were there: none created
    assert schema.bot_tables_present(platform_db) == list(BOT_TABLES)
    assert schema.current_revision(platform_db) == schema.head_revision()
    assert table_definitions(platform_db) == before  # every platform table, byte for byte
    assert tables(platform_db) == set(before) | set(BOT_TABLES) | {schema.VERSION_TABLE}

    # a second run (a restart, `db upgrade` again) changes nothing either
    assert schema.prepare(platform_db) is False
    assert table_definitions(platform_db) == before
    assert tables(platform_db) == set(before) | set(BOT_TABLES) | {schema.VERSION_TABLE}


def test_the_bot_tables_use_the_platform_character_set(platform_db):
    schema.prepare(platform_db)

    with platform_db.connect() as connection:
        collations = dict(
            connection.execute(
                text(
                    "SELECT table_name, table_collation FROM information_schema.tables "
                    "WHERE table_schema = DATABASE() AND table_name LIKE 'bot\\_%'"
                )
            ).all()
        )
    assert set(collations) == set(BOT_TABLES) | {schema.VERSION_TABLE}
    assert all(c.startswith("utf8mb4") for c in collations.values()), collations


@pytest.mark.filterwarnings("ignore:Did not recognize type:sqlalchemy.exc.SAWarning")
def test_every_mapped_column_exists_in_the_real_schema(platform_db):
    """The bot's models name the platform's columns exactly; every column an INSERT must fill
    (NOT NULL, no default, not auto-increment) is mapped."""
    inspector = inspect(platform_db)
    for table in PlatformBase.metadata.sorted_tables:
        real = {c["name"]: c for c in inspector.get_columns(table.name)}
        mapped = set(table.columns.keys())
        assert mapped <= set(real), (table.name, mapped - set(real))
        required = {
            name
            for name, c in real.items()
            if not c["nullable"] and c.get("default") is None and not c.get("autoincrement")
        }
        assert required - mapped <= UNMAPPED_REQUIRED.get(table.name, set()), table.name


def test_a_decision_on_the_real_schema(platform_db, tmp_path):
    schema.prepare(platform_db)
    world = build_world(platform_db)
    ctx = Context(make_sessionmaker(platform_db), Settings(security_folder=tmp_path))
    emilie = actor_for_user(ctx, world.users["emilie"], "console")

    reply = pending.approve(ctx, emilie, world.membership("arc", "pierre"))

    assert reply.ok, reply.text
    with ctx.sessions() as session:
        row = session.get(CommunityUser, world.membership("arc", "pierre"))
        assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, world.users["emilie"])


def test_an_empty_database_is_refused_and_left_empty(empty_db):
    with pytest.raises(schema.SchemaError) as refused:
        schema.prepare(empty_db)

    assert "no platform tables found on this mysql database" in str(refused.value)
    assert "load the platform's schema.sql first" in str(refused.value)
    assert tables(empty_db) == set()


def test_a_database_with_part_of_the_platform_schema_is_refused(empty_db):
    wanted = {"user", "community", "address"}
    with empty_db.begin() as connection:
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for statement in schema_statements(platform_schema_sql()):
            name = statement.split("CREATE TABLE `", 1)[-1].split("`", 1)[0]
            if "CREATE TABLE" in statement and name in wanted:
                connection.exec_driver_sql(statement)
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    assert tables(empty_db) == wanted
    before = table_definitions(empty_db)

    with pytest.raises(schema.SchemaError) as refused:
        schema.prepare(empty_db)

    assert "community_user" in str(refused.value)
    assert "does not complete a platform schema" in str(refused.value)
    assert table_definitions(empty_db) == before
    assert tables(empty_db) == wanted
