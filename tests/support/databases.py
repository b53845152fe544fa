"""Throwaway databases on the PostgreSQL and MariaDB servers, and the platform's real schema."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.services import unavailable

REPO = Path(__file__).resolve().parents[2]
PLATFORM_SCHEMA = REPO.parent / "shared" / "reference" / "mobicoop" / "schema.sql"
#: Where the server tests find their server (`.ci/run` sets both).
ENV = {"postgres": "REFERENT_BOT_TEST_POSTGRES", "mariadb": "REFERENT_BOT_TEST_MARIADB"}


def server_url(kind: str) -> str:
    """The URL of the "postgres" or "mariadb" test server."""
    url = os.environ.get(ENV[kind])
    if not url:
        unavailable(f"{kind} tests need {ENV[kind]} (a server URL); .ci/run sets it")
    return url


@contextlib.contextmanager
def throwaway_database(kind: str, prefix: str) -> Iterator[str]:
    """A new database on the server, dropped afterwards; on MariaDB it holds the platform's
    real schema, as in production. Yields its URL."""
    server = server_url(kind)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = create_server_database(server, name, platform_schema=(kind == "mariadb"))
    try:
        yield url
    finally:
        drop_server_database(server, name)


def platform_schema_sql() -> str:
    if not PLATFORM_SCHEMA.exists():
        raise FileNotFoundError(f"the platform's schema is expected at {PLATFORM_SCHEMA}")
    return PLATFORM_SCHEMA.read_text("utf-8")


def schema_statements(sql: str) -> list[str]:
    """mysqldump output split into statements (none of its statements holds a `;` in text)."""
    statements = []
    for chunk in sql.split(";\n"):
        chunk = chunk.strip()
        if chunk:
            statements.append(chunk)
    return statements


def create_server_database(server_url: str, name: str, platform_schema: bool = False) -> str:
    """Create database `name` on the server and return its URL; optionally load the platform."""
    url = make_url(server_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if url.get_backend_name() == "postgresql":
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            connection.execute(
                text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )
    admin.dispose()
    db_url = url.set(database=name)
    if platform_schema:
        load_platform_schema(db_url)
    return db_url.render_as_string(hide_password=False)


def load_platform_schema(db_url) -> None:
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for statement in schema_statements(platform_schema_sql()):
            connection.exec_driver_sql(statement)
        connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    engine.dispose()


def drop_server_database(server_url: str, name: str) -> None:
    url = make_url(server_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if url.get_backend_name() == "postgresql":
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def table_definitions(engine) -> dict[str, str]:
    """SHOW CREATE TABLE of every table but the bot's own, AUTO_INCREMENT counters left out."""
    result = {}
    with engine.connect() as connection:
        names = [row[0] for row in connection.exec_driver_sql("SHOW TABLES")]
        for name in names:
            if name.startswith("bot_"):
                continue
            ddl = connection.exec_driver_sql(f"SHOW CREATE TABLE `{name}`").one()[1]
            result[name] = re.sub(r" AUTO_INCREMENT=\d+", "", ddl)
    return result
