"""Turning a platform user into an Actor: operator status, platform admin rights and language
are read on each call."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from handlers.chat.linking import ChatAccount
from handlers.core.context import Actor, Context
from handlers.core.i18n import normalize_language
from handlers.core.present import short_name
from storage import queries
from storage.bot_models import ChatIdentity, Preference
from storage.codes import UserStatus
from storage.models import Language, User
from storage.roles import AdminScope, admin_columns, admin_scope, platform_admin_scope


def operator_actor(front: str, language: str) -> Actor:
    """The operator at the machine (the CLI's chart command): administers every community and
    is no platform user (id 0), so it is built here rather than read from the database."""
    return Actor(user_id=0, front=front, language=language, is_operator=True)


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


#: Built once, and reading only what an Actor needs: it runs before every command and press,
#: where building the statement and loading a whole User cost three times the query itself.
ACTOR_OF_ACCOUNT = (
    select(
        User.id, User.status, User.email, User.given_name, User.family_name,
        # The language chosen in the bot ("" counts as none), else the platform's.
        func.coalesce(func.nullif(Preference.language, ""), Language.code).label("language"),
        # The platform admin rights (user_auth_assignment), read now like every other right.
        *admin_columns(User.id),
    )
    .select_from(ChatIdentity)
    .join(User, User.id == ChatIdentity.user_id)
    .outerjoin(Preference, Preference.user_id == User.id)
    .outerjoin(Language, Language.id == User.language_id)
    .where(
        ChatIdentity.platform == bindparam("platform"),
        ChatIdentity.team_id == bindparam("team_id"),
        ChatIdentity.external_id == bindparam("external_id"),
    )
    .limit(1)
)  # fmt: skip


def actor_in(session, ctx: Context, account: ChatAccount) -> Actor | None:
    """The linked, active user behind a chat account, in one statement (in the caller's
    session)."""
    row = session.execute(
        ACTOR_OF_ACCOUNT,
        {
            "platform": account.platform,
            "team_id": account.team_id,
            "external_id": account.external_id,
        },
    ).first()
    return actor_of_row(ctx, row, account.platform)


def actor_of_row(ctx: Context, row, front: str) -> Actor | None:
    """The Actor from a row of ACTOR_OF_ACCOUNT (None: not linked, or not active)."""
    if row is None or row.status != UserStatus.ACTIVE:
        return None
    scope = admin_scope(row.admin_roles)
    return Actor(
        user_id=row.id,
        front=front,
        language=normalize_language(row.language or ctx.settings.default_language),
        is_operator=_is_operator(ctx, row.email, scope),
        name=short_name(row),
        territories=_territories(ctx, row.email, scope),
    )


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
    if not preferred and user.language_id:
        preferred = session.scalar(select(Language.code).where(Language.id == user.language_id))
    language = normalize_language(preferred or ctx.settings.default_language)
    scope = platform_admin_scope(session, user.id)
    return Actor(
        user_id=user.id,
        front=front,
        language=language,
        is_operator=_is_operator(ctx, user.email, scope),
        name=short_name(user),
        territories=_territories(ctx, user.email, scope),
    )


def _configured_operator(ctx: Context, email: str) -> bool:
    return email.strip().lower() in {e.strip().lower() for e in ctx.settings.operators}


def _is_operator(ctx: Context, email: str, scope: AdminScope) -> bool:
    """Every community: a platform admin everywhere, or an operator of the configuration (an
    addition to the platform's admins, for staff who hold no role there)."""
    return scope.everywhere or _configured_operator(ctx, email)


def _territories(ctx: Context, email: str, scope: AdminScope) -> frozenset[int]:
    """A territory admin's territories (none when they administer everything anyway)."""
    if not scope.territories or _configured_operator(ctx, email):
        return frozenset()
    return scope.territories
