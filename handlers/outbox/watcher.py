"""The watcher of pending members: every pending membership (status 0), whoever wrote it,
becomes one `bot_notification` row (unique per membership, so never twice, across restarts and
replicas) with one `bot_delivery` per recipient: the community's creator and moderators who
linked a chat, and the chats bound to the community.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.core.context import Context
from handlers.core.uow import transaction
from handlers.outbox import homes
from handlers.outbox.watch_state import ensure_state, lock_state, set_state
from storage.bot_models import (
    ChatBinding,
    ChatIdentity,
    Delivery,
    Notification,
    Preference,
)
from storage.clock import now
from storage.codes import MembershipStatus, UserStatus
from storage.models import Community, CommunityUser, User
from storage.roles import territory_admins

PENDING_MEMBER = "pending_member"
WATERMARK = "pending_member_watermark"
#: How far below the highest id seen the watcher looks again: a transaction that took a
#: smaller id but committed later is still found.
LOOKBACK_IDS = 1000


@dataclass(frozen=True)
class Recipient:
    platform: str
    chat_id: str
    team_id: str = ""
    identity_id: int | None = None
    binding_id: int | None = None
    user_id: int | None = None


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
        arrived: set[int] = set()
        for membership_id, community_id, user_id in session.execute(
            query.order_by(CommunityUser.id)
        ).all():
            if _create_notification(session, membership_id, community_id, user_id):
                created += 1
                arrived.add(community_id)
        for community_id in sorted(arrived):  # their deciders' Homes show the new requests
            homes.mark(session, deciders(session, community_id))
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


def deciders(session: Session, community_id: int) -> set[int]:
    """Who decides on the community's requests: the creator and moderators, as the platform
    notifies them, and the admins of a territory that holds the community (the bot's addition:
    their scope's requests reach them); active platform accounts only (a disabled or anonymized
    one decides nothing, and is not told either)."""
    community = session.get(Community, community_id)
    if community is None:
        return set()
    found = set(
        session.scalars(
            select(CommunityUser.user_id).where(
                CommunityUser.community_id == community_id,
                CommunityUser.status == MembershipStatus.MODERATOR,
            )
        )
    )
    if community.user_id:
        found.add(community.user_id)
    found |= territory_admins(session, community_id)  # admins of a territory holding it
    return set(
        session.scalars(select(User.id).where(User.id.in_(found), User.status == UserStatus.ACTIVE))
    )


def recipients(session: Session, community_id: int) -> list[Recipient]:
    """The deciders' linked chats (push on) and the chats bound to the community."""
    if session.get(Community, community_id) is None:
        return []
    deciding = deciders(session, community_id)
    muted = set(
        session.scalars(
            select(Preference.user_id).where(
                Preference.user_id.in_(deciding), Preference.push_enabled.is_(False)
            )
        )
    )
    found: list[Recipient] = []
    for identity in session.scalars(
        select(ChatIdentity)
        .where(ChatIdentity.user_id.in_(deciding - muted), ChatIdentity.active.is_(True))
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
