"""Claiming and marking the push deliveries that the notifier in bot/ sends.

Deliveries are claimed with a lease (storage/notification_outbox.py: SKIP LOCKED where the
database has it), sent by the notifier, and marked.
Delivery states: pending -> sending -> sent -> edit -> edited; pending -> cancelled (decided
before it was sent); -> inactive (the recipient cannot be reached); -> failed (gave up).
At least once: a delivery found in `sending` after its lease expired was interrupted mid-call,
and one whose send timed out after the API had the request may have arrived or not; both go
to `resend` (-> `resending` while in flight), are sent again with a note saying they may be a
repeat, and are cancelled like any pending one if the request is decided meanwhile. A lost push
is worse than a repeated one: the deciders would learn of the request days later, from the
reminder. Only a delivery whose outcome stayed unknown MAX_ATTEMPTS times ends as `unknown`.
A send known to be delivered (`sent`) is never repeated.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from handlers.core.context import Context
from handlers.core.reply import Reply
from handlers.core.uow import transaction
from handlers.outbox.pushes import render
from handlers.outbox.watcher import PENDING_MEMBER
from storage import notification_outbox as outbox
from storage.backoff import jittered
from storage.bot_models import ChatBinding, ChatIdentity, Delivery, Notification
from storage.clock import now

MAX_ATTEMPTS = 8
LEASE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class DeliveryTask:
    """One message to send or edit, rendered for its recipient."""

    delivery_id: int
    platform: str
    team_id: str
    chat_id: str
    message_ref: str | None
    reply: Reply
    is_edit: bool


def recover_interrupted(ctx: Context) -> int:
    """Deliveries left in flight by a notifier that died: the message may have arrived or not,
    so it is sent again (at least once), marked as a possible repeat; `scan_outcomes` cancels
    it instead if the request is decided meanwhile."""
    with transaction(ctx, write=True) as session:
        return outbox.requeue_interrupted(session, now(), MAX_ATTEMPTS)


def claim_due(ctx: Context, worker: str, limit: int = 50) -> list[DeliveryTask]:
    """Lease up to `limit` due deliveries to `worker` and render them for their recipients.

    SKIP LOCKED lets several replicas claim side by side on PostgreSQL and MariaDB; the lease
    (claimed_until) is what protects them on any database.
    """
    when = now()
    tasks: list[DeliveryTask] = []
    with transaction(ctx, write=True) as session:
        deliveries = outbox.due(session, when, limit)
        for delivery in deliveries:
            reply = render(session, delivery)
            if reply is None:
                delivery.state = "cancelled"
                delivery.updated_at = when
                continue
            is_edit = delivery.state == "edit"
            outbox.lease(delivery, worker, when, LEASE)
            tasks.append(
                DeliveryTask(
                    delivery.id,
                    delivery.platform,
                    delivery.team_id,
                    delivery.chat_id,
                    delivery.message_ref,
                    reply,
                    is_edit,
                )
            )
    return tasks


def start_sending(ctx: Context, delivery_id: int, worker: str) -> bool:
    """Record, just before the API call, that this message is on its way.

    Only the message in flight is in `sending` (`resending`): if the notifier dies now, the
    rest of its batch is still due and goes out after the lease, and this one, which may have
    arrived or not, is sent again marked as a possible repeat (`recover_interrupted`). Edits
    need no such care: doing one again is harmless.
    """
    with transaction(ctx, write=True) as session:
        delivery = outbox.held(session, delivery_id, worker)
        if delivery is None or delivery.state not in outbox.IN_FLIGHT:
            return False
        delivery.state = outbox.IN_FLIGHT[delivery.state]
        delivery.updated_at = now()
        return True


def mark_sent(ctx: Context, delivery_id: int, worker: str, message_ref: str | None) -> bool:
    with transaction(ctx, write=True) as session:
        delivery = outbox.held(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.state = "edited" if delivery.state == "edit" else "sent"
        if message_ref:
            delivery.message_ref = message_ref
        delivery.attempts += 1
        outbox.release(delivery)
        if delivery.state == "sent":
            # decided while we were sending: the fresh message must show the outcome too
            notification = session.get(Notification, delivery.notification_id)
            if (
                notification is not None
                and notification.kind == PENDING_MEMBER
                and notification.resolved_at is not None
            ):
                delivery.state = "edit"
                delivery.next_attempt_at = now()
        return True


def mark_retry(
    ctx: Context, delivery_id: int, worker: str, error: str, retry_after: float | None = None
) -> bool:
    """A temporary failure (429, 5xx, timeout): try again later, after 2^attempts seconds
    (at most 600) with jitter, never sooner than retry_after (Telegram's, Slack's)."""
    with transaction(ctx, write=True) as session:
        delivery = outbox.held(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.attempts += 1
        delivery.last_error = error[:500]
        delivery.state = outbox.NOT_SENT.get(delivery.state, delivery.state)
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = "failed"
        delay = jittered(min(2**delivery.attempts, 600), at_least=retry_after or 0)
        delivery.next_attempt_at = now() + dt.timedelta(seconds=delay)
        outbox.release(delivery)
        return True


def mark_unknown(ctx: Context, delivery_id: int, worker: str, error: str | None) -> bool:
    """The send failed after the API may have carried it out: it may have arrived or not, so
    it is sent again after a backoff (at least once), marked as a possible repeat, unless the
    request is decided meanwhile; after MAX_ATTEMPTS it is left `unknown`."""
    with transaction(ctx, write=True) as session:
        delivery = outbox.held(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.attempts += 1
        delivery.last_error = f"may have been delivered; sent again: {error or ''}"[:500]
        delivery.state = "resend" if delivery.attempts < MAX_ATTEMPTS else "unknown"
        delay = jittered(min(2**delivery.attempts, 600))
        delivery.next_attempt_at = now() + dt.timedelta(seconds=delay)
        outbox.release(delivery)
        return True


def mark_unreachable(ctx: Context, delivery_id: int, worker: str, error: str) -> bool:
    """403 or an unknown chat: this recipient is inactive, the others still receive it.
    When nobody at all can be reached for a request, the operators are told."""
    with transaction(ctx, write=True) as session:
        # The request's row first (the order scan_outcomes takes too): two recipients found
        # unreachable at once are decided one after the other, so the second one counts the
        # first as inactive and the operators are told (without it, each saw the other still
        # reachable and nobody told them).
        notification_id = session.scalar(
            select(Delivery.notification_id).where(Delivery.id == delivery_id)
        )
        if notification_id is None:
            return False
        session.scalars(
            select(Notification.id).where(Notification.id == notification_id).with_for_update()
        ).first()
        delivery = outbox.held(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.state = "inactive"
        delivery.last_error = error[:500]
        outbox.release(delivery)
        when = now()
        if delivery.identity_id is not None:
            identity = session.get(ChatIdentity, delivery.identity_id)
            if identity is not None:
                identity.active = False
                identity.deactivated_at = when
        if delivery.binding_id is not None:
            binding = session.get(ChatBinding, delivery.binding_id)
            if binding is not None:
                binding.active = False
        session.flush()
        # A locking read: it sees the latest committed states, also under MariaDB's
        # REPEATABLE READ, whose plain reads would stay on the transaction's first snapshot.
        states = session.scalars(
            select(Delivery.state)
            .where(Delivery.notification_id == delivery.notification_id)
            .with_for_update()
        ).all()
        reachable = [state for state in states if state not in ("inactive", "failed")]
        if not reachable:
            session.add(
                Notification(
                    kind="unreachable",
                    dedup_key=str(delivery.notification_id),
                    created_at=when,
                    payload=json.dumps({"notification_id": delivery.notification_id}),
                )
            )
        return True


def delivery_states(ctx: Context, notification_ids: Iterable[int] | None = None) -> list[tuple]:
    """(notification id, platform, chat id, state, message ref) rows: for tests and status."""
    with ctx.sessions() as session:
        query = select(
            Delivery.notification_id,
            Delivery.platform,
            Delivery.chat_id,
            Delivery.state,
            Delivery.message_ref,
        ).order_by(Delivery.id)
        if notification_ids is not None:
            query = query.where(and_(Delivery.notification_id.in_(list(notification_ids))))
        return [tuple(row) for row in session.execute(query)]


def count_by_state(ctx: Context) -> dict[str, int]:
    """Deliveries by state, for the metrics (the due index covers the state column)."""
    with ctx.sessions() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: count for state, count in rows}


def release_claims(ctx: Context, worker: str) -> int:
    """On shutdown: hand back the deliveries `worker` claimed but did not start, so another
    replica (or the next start) takes them at once instead of after the lease. A message in
    flight may have arrived or not: it is left to recover_interrupted (sent again, marked)."""
    with transaction(ctx, write=True) as session:
        return outbox.release_claims(session, worker)
