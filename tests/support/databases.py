"""Throwaway databases on the PostgreSQL and MariaDB servers, and the platform's real schema."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
PLATFORM_SCHEMA = REPO.parent / "shared" / "reference" / "mobicoop" / "schema.sql"


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
