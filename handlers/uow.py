"""One transaction per use case, with its audit entry, and the refusal-to-reply translation."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from handlers.context import Actor, Context
from handlers.errors import Refusal
from handlers.i18n import t
from handlers.reply import Reply
from storage.bot_models import AuditEntry
from storage.clock import now

log = logging.getLogger(__name__)
P = ParamSpec("P")


#: SQLite takes one writer at a time. The writers of this process queue on a lock, in turn,
#: rather than on the database lock, whose busy handler polls with sleeps of up to 100 ms:
#: under a burst of approvals that polling, not the work, made the slowest wait over a second.
_SQLITE_WRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def _writer_turn(ctx: Context) -> threading.RLock | contextlib.nullcontext:
    bind = getattr(ctx.sessions, "kw", {}).get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(bind, threading.RLock())


@contextmanager
def transaction(ctx: Context, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed at the end, rolled back on any exception.

    On SQLite a writing transaction starts with BEGIN IMMEDIATE, so that two deciders are
    serialised up front instead of one failing half-way (and waits its turn in-process first).
    """
    turn = _writer_turn(ctx) if write else contextlib.nullcontext()
    with turn, ctx.sessions() as session, session.begin():
        if write:
            session.connection(execution_options={"sqlite_immediate": True})
        yield session


def audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    community_id: int | None = None,
    target_user_id: int | None = None,
    membership_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            created_at=now(),
            actor_user_id=actor.user_id,
            front=actor.front,
            community_id=community_id,
            target_user_id=target_user_id,
            membership_id=membership_id,
            action=action,
            before=json.dumps(before, default=str, ensure_ascii=False) if before else None,
            after=json.dumps(after, default=str, ensure_ascii=False) if after else None,
            reason=reason,
        )
    )
    # Settings changes also go to the operators' change feed, in this same transaction.
    # (Imported here: the feed module itself builds on this one.)
    from handlers.feed import record_settings_change

    record_settings_change(
        session, community_id, action, before, after, actor.name, actor.user_id, actor.front
    )


def use_case(
    func: Callable[Concatenate[Context, Actor, P], Reply],
) -> Callable[Concatenate[Context, Actor, P], Reply]:
    """Turn refusals and database outages into a clear reply; nothing is half-written."""

    @functools.wraps(func)
    def wrapper(ctx: Context, actor: Actor, *args: P.args, **kwargs: P.kwargs) -> Reply:
        try:
            return func(ctx, actor, *args, **kwargs)
        except Refusal as refusal:
            return Reply(t(actor.language, refusal.key, **refusal.params), ok=False)
        except (OperationalError, InterfaceError, PoolTimeout) as error:
            # Lost connection, server down, lock wait timeout, deadlock: the transaction was
            # rolled back as a whole, so the user may simply try again.
            log.warning("database unavailable during %s: %s", func.__name__, type(error).__name__)
            return Reply(t(actor.language, "error.database_unavailable"), ok=False)

    return wrapper
