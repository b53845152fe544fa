"""Turning a platform user into an Actor: operator status and language are read on each call."""

from __future__ import annotations

from sqlalchemy import select

from handlers.context import Actor, Context
from handlers.i18n import normalize_language
from handlers.present import short_name
from storage import queries
from storage.bot_models import Preference
from storage.codes import UserStatus
from storage.models import Language, User


def actor_for_user(ctx: Context, user_id: int, front: str) -> Actor | None:
    """None when the user is gone, or disabled or anonymized on the platform: such an account
    loses every right at once, whatever chat it is linked from."""
    with ctx.sessions() as session:
        user = session.get(User, user_id)
        if user is None or user.status != UserStatus.ACTIVE:
            return None
        return _actor(ctx, session, user, front)


def actor_for_email(ctx: Context, email: str, front: str) -> Actor | None:
    with ctx.sessions() as session:
        user = queries.user_by_email(session, email)
        if user is None or user.status != UserStatus.ACTIVE:
            return None
        return _actor(ctx, session, user, front)


def _actor(ctx: Context, session, user: User, front: str) -> Actor:
    operators = {e.strip().lower() for e in ctx.settings.operators}
    preferred = session.scalar(select(Preference.language).where(Preference.user_id == user.id))
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
