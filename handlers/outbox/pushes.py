"""The push messages: what a delivery says to its recipient, in their language (a pending
request with its decision buttons, or the outcome that replaces them).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.community.pending import decision_buttons, describe, pending_line
from handlers.core.i18n import datetime, normalize_language, t
from handlers.core.present import short_name
from handlers.core.reply import Reply
from handlers.outbox import feed
from handlers.outbox.watcher import PENDING_MEMBER
from storage import queries
from storage.bot_models import ChatIdentity, Delivery, Notification, Preference
from storage.codes import MembershipStatus
from storage.models import Community, CommunityUser, Language, User


def render(session: Session, delivery: Delivery) -> Reply | None:
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
    user = session.get_one(User, membership.user_id)  # the membership's user_id is a foreign key
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
