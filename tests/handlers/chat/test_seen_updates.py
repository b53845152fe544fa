"""An update's key is claimed once, whoever claims it and however many at the same moment."""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from handlers.chat import seen_updates
from storage import clock
from storage.bot_models import SeenUpdate


def keys(ctx) -> list[tuple[str, str]]:
    with ctx.sessions() as session:
        return sorted(session.execute(select(SeenUpdate.platform, SeenUpdate.update_key)).all())


def stored(ctx, expected: list) -> list:
    """What the table holds: the claimed keys on a server database; nothing on SQLite, where
    one process serves the database and keeps its keys in memory."""
    return [] if seen_updates.claims_in_memory(ctx) else expected


def test_the_first_delivery_wins_and_copies_lose(ctx):
    assert seen_updates.first_seen(ctx, "telegram", "123:42")
    assert not seen_updates.first_seen(ctx, "telegram", "123:42")
    assert seen_updates.first_seen(ctx, "slack", "123:42")  # another platform, another key
    assert seen_updates.first_seen(ctx, "telegram", "123:43")
    assert keys(ctx) == stored(
        ctx, [("slack", "123:42"), ("telegram", "123:42"), ("telegram", "123:43")]
    )


def test_a_long_key_is_stored_as_its_digest_and_still_wins_once(ctx):
    key = "trigger:" + "x" * 300
    assert seen_updates.first_seen(ctx, "slack", key)
    assert not seen_updates.first_seen(ctx, "slack", key)
    assert not seen_updates.first_seen(ctx, "slack", key[:-1] + "x")
    assert seen_updates.first_seen(ctx, "slack", key[:-1] + "y")
    assert [len(k) for _, k in keys(ctx)] == stored(ctx, [64, 64])


def test_replicas_claiming_at_the_same_moment_win_once_each_key(ctx):
    """Eight threads (each its own connection) claim the same 20 keys together."""
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda job: seen_updates.first_seen(ctx, "telegram", f"1:{job % 20}"), range(160)
            )
        )
    assert sum(results) == 20
    with ctx.sessions() as session:
        count = session.scalar(select(func.count()).select_from(SeenUpdate))
    assert count == (0 if seen_updates.claims_in_memory(ctx) else 20)


def test_keys_are_forgotten_after_a_day(ctx, monkeypatch):
    if seen_updates.claims_in_memory(ctx):
        pytest.skip("SQLite keeps its keys in memory: see the in-memory tests below")
    monkeypatch.setattr(seen_updates, "_last_pruned", None)
    assert seen_updates.first_seen(ctx, "telegram", "old")
    clock.set_now(clock.now() + dt.timedelta(hours=23))
    assert seen_updates.first_seen(ctx, "telegram", "recent")
    clock.set_now(clock.now() + dt.timedelta(hours=2))  # an hour since the last pruning
    assert seen_updates.first_seen(ctx, "telegram", "new")
    assert keys(ctx) == [("telegram", "new"), ("telegram", "recent")]
    assert seen_updates.prune(ctx, clock.now() + dt.timedelta(seconds=1)) == 2
    assert keys(ctx) == []


def test_an_update_goes_on_when_the_database_cannot_record_it(ctx, caplog):
    """Its use case will tell the person the database is unavailable; nothing is recorded."""
    broken = dataclasses.replace(
        ctx, sessions=sessionmaker(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    )
    assert seen_updates.first_seen(broken, "telegram", "1:1")
    assert "could not record a telegram update (OperationalError)" in caplog.text
    assert keys(ctx) == []


# --- SQLite: one process, keys in memory ----------------------------------------------------


def sqlite_only(ctx) -> None:
    if not seen_updates.claims_in_memory(ctx):
        pytest.skip("a server database: the keys are in the table (tests above)")


def test_on_sqlite_no_write_transaction_per_update(ctx):
    sqlite_only(ctx)
    assert seen_updates.first_seen(ctx, "telegram", "9:1")
    assert not seen_updates.first_seen(ctx, "telegram", "9:1")
    assert keys(ctx) == []


def test_on_sqlite_a_key_is_remembered_an_hour(ctx):
    sqlite_only(ctx)
    assert seen_updates.first_seen(ctx, "slack", "evt:1")
    clock.set_now(clock.now() + seen_updates.MEMORY_KEEP - dt.timedelta(seconds=1))
    assert not seen_updates.first_seen(ctx, "slack", "evt:1")  # Slack retries within 5 min
    assert seen_updates.first_seen(ctx, "slack", "evt:2")
    clock.set_now(clock.now() + dt.timedelta(seconds=2))
    assert seen_updates.first_seen(ctx, "slack", "evt:1")  # forgotten, as the table's day
    assert not seen_updates.first_seen(ctx, "slack", "evt:2")


def test_on_sqlite_the_oldest_keys_go_first_past_the_limit(ctx, monkeypatch):
    sqlite_only(ctx)
    monkeypatch.setattr(seen_updates, "MEMORY_MAX", 3)
    for update_id in range(4):
        assert seen_updates.first_seen(ctx, "telegram", f"7:{update_id}")
    assert seen_updates.first_seen(ctx, "telegram", "7:0")  # the oldest was dropped
    assert not seen_updates.first_seen(ctx, "telegram", "7:3")
