"""A replica starting up recovers the deliveries a dead notifier left in `sending`, without
waiting on (or deadlocking with) the delivery another, living replica is marking sent."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handlers import notifications
from storage.bot_models import Delivery
from storage.clock import now
from tests.notifications.support import link_deciders, new_pending


@pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
def test_recovery_leaves_a_delivery_being_marked_alone(engine, ctx, world):
    link_deciders(engine, world)
    new_pending(engine, world)
    notifications.scan_new_pending(ctx)
    living, dead = notifications.claim_due(ctx, "living", limit=50)[:2]
    assert notifications.start_sending(ctx, living.delivery_id, "living")
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
        starting = other_replica.submit(notifications.recover_interrupted, ctx)
        assert starting.result(timeout=5) == 1  # did not wait for the row lock
        row.state = "sent"  # and the living replica's update goes through
    with ctx.sessions() as session:
        states = {
            d.id: d.state
            for d in session.scalars(
                select(Delivery).where(Delivery.id.in_([living.delivery_id, dead.delivery_id]))
            )
        }
    assert states == {living.delivery_id: "sent", dead.delivery_id: "unknown"}
