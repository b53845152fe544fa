"""The push outbox (bot_delivery): leasing due deliveries, and the leases a notifier left behind.

A delivery is leased (claimed_by, claimed_until) inside the caller's writing transaction: on
PostgreSQL and MariaDB the due rows are read with SELECT ... FOR UPDATE SKIP LOCKED, so several
replicas claim side by side; on SQLite the writing transaction (BEGIN IMMEDIATE) serialises
them. The lease is what protects a delivery on any database: every later write reads the row
back locked, and only while `worker` still holds it. Which state comes next is the handlers'
rule (handlers/outbox/claims.py); this module only holds the statements.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.bot_models import Delivery
from storage.clock import now
from storage.engine import rowcount

#: States due to be sent or edited ("resend": the first send's outcome is unknown).
OPEN_STATES = ("pending", "resend", "edit")
#: In flight: a first send, or a repeat of one whose outcome was unknown.
IN_FLIGHT = {"pending": "sending", "resend": "resending"}
#: Back to due after a failure known to have sent nothing (429, 5xx, connect errors).
NOT_SENT = {in_flight: due for due, in_flight in IN_FLIGHT.items()}


def requeue_interrupted(session: Session, when: dt.datetime, max_attempts: int) -> int:
    """Deliveries in flight whose lease expired go to `resend` (`unknown` after `max_attempts`
    such rounds); returns how many."""
    # Found by a plain read, then updated by id: an UPDATE scanning the state index would
    # lock the rows another replica is marking sent at that moment, and MariaDB would break
    # the deadlock by failing that replica's mark_sent.
    expired = (Delivery.state.in_(tuple(NOT_SENT)), Delivery.claimed_until < when)
    stale = session.scalars(select(Delivery.id).where(*expired)).all()
    if not stale:
        return 0
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(stale), *expired)
        .values(
            state="resend",
            attempts=Delivery.attempts + 1,
            next_attempt_at=when,
            claimed_by=None,
            claimed_until=None,
            last_error="interrupted while sending; outcome unknown, sent again",
            updated_at=when,
        )
    )
    # One that stayed unknown that many times is not sent once more.
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(stale),
            Delivery.state == "resend",
            Delivery.attempts >= max_attempts,
        )
        .values(state="unknown")
    )
    return rowcount(result)


def due(session: Session, when: dt.datetime, limit: int) -> list[Delivery]:
    """Up to `limit` deliveries due at `when` and not leased, locked (skipping the rows another
    replica holds) where the database can."""
    query = (
        select(Delivery)
        .where(
            Delivery.state.in_(OPEN_STATES),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= when),
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < when),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def lease(delivery: Delivery, worker: str, when: dt.datetime, length: dt.timedelta) -> None:
    delivery.claimed_by = worker
    delivery.claimed_until = when + length
    delivery.updated_at = when


def held(session: Session, delivery_id: int, worker: str) -> Delivery | None:
    """The delivery, locked, if `worker` still holds its lease."""
    return session.scalars(
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claimed_by == worker)
        .with_for_update()
    ).first()


def release(delivery: Delivery) -> None:
    delivery.claimed_by = None
    delivery.claimed_until = None
    delivery.updated_at = now()


def release_claims(session: Session, worker: str) -> int:
    """Hand back the due deliveries `worker` leased (not those in flight); returns how many."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.claimed_by == worker, Delivery.state.in_(OPEN_STATES))
        .values(claimed_by=None, claimed_until=None, updated_at=now())
    )
    return rowcount(result)
