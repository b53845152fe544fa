"""One-time codes that link a chat identity to a platform user.

Only a hash of each code is stored; a code is single-use and expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from handlers.context import Context
from handlers.errors import Refusal
from handlers.uow import transaction
from storage import queries
from storage.bot_models import LinkCode
from storage.clock import now

#: Unambiguous characters: no 0/O, no 1/I/L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


@dataclass(frozen=True)
class IssuedCode:
    code: str
    user_id: int
    expires_at: dt.datetime
    deep_link: str | None


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
    username = ctx.settings.telegram_bot_username
    link = f"https://t.me/{username}?start={code}" if username else None
    return IssuedCode(code, user_id, expires, link)
