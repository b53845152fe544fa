"""Retry delays of the chat deliveries (handlers.outbox.claims): exponential, jittered so that
the deliveries an outage failed together do not all come back together, never sooner than the
Retry-After the platform asked for."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update

from handlers.outbox import claims, watcher
from storage import backoff, clock
from storage.bot_models import Delivery
from tests.support.jitter import Longest, Shortest
from tests.support.notifications import link_deciders, new_pending

WORKER = "worker-1"


@pytest.fixture
def deliveries(ctx, engine, world) -> list[int]:
    """The pushes of the world's pending requests and a new one to the deciders' chats."""
    link_deciders(engine, world)
    new_pending(engine, world)
    watcher.scan_new_pending(ctx)
    with ctx.sessions() as session:
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
    assert len(ids) >= 10
    return ids


def fail(ctx, delivery_id: int, attempts_before: int, how: str, retry_after=None) -> int:
    """Claim the delivery as if it had failed `attempts_before` times, fail it once more;
    returns the delay given, in seconds."""
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(attempts=attempts_before, next_attempt_at=clock.now(), state="pending")
        )
    assert delivery_id in {task.delivery_id for task in claims.claim_due(ctx, WORKER)}
    if how == "retry":
        assert claims.mark_retry(ctx, delivery_id, WORKER, "500 Internal Server Error", retry_after)
    else:
        assert claims.mark_unknown(ctx, delivery_id, WORKER, "timeout")
    with ctx.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery.attempts == attempts_before + 1
        release = [
            d.id for d in session.scalars(select(Delivery).where(Delivery.claimed_by.is_not(None)))
        ]
    for other in release:  # the others claimed alongside go back to the queue
        claims.mark_retry(ctx, other, WORKER, "not this one", 0)
    return int((delivery.next_attempt_at - clock.now()).total_seconds())


@pytest.mark.parametrize("how", ["retry", "unknown"])
def test_the_delay_lies_between_half_the_backoff_and_the_backoff(ctx, deliveries, monkeypatch, how):
    first = deliveries[0]
    monkeypatch.setattr(backoff, "source", Shortest())
    assert [fail(ctx, first, n, how) for n in (0, 1, 2, 5, 9, 12)] == [1, 2, 4, 32, 300, 300]
    monkeypatch.setattr(backoff, "source", Longest())
    assert [fail(ctx, first, n, how) for n in (0, 1, 2, 5, 9, 12)] == [2, 4, 8, 64, 600, 600]


def test_never_sooner_than_retry_after(ctx, deliveries, monkeypatch):
    first = deliveries[0]
    monkeypatch.setattr(backoff, "source", Longest())
    assert fail(ctx, first, 0, "retry", retry_after=30) == 30  # Telegram's 429 wins
    monkeypatch.setattr(backoff, "source", Shortest())
    assert fail(ctx, first, 0, "retry", retry_after=30) == 30
    assert fail(ctx, first, 6, "retry", retry_after=40) == 64  # jitter above it: kept
    assert fail(ctx, first, 6, "retry", retry_after=100) == 100


def test_deliveries_failed_together_come_back_apart(ctx, deliveries, monkeypatch):
    monkeypatch.setattr(backoff, "source", random.Random(3))
    delays = [fail(ctx, d, 8, "retry") for d in deliveries]
    assert all(256 <= delay <= 512 for delay in delays)  # 2^9 s, jittered
    assert len(set(delays)) >= len(delays) - 2  # not all at the same second, as before
