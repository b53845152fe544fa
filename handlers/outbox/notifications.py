"""Push notifications of pending members: the outbox, platform-neutral.

The watcher turns every pending membership (status 0), whoever wrote it, into one
`bot_notification` row (unique per membership, so never twice, across restarts and replicas)
with one `bot_delivery` per recipient: the community's creator and moderators who linked a chat,
and the chats bound to the community. Deliveries are claimed with a lease (and SKIP LOCKED where
the database has it), sent by the notifier in bot/, and marked; when the request is decided,
anywhere, each delivered message is queued for an edit showing the outcome.

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
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.community.pending import decision_buttons, describe, pending_line
from handlers.core.context import Context
from handlers.core.i18n import datetime, normalize_language, t
from handlers.core.present import short_name
from handlers.core.reply import Reply
from handlers.core.uow import transaction
from handlers.outbox import feed
from handlers.outbox.watch_state import ensure_state, lock_state, set_state
from storage import queries
from storage.bot_models import (
    ChatBinding,
    ChatIdentity,
    Delivery,
    Notification,
    Preference,
)
from storage.clock import now
from storage.codes import MembershipStatus, UserStatus
from storage.models import Community, CommunityUser, Language, User
from storage.roles import territory_admins

PENDING_MEMBER = "pending_member"
WATERMARK = "pending_member_watermark"
#: How far below the highest id seen the watcher looks again: a transaction that took a
#: smaller id but committed later is still found.
LOOKBACK_IDS = 1000
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(seconds=60)
#: Notifications resolved per statement (bounded IN lists on every database).
CHUNK = 500

#: States due to be sent or edited ("resend": the first send's outcome is unknown).
OPEN_STATES = ("pending", "resend", "edit")
#: In flight: a first send, or a repeat of one whose outcome was unknown.
IN_FLIGHT = {"pending": "sending", "resend": "resending"}
#: Back to due after a failure known to have sent nothing (429, 5xx, connect errors).
NOT_SENT = {in_flight: due for due, in_flight in IN_FLIGHT.items()}


@dataclass(frozen=True)
class Recipient:
    platform: str
    chat_id: str
    team_id: str = ""
    identity_id: int | None = None
    binding_id: int | None = None
    user_id: int | None = None


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


# --- The watcher -----------------------------------------------------------------------------


def scan_new_pending(ctx: Context, lookback: int | None = LOOKBACK_IDS) -> int:
    """Create the notification and deliveries of every pending membership not yet notified.

    Scans ids above (highest id seen - lookback), so that a row whose transaction took a
    smaller id but committed later is still found; `lookback=None` sweeps every pending row.
    The unique (kind, dedup_key) makes a second replica's insert fail harmlessly.
    """
    created = 0
    ensure_state(ctx, WATERMARK, "0")
    with transaction(ctx, write=True) as session:
        state = lock_state(session, WATERMARK)  # one watcher at a time across replicas
        watermark = int(state.value) if state.value else 0
        notified = (
            select(Notification.id)
            .where(
                Notification.kind == PENDING_MEMBER,
                Notification.membership_id == CommunityUser.id,
            )
            .exists()
        )
        query = select(CommunityUser.id, CommunityUser.community_id, CommunityUser.user_id).where(
            CommunityUser.status == MembershipStatus.PENDING, ~notified
        )
        if lookback is not None:
            query = query.where(CommunityUser.id > watermark - lookback)
        for membership_id, community_id, user_id in session.execute(
            query.order_by(CommunityUser.id)
        ).all():
            if _create_notification(session, membership_id, community_id, user_id):
                created += 1
        highest = max(watermark, session.scalar(select(func.max(CommunityUser.id))) or 0)
        if highest > watermark:
            set_state(state, str(highest))
    return created


def _create_notification(
    session: Session, membership_id: int, community_id: int, user_id: int
) -> bool:
    try:
        with session.begin_nested():
            notification = Notification(
                kind=PENDING_MEMBER,
                dedup_key=str(membership_id),
                community_id=community_id,
                membership_id=membership_id,
                payload=json.dumps({"user_id": user_id}),
                created_at=now(),
            )
            session.add(notification)
            session.flush()
            when = now()
            for recipient in recipients(session, community_id):
                session.add(
                    Delivery.pending(
                        notification.id,
                        recipient.platform,
                        recipient.team_id,
                        recipient.chat_id,
                        when,
                        due=_after_quiet_hours(session, recipient.user_id, when),
                        identity_id=recipient.identity_id,
                        binding_id=recipient.binding_id,
                    )
                )
            session.flush()
    except IntegrityError:
        return False  # another replica notified it first
    return True


def recipients(session: Session, community_id: int) -> list[Recipient]:
    """The deciders' linked chats (push on) and the chats bound to the community. Deciders: the
    creator and moderators, as the platform notifies them, and the admins of a territory that
    holds the community (the bot's addition: their scope's requests reach them)."""
    community = session.get(Community, community_id)
    if community is None:
        return []
    deciders = set(
        session.scalars(
            select(CommunityUser.user_id).where(
                CommunityUser.community_id == community_id,
                CommunityUser.status == MembershipStatus.MODERATOR,
            )
        )
    )
    if community.user_id:
        deciders.add(community.user_id)
    deciders |= territory_admins(session, community_id)  # admins of a territory holding it
    # A disabled or anonymized platform account decides nothing: it is not told either.
    deciders = set(
        session.scalars(
            select(User.id).where(User.id.in_(deciders), User.status == UserStatus.ACTIVE)
        )
    )
    muted = set(
        session.scalars(
            select(Preference.user_id).where(
                Preference.user_id.in_(deciders), Preference.push_enabled.is_(False)
            )
        )
    )
    found: list[Recipient] = []
    for identity in session.scalars(
        select(ChatIdentity)
        .where(ChatIdentity.user_id.in_(deciders - muted), ChatIdentity.active.is_(True))
        .order_by(ChatIdentity.id)
    ):
        found.append(
            Recipient(
                identity.platform,
                identity.external_id,
                identity.team_id,
                identity_id=identity.id,
                user_id=identity.user_id,
            )
        )
    for binding in session.scalars(
        select(ChatBinding)
        .where(ChatBinding.community_id == community_id, ChatBinding.active.is_(True))
        .order_by(ChatBinding.id)
    ):
        found.append(
            Recipient(binding.platform, binding.chat_id, binding.team_id, binding_id=binding.id)
        )
    return found


def _after_quiet_hours(session: Session, user_id: int | None, when: dt.datetime) -> dt.datetime:
    """When a delivery may go: now, or the end of the person's quiet hours (held back)."""
    if user_id is None:
        return when
    preference = session.get(Preference, user_id)
    if not preference or preference.quiet_start is None or preference.quiet_end is None:
        return when
    start, end, clock = preference.quiet_start, preference.quiet_end, when.time()
    quiet = start <= clock < end if start < end else (clock >= start or clock < end)
    if not quiet:
        return when
    release = dt.datetime.combine(when.date(), end)
    return release if release > when else release + dt.timedelta(days=1)


# --- Outcomes --------------------------------------------------------------------------------


def scan_outcomes(ctx: Context) -> int:
    """Resolve notifications whose request was decided (in any chat or on the web admin):
    sent messages are queued for an edit, unsent ones cancelled.

    Set-based, a few statements per CHUNK of decisions: the round runs in the write
    transaction every decision waits for (SQLite), so its length is every decider's latency."""
    resolved = 0
    with transaction(ctx, write=True) as session:
        decided = session.scalars(
            select(Notification.id)
            .outerjoin(CommunityUser, CommunityUser.id == Notification.membership_id)
            .where(
                Notification.kind == PENDING_MEMBER,
                Notification.resolved_at.is_(None),
                or_(CommunityUser.id.is_(None), CommunityUser.status != MembershipStatus.PENDING),
            )
        ).all()
        when = now()
        for start in range(0, len(decided), CHUNK):
            resolved += _resolve(session, decided[start : start + CHUNK], when)
    return resolved


def _resolve(session: Session, notification_ids: list[int], when: dt.datetime) -> int:
    query = select(Notification.id, Notification.membership_id).where(
        Notification.id.in_(notification_ids), Notification.resolved_at.is_(None)
    )
    if session.bind.dialect.name != "sqlite":
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


# --- Claiming and marking --------------------------------------------------------------------


def recover_interrupted(ctx: Context) -> int:
    """Deliveries left in flight by a notifier that died: the message may have arrived or not,
    so it is sent again (at least once), marked as a possible repeat; `scan_outcomes` cancels
    it instead if the request is decided meanwhile."""
    with transaction(ctx, write=True) as session:
        # Found by a plain read, then updated by id: an UPDATE scanning the state index would
        # lock the rows another replica is marking sent at that moment, and MariaDB would break
        # the deadlock by failing that replica's mark_sent.
        when = now()
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
                Delivery.attempts >= MAX_ATTEMPTS,
            )
            .values(state="unknown")
        )
        return result.rowcount


def claim_due(ctx: Context, worker: str, limit: int = 50) -> list[DeliveryTask]:
    """Lease up to `limit` due deliveries to `worker` and render them for their recipients.

    SKIP LOCKED lets several replicas claim side by side on PostgreSQL and MariaDB; the lease
    (claimed_until) is what protects them on any database.
    """
    when = now()
    tasks: list[DeliveryTask] = []
    with transaction(ctx, write=True) as session:
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
        if session.bind.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        deliveries = list(session.scalars(query))
        for delivery in deliveries:
            reply = _render(session, delivery)
            if reply is None:
                delivery.state = "cancelled"
                delivery.updated_at = when
                continue
            is_edit = delivery.state == "edit"
            delivery.claimed_by = worker
            delivery.claimed_until = when + LEASE
            delivery.updated_at = when
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
        delivery = _claimed(session, delivery_id, worker)
        if delivery is None or delivery.state not in IN_FLIGHT:
            return False
        delivery.state = IN_FLIGHT[delivery.state]
        delivery.updated_at = now()
        return True


def mark_sent(ctx: Context, delivery_id: int, worker: str, message_ref: str | None) -> bool:
    with transaction(ctx, write=True) as session:
        delivery = _claimed(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.state = "edited" if delivery.state == "edit" else "sent"
        if message_ref:
            delivery.message_ref = message_ref
        delivery.attempts += 1
        _release(delivery)
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
    """A temporary failure (429, 5xx, timeout): try again later, honouring retry_after."""
    with transaction(ctx, write=True) as session:
        delivery = _claimed(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.attempts += 1
        delivery.last_error = error[:500]
        delivery.state = NOT_SENT.get(delivery.state, delivery.state)
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = "failed"
        backoff = min(2**delivery.attempts, 600)
        delivery.next_attempt_at = now() + dt.timedelta(seconds=max(backoff, retry_after or 0))
        _release(delivery)
        return True


def mark_unknown(ctx: Context, delivery_id: int, worker: str, error: str | None) -> bool:
    """The send failed after the API may have carried it out: it may have arrived or not, so
    it is sent again after a backoff (at least once), marked as a possible repeat, unless the
    request is decided meanwhile; after MAX_ATTEMPTS it is left `unknown`."""
    with transaction(ctx, write=True) as session:
        delivery = _claimed(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.attempts += 1
        delivery.last_error = f"may have been delivered; sent again: {error or ''}"[:500]
        delivery.state = "resend" if delivery.attempts < MAX_ATTEMPTS else "unknown"
        delivery.next_attempt_at = now() + dt.timedelta(seconds=min(2**delivery.attempts, 600))
        _release(delivery)
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
        delivery = _claimed(session, delivery_id, worker)
        if delivery is None:
            return False
        delivery.state = "inactive"
        delivery.last_error = error[:500]
        _release(delivery)
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


def _claimed(session: Session, delivery_id: int, worker: str) -> Delivery | None:
    return session.scalars(
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claimed_by == worker)
        .with_for_update()
    ).first()


def _release(delivery: Delivery) -> None:
    delivery.claimed_by = None
    delivery.claimed_until = None
    delivery.updated_at = now()


# --- Rendering -------------------------------------------------------------------------------


def _render(session: Session, delivery: Delivery) -> Reply | None:
    """The message for this delivery, in its recipient's language; None if it is moot."""
    notification = session.get(Notification, delivery.notification_id)
    if notification is None:
        return None
    language = _language(session, delivery)
    reply = _render_for(session, language, delivery, notification)
    if reply is not None and delivery.state == "resend":  # the first copy may have arrived
        reply = replace(reply, text=reply.text + "\n" + t(language, "notify.maybe_repeat"))
    return reply


def _render_for(
    session: Session, language: str, delivery: Delivery, notification: Notification
) -> Reply | None:
    if notification.kind != PENDING_MEMBER:
        return feed.render(language, notification)
    membership = session.get(CommunityUser, notification.membership_id)
    community = session.get(Community, notification.community_id)
    if community is None:
        return None
    if delivery.state == "edit":
        return outcome_reply(session, language, notification, community)
    if membership is None or membership.status != MembershipStatus.PENDING:
        return None
    user = session.get(User, membership.user_id)
    request = describe(membership, user, community)
    text = (
        t(language, "notify.pending", community=community.name)
        + "\n"
        + pending_line(language, request)
    )
    return Reply(text, (decision_buttons(language, request),))


def outcome_reply(
    session: Session, language: str, notification: Notification, community: Community
) -> Reply:
    outcome = json.loads(notification.outcome or "{}")
    payload = json.loads(notification.payload or "{}")
    people = queries.users_by_ids(session, [payload.get("user_id"), outcome.get("admin_id")])
    name = short_name(people.get(payload.get("user_id")))
    status = outcome.get("status")
    when = dt.datetime.fromisoformat(outcome["when"]) if outcome.get("when") else None
    by = people.get(outcome.get("admin_id"))
    if status is None:
        return Reply(t(language, "notify.gone", name=name, community=community.name))
    accepted = status in (MembershipStatus.MEMBER, MembershipStatus.MODERATOR)
    key = "pending.approved" if accepted else "pending.refused"
    if by is None:
        key = "notify.accepted_elsewhere" if accepted else "notify.refused_elsewhere"
    return Reply(
        t(
            language,
            key,
            name=name,
            community=community.name,
            by=short_name(by) if by else "",
            when=datetime(when, language),
        )
    )


def _language(session: Session, delivery: Delivery) -> str:
    if delivery.identity_id is None:
        return "fr"
    identity = session.get(ChatIdentity, delivery.identity_id)
    if identity is None:
        return "fr"
    preferred = session.scalar(
        select(Preference.language).where(Preference.user_id == identity.user_id)
    )
    if not preferred:
        preferred = session.scalar(
            select(Language.code)
            .join(User, User.language_id == Language.id)
            .where(User.id == identity.user_id)
        )
    return normalize_language(preferred)


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
        result = session.execute(
            update(Delivery)
            .where(Delivery.claimed_by == worker, Delivery.state.in_(OPEN_STATES))
            .values(claimed_by=None, claimed_until=None, updated_at=now())
        )
        return result.rowcount
