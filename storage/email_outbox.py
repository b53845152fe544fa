"""The e-mail outbox (bot_email): claiming due messages and recording what became of them.

A row is claimed with a lease (claimed_by, claimed_until) in a short transaction of its own,
so several senders (replicas) never take the same row: on PostgreSQL and MariaDB the claim reads
with SELECT ... FOR UPDATE SKIP LOCKED, on SQLite the writing transaction (BEGIN IMMEDIATE)
serialises the senders. Every later write is conditioned on still holding the lease.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Update, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.backoff import jittered
from storage.bot_models import EmailMessage
from storage.engine import rowcount

PENDING, SENT, FAILED = "pending", "sent", "failed"
#: Longest wait between two attempts.
MAX_BACKOFF = dt.timedelta(hours=6)


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from any session (it is sent outside any transaction)."""

    id: int
    dedup_key: str
    to_address: str
    subject: str
    body: str
    language: str
    attempts: int


def claim_due(
    sessions: sessionmaker[Session],
    worker: str,
    when: dt.datetime,
    lease: dt.timedelta,
    limit: int = 20,
) -> list[Outgoing]:
    """Take up to `limit` due messages for `worker` until `when + lease`."""
    with sessions() as session, session.begin():
        session.connection(execution_options={"sqlite_immediate": True})
        rows = list(
            session.scalars(
                select(EmailMessage)
                .where(
                    EmailMessage.state == PENDING,
                    or_(
                        EmailMessage.next_attempt_at.is_(None), EmailMessage.next_attempt_at <= when
                    ),
                    or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < when),
                )
                .order_by(EmailMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.claimed_by = worker
            row.claimed_until = when + lease
        return [
            Outgoing(r.id, r.dedup_key, r.to_address, r.subject, r.body, r.language, r.attempts)
            for r in rows
        ]


def _held(message_id: int, worker: str) -> Update:
    return (
        update(EmailMessage)
        .where(
            EmailMessage.id == message_id,
            EmailMessage.claimed_by == worker,
            EmailMessage.state == PENDING,
        )
        .execution_options(synchronize_session=False)
    )


def mark_sent(
    sessions: sessionmaker[Session], message_id: int, worker: str, when: dt.datetime
) -> bool:
    """Record a message as sent (and release it); False if the lease was lost meanwhile."""
    with sessions() as session, session.begin():
        result = session.execute(
            _held(message_id, worker).values(
                state=SENT,
                sent_at=when,
                attempts=EmailMessage.attempts + 1,
                claimed_by=None,
                claimed_until=None,
                last_error=None,
            )
        )
        return rowcount(result) == 1


def mark_failed(
    sessions: sessionmaker[Session],
    message: Outgoing,
    worker: str,
    when: dt.datetime,
    error: str,
    first_delay: dt.timedelta,
    permanent: bool = False,
    max_attempts: int = 30,
) -> dt.datetime | None:
    """Count a failed attempt and schedule the next one with exponential backoff (jittered:
    between half the delay and the delay, storage.backoff).

    A permanent failure (the server refused the address for good), or too many attempts,
    ends in state 'failed', which no sender picks up again. Returns the next attempt's time.
    """
    attempts = message.attempts + 1
    give_up = permanent or attempts >= max_attempts
    delay = min(first_delay * (2 ** (attempts - 1)), MAX_BACKOFF)
    next_at = None if give_up else when + dt.timedelta(seconds=jittered(delay.total_seconds()))
    with sessions() as session, session.begin():
        session.execute(
            _held(message.id, worker).values(
                state=FAILED if give_up else PENDING,
                attempts=attempts,
                next_attempt_at=next_at,
                claimed_by=None,
                claimed_until=None,
                last_error=error[:1000],
            )
        )
    return next_at


def pending_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(
            session.scalars(select(EmailMessage.id).where(EmailMessage.state == PENDING)).all()
        )
