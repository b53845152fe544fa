"""An update's key is claimed once, whoever claims it and however many at the same moment."""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from handlers import seen_updates
from storage import clock
from storage.bot_models import SeenUpdate


def keys(ctx) -> list[tuple[str, str]]:
    with ctx.sessions() as session:
        return sorted(session.execute(select(SeenUpdate.platform, SeenUpdate.update_key)).all())


def test_the_first_delivery_wins_and_copies_lose(ctx):
    assert seen_updates.first_seen(ctx, "telegram", "123:42")
    assert not seen_updates.first_seen(ctx, "telegram", "123:42")
    assert seen_updates.first_seen(ctx, "slack", "123:42")  # another platform, another key
    assert seen_updates.first_seen(ctx, "telegram", "123:43")
    assert keys(ctx) == [("slack", "123:42"), ("telegram", "123:42"), ("telegram", "123:43")]


def test_a_long_key_is_stored_as_its_digest_and_still_wins_once(ctx):
    key = "trigger:" + "x" * 300
    assert seen_updates.first_seen(ctx, "slack", key)
    assert not seen_updates.first_seen(ctx, "slack", key)
    assert not seen_updates.first_seen(ctx, "slack", key[:-1] + "x")
    assert seen_updates.first_seen(ctx, "slack", key[:-1] + "y")
    assert [len(k) for _, k in keys(ctx)] == [64, 64]


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
        assert session.scalar(select(func.count()).select_from(SeenUpdate)) == 20


def test_keys_are_forgotten_after_a_day(ctx, monkeypatch):
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
