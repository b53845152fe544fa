"""Replicas marking deliveries at the same moment: a replica starting up recovers what a dead
notifier left in `sending` without waiting on (or deadlocking with) the delivery a living one is
marking; recipients found unreachable at once still alert the operators, once."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handlers.outbox import claims, watcher
from storage.bot_models import Delivery, Notification
from storage.clock import now
from tests.support.notifications import link_deciders, new_pending


@pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
def test_recovery_leaves_a_delivery_being_marked_alone(engine, ctx, world):
    link_deciders(engine, world)
    new_pending(engine, world)
    watcher.scan_new_pending(ctx)
    living, dead = claims.claim_due(ctx, "living", limit=50)[:2]
    assert claims.start_sending(ctx, living.delivery_id, "living")
    with Session(engine) as session, session.begin():  # a notifier that died mid-send
        session.execute(
            update(Delivery)
            .where(Delivery.id == dead.delivery_id)
            .values(state="sending", claimed_until=now() - dt.timedelta(seconds=1))
        )
    # The living replica, between its row lock and its update, while the other one starts.
    with ThreadPoolExecutor(1) as other_replica, Session(engine) as marking, marking.begin():
        row = marking.scalars(
            select(Delivery).where(Delivery.id == living.delivery_id).with_for_update()
        ).one()
        starting = other_replica.submit(claims.recover_interrupted, ctx)
        assert starting.result(timeout=5) == 1  # did not wait for the row lock
        row.state = "sent"  # and the living replica's update goes through
    with ctx.sessions() as session:
        states = {
            d.id: d.state
            for d in session.scalars(
                select(Delivery).where(Delivery.id.in_([living.delivery_id, dead.delivery_id]))
            )
        }
    assert states == {living.delivery_id: "sent", dead.delivery_id: "resend"}  # at least once


@pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
def test_recipients_marked_unreachable_at_once_still_alert_the_operators_once(engine, ctx, world):
    """Three replicas (or three chats in parallel) find their recipient gone at the same moment:
    each marking sees the others still reachable, yet the operators are told, once."""
    link_deciders(engine, world)
    for index in range(4):
        new_pending(engine, world, f"Personne{index}", "Test")
    watcher.scan_new_pending(ctx)
    tasks = claims.claim_due(ctx, "r", limit=100)
    by_request: dict[int, list[int]] = {}
    with ctx.sessions() as session:
        for task in tasks:
            notification = session.get(Delivery, task.delivery_id).notification_id
            by_request.setdefault(notification, []).append(task.delivery_id)
    assert len(by_request) == 4 + 3 and {len(v) for v in by_request.values()} == {3}
    with ThreadPoolExecutor(3) as replicas:
        for deliveries in by_request.values():
            gate = Barrier(3)

            def mark(delivery_id: int, gate=gate) -> bool:
                gate.wait()
                return claims.mark_unreachable(ctx, delivery_id, "r", "403 blocked")

            assert all(replicas.map(mark, deliveries))
    with ctx.sessions() as session:
        alerts = session.scalars(
            select(Notification.dedup_key).where(Notification.kind == "unreachable")
        ).all()
    assert sorted(alerts) == sorted(str(n) for n in by_request)
