"""The outcome scan (handlers/outbox/outcomes.py) holds SQLite's one write lock only to write:
every decision waits for that lock, so a notifier round that finds nothing decided must not
take it at all."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import select

from handlers.outbox import outcomes, watcher
from storage.bot_models import Notification
from storage.codes import MembershipStatus
from tests.handlers.helpers import set_status_directly
from tests.support.notifications import new_pending

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def scan_in_thread(ctx) -> tuple[threading.Thread, list[int]]:
    found: list[int] = []
    thread = threading.Thread(target=lambda: found.append(outcomes.scan_outcomes(ctx)))
    thread.start()
    return thread, found


def test_a_round_with_nothing_decided_takes_no_write_lock(ctx, world, engine):
    membership_id = new_pending(engine, world)
    watcher.scan_new_pending(ctx)
    writer = sqlite3.connect(engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # somebody else writing (the web admin, a decision)
    try:
        thread, found = scan_in_thread(ctx)
        thread.join(timeout=5)
        assert not thread.is_alive() and found == [0]  # read, nothing decided, done
        # the same scan with something decided needs the lock, and waits for it
        writer.execute("COMMIT")
        set_status_directly(ctx, membership_id, MembershipStatus.MEMBER)
        writer.execute("BEGIN IMMEDIATE")
        thread, found = scan_in_thread(ctx)
        thread.join(timeout=1)
        assert thread.is_alive(), "a decided request is written under the write lock"
    finally:
        writer.execute("COMMIT")
        writer.close()
    thread.join(timeout=30)
    assert found == [1]
    with ctx.sessions() as session:
        notification = session.scalars(
            select(Notification).where(Notification.membership_id == membership_id)
        ).one()
        assert notification.resolved_at is not None
