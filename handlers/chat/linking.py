"""One-time codes that link a chat identity to a platform user.

Only a hash of each code is stored; a code is single-use and expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, update

from handlers.core.actions import Command
from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import t
from handlers.core.present import short_name
from handlers.core.reply import Reply
from handlers.core.uow import transaction
from handlers.outbox import feed
from storage import queries
from storage.bot_models import ChatIdentity, LinkAttempt, LinkCode
from storage.clock import now
from storage.engine import rowcount
from storage.models import User

log = logging.getLogger(__name__)

#: Unambiguous characters: no 0/O, no 1/I/L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


@dataclass(frozen=True)
class IssuedCode:
    """The code itself, for the operator to hand over; each front says how it is redeemed
    (Telegram: bot.telegram.links.deep_link)."""

    code: str
    user_id: int
    expires_at: dt.datetime


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def issue_link_code(ctx: Context, email: str) -> IssuedCode:
    """A fresh code for the platform user with this e-mail (an operator's command)."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    created = now()
    expires = created + dt.timedelta(minutes=ctx.settings.link_code_minutes)
    with transaction(ctx, write=True) as session:
        user = queries.user_by_email(session, email)
        if user is None:
            raise Refusal("link.unknown_email", email=email)
        session.add(LinkCode(user_id=user.id, code_hash=hash_code(code), created_at=created,
                             expires_at=expires))  # fmt: skip
        user_id = user.id
    return IssuedCode(code, user_id, expires)


#: Failed attempts allowed per chat identity within the window; past it, that identity's
#: attempts are refused without looking the code up. SECURITY.md computes the odds.
ATTEMPTS_PER_IDENTITY = 5
#: Failed attempts, all identities together, past which linking is under attack: the operators
#: are alerted (once per window) and an identity that has failed once gets no further lookup.
#: A valid code from an identity that has not failed is always looked up and accepted, so no
#: number of attackers can lock a referent out.
ATTEMPTS_OVERALL = 100
ATTEMPTS_PER_IDENTITY_UNDER_ATTACK = 1
ATTEMPT_WINDOW = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class ChatAccount:
    """A chat identity as the fronts know it: Telegram user id; Slack team id + user id."""

    platform: str
    external_id: str
    team_id: str = ""
    display_name: str | None = None


def looks_like_code(text: str) -> bool:
    text = (text or "").strip().upper()
    return len(text) == CODE_LENGTH and all(c in ALPHABET for c in text)


def redeem_link_code(ctx: Context, account: ChatAccount, code: str, language: str) -> Reply:
    """Link `account` to the platform user the code was issued for, once.

    Failed attempts are counted per chat identity and overall. An identity past its limit is
    refused without a lookup until the window has passed, so codes cannot be guessed; the
    overall limit only lowers that limit (and alerts the operators), it never refuses a valid
    code from an identity that has not failed.
    """
    when = now()
    try:
        with transaction(ctx, write=True) as session:
            _check_attempts(session, account, when)
            if not looks_like_code(code):  # never hashed: it may not even be encodable
                raise _BadCode()
            found = session.scalars(
                select(LinkCode).where(LinkCode.code_hash == hash_code(code)).with_for_update()
            ).first()
            valid = (
                found is not None
                and hmac.compare_digest(found.code_hash, hash_code(code))
                and found.used_at is None
                and found.expires_at > when
            )
            if found is None or not valid:
                raise _BadCode()
            used = session.execute(
                update(LinkCode)
                .where(LinkCode.id == found.id, LinkCode.used_at.is_(None))
                .values(used_at=when)
            )
            if rowcount(used) != 1:
                raise _BadCode()
            identity = _identity(session, account)
            if identity is None:
                identity = ChatIdentity(
                    platform=account.platform, team_id=account.team_id,
                    external_id=account.external_id, user_id=found.user_id,
                    display_name=account.display_name, active=True, linked_at=when,
                )  # fmt: skip
                session.add(identity)
            else:
                identity.user_id = found.user_id
                identity.active = True
                identity.linked_at = when
                identity.deactivated_at = None
                identity.display_name = account.display_name or identity.display_name
            session.flush()
            found.used_by_identity_id = identity.id
            user = session.get(User, found.user_id)
    except _BadCode:
        with transaction(ctx, write=True) as session:
            session.add(
                LinkAttempt(
                    platform=account.platform,
                    team_id=account.team_id,
                    external_id=account.external_id,
                    attempted_at=when,
                )
            )
            session.flush()
            _alert_if_under_attack(session, when)
        return Reply(t(language, "link.bad_code"), ok=False)
    except Refusal as refusal:
        return Reply(t(language, refusal.key, **refusal.params), ok=False)
    if user is None:  # the code's user_id is a foreign key to it
        raise RuntimeError(f"link code {found.id} names no user")
    return Reply(t(language, "link.linked", name=short_name(user), email=user.email))


class _BadCode(Exception):
    pass


def _failures_since(session, since: dt.datetime, account: ChatAccount | None = None) -> int:
    mine = (
        ()
        if account is None
        else (
            LinkAttempt.platform == account.platform,
            LinkAttempt.team_id == account.team_id,
            LinkAttempt.external_id == account.external_id,
        )
    )
    query = select(func.count()).where(LinkAttempt.attempted_at > since, *mine)
    return session.scalar(query) or 0


def _check_attempts(session, account: ChatAccount, when: dt.datetime) -> None:
    """Refuse, without looking the code up, an identity that has used up its attempts."""
    since = when - ATTEMPT_WINDOW
    mine = _failures_since(session, since, account)
    if mine == 0:
        return  # never refused: a referent holding a valid code is never locked out by others
    under_attack = _failures_since(session, since) >= ATTEMPTS_OVERALL
    allowed = ATTEMPTS_PER_IDENTITY_UNDER_ATTACK if under_attack else ATTEMPTS_PER_IDENTITY
    if mine >= allowed:
        raise Refusal("link.too_many_attempts", minutes=int(ATTEMPT_WINDOW.total_seconds() // 60))


def _alert_if_under_attack(session, when: dt.datetime) -> None:
    """The failure that reaches the overall limit tells the operators (once per window)."""
    since = when - ATTEMPT_WINDOW
    failures = _failures_since(session, since)
    if failures < ATTEMPTS_OVERALL:
        return
    identities = session.scalar(
        select(func.count()).select_from(
            select(LinkAttempt.platform, LinkAttempt.team_id, LinkAttempt.external_id)
            .where(LinkAttempt.attempted_at > since)
            .distinct()
            .subquery()
        )
    )
    minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
    if feed.record_link_attack(session, when, minutes, failures, identities or 0):
        log.warning(
            "linking: %s wrong link codes from %s chat identities within %s minutes; the "
            "operators are alerted",
            failures,
            identities,
            minutes,
        )


def identity_of(account: ChatAccount) -> tuple[ColumnElement[bool], ...]:
    """The WHERE clause of the account's bot_chat_identity row."""
    return (
        ChatIdentity.platform == account.platform,
        ChatIdentity.team_id == account.team_id,
        ChatIdentity.external_id == account.external_id,
    )


def _identity(session, account: ChatAccount) -> ChatIdentity | None:
    return session.scalars(select(ChatIdentity).where(*identity_of(account))).first()


def linked_user_id(ctx: Context, account: ChatAccount) -> int | None:
    with ctx.sessions() as session:
        identity = _identity(session, account)
        return identity.user_id if identity else None


def unlink(ctx: Context, account: ChatAccount, language: str) -> Reply:
    with transaction(ctx, write=True) as session:
        identity = _identity(session, account)
        if identity is None:
            return Reply(t(language, "link.not_linked"), ok=False)
        session.delete(identity)
    return Reply(t(language, "link.unlinked"))


def help_reply(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    """The help: what `aide` shows, and `start` or `relier` to someone already linked."""
    return Reply(t(actor.language, "help.text") + "\n" + t(actor.language, "admin.help"))


#: `relier CODE` (Telegram's /start CODE from a deep link): link this chat identity; without
#: a code, to someone linked, the help. The chat entry redeems the code itself.
LINK = Command("relier", "link", help_reply, aliases=("start",), private=True, listed=False)
#: `delier`: in a private chat, unlink; in a group, unbind it (the chat entry runs it).
UNLINK = Command("delier", "unlink", None, aliases=("délier",), private=True, listed=False)


def mark_unreachable(ctx: Context, account: ChatAccount) -> None:
    """The platform said this person cannot be reached (blocked the bot): stop pushing to them."""
    with transaction(ctx, write=True) as session:
        identity = _identity(session, account)
        if identity is not None and identity.active:
            identity.active = False
            identity.deactivated_at = now()
