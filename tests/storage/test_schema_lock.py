"""Two replicas upgrading at once (each unit's ExecStartPre) take turns on a schema lock; before
it, one of them failed half-way with a duplicate table. A lock held too long is explained."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, table

from storage import schema
from storage.bot_models import BOT_TABLES
from storage.engine import make_engine
from tests.support.databases import throwaway_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    """A database the bot has never seen: empty (SQLite, PostgreSQL), or holding only the
    platform's schema (MariaDB, as in production)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with throwaway_database(request.param, "rb_lock") as url:
        yield url


def _upgrade(url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERENT_BOT_")}
    env["REFERENT_BOT_DATABASE_URL"] = url
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_two_upgrades_at_once_both_succeed(fresh_url):
    first, second = _upgrade(fresh_url), _upgrade(fresh_url)
    outputs = [p.communicate(timeout=180)[0] for p in (first, second)]
    head = schema.head_revision()
    for process, output in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, output
        assert f"bot tables at revision {head}" in output
    engine = make_engine(fresh_url)
    try:
        assert set(BOT_TABLES) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            versions = connection.execute(
                select(func.count()).select_from(table(schema.VERSION_TABLE))
            ).scalar()
        assert versions == 1
        assert schema.current_revision(engine) == head
    finally:
        engine.dispose()


def test_an_upgrade_waiting_too_long_says_why_and_changes_nothing(fresh_url):
    engine = make_engine(fresh_url)
    try:
        with schema.schema_lock(engine), pytest.raises(schema.SchemaError) as error:
            schema.prepare(engine, wait=1)
        assert "another `referent-bot db upgrade`" in str(error.value)
        assert "more than 1 s" in str(error.value)
        assert not schema.bot_tables_present(engine)
        created = schema.prepare(engine, wait=5)  # the lock was released: it runs now
        assert created == (engine.dialect.name != "mysql")  # never the platform's on MariaDB
        assert schema.current_revision(engine) == schema.head_revision()
    finally:
        engine.dispose()
