"""Turning a platform user into an Actor: operator status and language are read on each call."""

from __future__ import annotations

from sqlalchemy import select

from handlers.context import Actor, Context
from handlers.i18n import normalize_language
from handlers.linking import ChatAccount, identity_of
from handlers.present import short_name
from storage import queries
from storage.bot_models import ChatIdentity, Preference
from storage.codes import UserStatus
from storage.models import Language, User


def actor_for_user(ctx: Context, user_id: int, front: str) -> Actor | None:
    """None when the user is gone, or disabled or anonymized on the platform: such an account
    loses every right at once, whatever chat it is linked from."""
    with ctx.sessions() as session:
        user = session.get(User, user_id)
        if user is None or user.status != UserStatus.ACTIVE:
            return None
        return _actor(ctx, session, user, front, _preference(session, user))


def actor_for_account(ctx: Context, account: ChatAccount) -> Actor | None:
    with ctx.sessions() as session:
        return actor_in(session, ctx, account)


def actor_in(session, ctx: Context, account: ChatAccount) -> Actor | None:
    """The linked, active user behind a chat account, in one statement (in the caller's
    session): it runs before every command and press."""
    row = session.execute(
        select(User, Preference.language)
        .join(ChatIdentity, ChatIdentity.user_id == User.id)
        .outerjoin(Preference, Preference.user_id == User.id)
        .where(*identity_of(account))
        .limit(1)
    ).first()
    if row is None or row[0].status != UserStatus.ACTIVE:
        return None
    return _actor(ctx, session, row[0], account.platform, preferred=row[1])


def actor_for_email(ctx: Context, email: str, front: str) -> Actor | None:
    with ctx.sessions() as session:
        user = queries.user_by_email(session, email)
        if user is None or user.status != UserStatus.ACTIVE:
            return None
        return _actor(ctx, session, user, front, _preference(session, user))


def _preference(session, user: User) -> str | None:
    return session.scalar(select(Preference.language).where(Preference.user_id == user.id))


def _actor(ctx: Context, session, user: User, front: str, preferred: str | None) -> Actor:
    """`preferred`: the language the user chose in the bot (bot_preference), if any."""
    operators = {e.strip().lower() for e in ctx.settings.operators}
    if not preferred and user.language_id:
        preferred = session.scalar(select(Language.code).where(Language.id == user.language_id))
    language = normalize_language(preferred or ctx.settings.default_language)
    return Actor(
        user_id=user.id,
        front=front,
        language=language,
        is_operator=user.email.strip().lower() in operators,
        name=short_name(user),
    )
