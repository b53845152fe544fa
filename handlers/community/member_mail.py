"""Telling a member of a decision taken through the bot, by e-mail.

The platform e-mails a member when their request is accepted or refused, but a decision the bot
writes goes straight to the database and bypasses those e-mails. So each use case that decides
calls `queue_member_email` inside its own transaction: the e-mail is an outbox row (bot_email)
committed with the decision or not at all, and bot/email_sender.py sends it later, once. In
the same transaction go the `notified` rows the platform writes for the e-mails it sends
(storage.notified), dated as the platform dates them: when the decision is taken.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.core.context import Context
from handlers.core.i18n import normalize_language, t
from handlers.core.markup import plain
from handlers.core.platform_urls import community_page
from storage.bot_models import EmailMessage
from storage.clock import now
from storage.codes import MembershipStatus, UserStatus
from storage.models import Community, CommunityUser, Language, User
from storage.notified import record_email_sent

Kind = Literal["accepted", "refused", "added"]
#: Accounts the platform never notifies (Communication/Service/NotificationManager::notifies:
#: anonymised, and pseudonymised: PseudonymizationManager::isUserPseudonymized).
NOT_NOTIFIED = (UserStatus.ANONYMIZED, UserStatus.PSEUDONYMIZED)
#: A refusal reason starting with this is shared with the member (the rest stays in the audit).
SHARE_MARKER = "!"


def split_shared_reason(text: str | None) -> tuple[str | None, bool]:
    """'! Réservé aux salariés' -> ('Réservé aux salariés', True): the referent chose to share."""
    reason = (text or "").strip()
    shared = reason.startswith(SHARE_MARKER)
    if shared:
        reason = reason[len(SHARE_MARKER) :].strip()
    return reason or None, shared and bool(reason)


def one_line(text: str) -> str:
    """A header value: line breaks and other control characters (a community's name may hold
    them, as typed) become single spaces, so no header can be smuggled into the e-mail."""
    return " ".join(CONTROL.sub(" ", text).split())


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def member_language(session: Session, user: User, default: str) -> str:
    """The member's language on the platform (user.language_id), else the bot's default."""
    if user.language_id:
        language = session.get(Language, user.language_id)
        if language is not None and language.code:
            return normalize_language(language.code)
    return normalize_language(default)


def queue_member_email(
    ctx: Context,
    session: Session,
    membership: CommunityUser,
    kind: Kind,
    reason: str | None = None,
) -> EmailMessage | None:
    """Queue the e-mail telling the member of `kind`, in the caller's transaction.

    Nothing is queued when e-mail is off ([email] absent) or the account is anonymised or
    pseudonymised (its address is a placeholder). The dedup key names the decision (membership,
    status, time), so the same decision never queues two e-mails, even if a use case is retried.
    """
    if not ctx.settings.email_enabled:
        return None
    user = session.get(User, membership.user_id)
    community = session.get(Community, membership.community_id)
    if user is None or community is None or not user.email or user.status in NOT_NOTIFIED:
        return None
    stamp = (membership.updated_date or membership.created_date or now()).strftime("%Y%m%d%H%M%S")
    key = f"member:{membership.id}:{kind}:{membership.status}:{stamp}"
    if session.scalar(select(EmailMessage.id).where(EmailMessage.dedup_key == key)) is not None:
        return None
    lang = member_language(session, user, ctx.settings.default_language)
    params = {
        "name": (user.given_name or "").strip(),
        "community": community.name,
        "role": t(lang, "email.role.moderator" if membership.status == MembershipStatus.MODERATOR
                  else "email.role.member"),
        "reason": t(lang, "email.reason", reason=reason) if reason else "",
        "link": community_page(ctx.settings.platform_url, community.id, community.name),
    }  # fmt: skip
    greeting = t(lang, "email.hello", **params) if params["name"] else t(lang, "email.hello_anon")
    text = t(lang, f"email.{kind}.body", **params)
    # Plain text: the markup removed, data exactly as typed (t() escaped it for the chat fronts).
    parts = [plain(greeting), plain(text), plain(t(lang, "email.signature"))]
    body = re.sub(r"\n{3,}", "\n\n", "\n\n".join(parts))
    message = EmailMessage(
        dedup_key=key,
        kind=kind,
        community_id=community.id,
        membership_id=membership.id,
        user_id=user.id,
        to_address=user.email.strip(),
        language=lang,
        subject=one_line(plain(t(lang, f"email.{kind}.subject", **params)))[:255],
        body=body,
        state="pending",
        attempts=0,
        next_attempt_at=None,
        created_at=now(),
    )
    session.add(message)
    if kind != "added":  # the platform's admin adds a member without any notification
        record_email_sent(session, membership.status, user.id, community.id, message.created_at)
    return message
