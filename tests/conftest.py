"""Fixtures shared by the whole suite: a database per backend, and a small known world.

SQLite always runs. PostgreSQL and MariaDB run when REFERENT_BOT_TEST_POSTGRES /
REFERENT_BOT_TEST_MARIADB hold a server URL (`.ci/run` sets both); each gets a throwaway
database created for the session. On MariaDB that database is loaded with the platform's real
schema (shared/reference/mobicoop/schema.sql, 116 tables), as in production.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.logs import redact_personal_data_in_logs
from bot.wiring import register_audit_listeners
from handlers.core.context import Context, Settings
from handlers.outbox.feed import forget_reminders_done
from storage import clock, schema
from storage.bot_models import BotBase
from storage.engine import make_engine, make_sessionmaker
from storage.models import PlatformBase
from tests.support.databases import (
    create_server_database,
    drop_server_database,
    server_url,
)
from tests.support.world import World, build_world

BACKENDS = ["sqlite", "postgres", "mariadb"]
_CREATED: dict[str, tuple[str, str]] = {}


@pytest.fixture(scope="session", autouse=True)
def _audit_listeners() -> None:
    """The audit listeners (change feed, metrics) as the bot registers them at start-up: use
    cases called directly write what they write in the bot."""
    register_audit_listeners()


@pytest.fixture(scope="session")
def server_engines() -> dict[str, Engine]:
    return {}


def _server_engine(kind: str, engines: dict[str, Engine]) -> Engine:
    if kind in engines:
        return engines[kind]
    server = server_url(kind)
    name = f"rb_test_{uuid.uuid4().hex[:10]}"
    url = create_server_database(server, name, platform_schema=(kind == "mariadb"))
    engine = make_engine(url)
    schema.prepare(engine)
    engines[kind] = engine
    _CREATED[kind] = (server, name)
    return engine


@pytest.fixture(scope="session", autouse=True)
def _drop_server_databases(server_engines):
    yield
    for kind, engine in server_engines.items():
        engine.dispose()
        drop_server_database(*_CREATED[kind])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite database prepared once (platform and bot tables), copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "bot.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    schema.prepare(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, server_engines) -> Iterator[Engine]:
    kind = request.param
    if kind == "sqlite":
        path = tmp_path / "bot.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = _server_engine(kind, server_engines)
    empty_tables(engine)
    forget_reminders_done()  # the same engine, on a database emptied since the last test
    yield engine
    empty_tables(engine)


def empty_tables(engine: Engine) -> None:
    tables = [t.name for t in PlatformBase.metadata.sorted_tables] + [
        t.name for t in BotBase.metadata.sorted_tables
    ]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # DELETE, children first: on these few rows it is ~10 times faster than TRUNCATE
            for metadata in (BotBase.metadata, PlatformBase.metadata):
                for table in reversed(metadata.sorted_tables):
                    connection.execute(table.delete())
        else:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in tables:
                connection.execute(text(f"DELETE FROM `{table}`"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        operators=frozenset({"operateur@hautsdefrance-mobilites.fr"}),
        security_folder=tmp_path / "community_security",
    )


@pytest.fixture
def ctx(engine, settings) -> Context:
    return Context(sessions=make_sessionmaker(engine), settings=settings)


@pytest.fixture
def mail_ctx(engine, settings: Settings) -> Context:
    """The bot with [email] configured."""
    return Context(
        sessions=make_sessionmaker(engine),
        settings=dataclasses.replace(settings, email_enabled=True),
    )


@pytest.fixture
def world(engine) -> World:
    return build_world(engine)


@pytest.fixture(autouse=True)
def personal_data_in_logs_as_configured():
    """`referent-bot` run in-process turns the masking of personal data on for the process
    ([logging] redact_personal_data defaults to true): each test starts without it."""
    yield
    redact_personal_data_in_logs(False)


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.set_now(clock.now().replace(year=2024, month=1, day=17, hour=10, minute=2, second=0))
    yield
    clock.set_now(None)
    clock.set_zone(clock.DEFAULT_ZONE)  # a test that set [platform] timezone leaves no trace
