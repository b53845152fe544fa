"""Outcomes: when a request is decided, anywhere (in any chat or on the web admin), each
delivered message of its notification is queued for an edit showing the outcome, and the
deliveries not sent yet are cancelled.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from handlers.core.context import Context
from handlers.core.uow import transaction
from handlers.outbox import homes
from handlers.outbox.watcher import PENDING_MEMBER, deciders
from storage.bot_models import Delivery, Notification
from storage.clock import now
from storage.codes import MembershipStatus
from storage.models import CommunityUser

#: Notifications resolved per statement (bounded IN lists on every database).
CHUNK = 500


def scan_outcomes(ctx: Context) -> int:
    """Resolve notifications whose request was decided (in any chat or on the web admin):
    sent messages are queued for an edit, unsent ones cancelled.

    What was decided, and whose Homes show it, is read first, outside the write transaction:
    on SQLite every decision waits for that transaction, so it holds only the writes (a few
    set-based statements per CHUNK), and a round that finds nothing takes no write lock."""
    with transaction(ctx) as session:
        decided = session.execute(
            select(Notification.id, Notification.community_id)
            .outerjoin(CommunityUser, CommunityUser.id == Notification.membership_id)
            .where(
                Notification.kind == PENDING_MEMBER,
                Notification.resolved_at.is_(None),
                or_(CommunityUser.id.is_(None), CommunityUser.status != MembershipStatus.PENDING),
            )
        ).all()
        if not decided:
            return 0
        # The Homes of the deciders show the requests no more (decided anywhere: any front, web).
        communities = sorted({c for _, c in decided if c is not None})
        people: set[int] = set()
        if homes.any_home(session):
            people = people.union(*(deciders(session, c) for c in communities))
    resolved = 0
    ids = [notification_id for notification_id, _ in decided]
    with transaction(ctx, write=True) as session:
        when = now()
        for start in range(0, len(ids), CHUNK):
            resolved += _resolve(session, ids[start : start + CHUNK], when)
        if resolved:
            homes.mark(session, people)
    return resolved


def _resolve(session: Session, notification_ids: Sequence[int], when: dt.datetime) -> int:
    query = select(Notification.id, Notification.membership_id).where(
        Notification.id.in_(notification_ids), Notification.resolved_at.is_(None)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)  # another replica resolves those
    rows = session.execute(query).all()
    if not rows:
        return 0
    memberships = {
        m.id: m
        for m in session.execute(
            select(
                CommunityUser.id,
                CommunityUser.status,
                CommunityUser.admin_id,
                CommunityUser.refused_date,
                CommunityUser.accepted_date,
                CommunityUser.updated_date,
            ).where(CommunityUser.id.in_({r.membership_id for r in rows}))
        )
    }
    outcomes = []
    for notification_id, membership_id in rows:
        membership = memberships.get(membership_id)
        outcome: dict[str, object] = {"status": membership.status if membership else None}
        if membership is not None:
            decided_at = membership.refused_date or membership.accepted_date
            outcome["admin_id"] = membership.admin_id
            outcome["when"] = (decided_at or membership.updated_date or when).isoformat()
        outcomes.append(
            {"id": notification_id, "resolved_at": when, "outcome": json.dumps(outcome)}
        )
    session.execute(update(Notification), outcomes)
    ids = [r.id for r in rows]
    session.execute(
        update(Delivery)
        .where(Delivery.notification_id.in_(ids), Delivery.state.in_(("pending", "resend")))
        .values(state="cancelled", updated_at=when)
    )
    session.execute(
        update(Delivery)
        .where(
            Delivery.notification_id.in_(ids),
            Delivery.state == "sent",
            Delivery.message_ref.is_not(None),
        )
        .values(state="edit", attempts=0, next_attempt_at=when, updated_at=when)
    )
    return len(rows)
