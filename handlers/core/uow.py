"""One transaction per use case, and the refusal-to-reply translation."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import t
from handlers.core.reply import Reply

log = logging.getLogger(__name__)
P = ParamSpec("P")


class CommitUnknown(OperationalError):
    """The connection was lost while COMMIT was on its way: it may or may not have committed.

    Raised only for the COMMIT itself (everything before it is flushed first), so that every
    other database error means, for sure, that nothing was written.
    """

    def __init__(self, error: DBAPIError) -> None:
        super().__init__(
            error.statement,
            error.params,
            error.orig,  # type: ignore[arg-type]  # DBAPIError's own orig, typed Optional
            connection_invalidated=True,
        )


class _Commits(threading.local):
    """Write transactions committed by this thread, so that a use case that already committed
    one of its transactions is never re-run from the start."""

    count = 0


_commits = _Commits()


#: SQLite takes one writer at a time. The writers of this process queue on a lock, in turn,
#: rather than on the database lock, whose busy handler polls with sleeps of up to 100 ms:
#: under a burst of approvals that polling, not the work, made the slowest wait over a second.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_PER_DATABASE_GUARD = threading.Lock()
T = TypeVar("T")


def per_sqlite_database(
    ctx: Context, registry: weakref.WeakKeyDictionary[Any, T], make: Callable[[], T]
) -> T | None:
    """This process's object in `registry` for the context's SQLite database, made on first use;
    None on a server database (which other processes share: no process-local state helps)."""
    bind = getattr(ctx.sessions, "kw", {}).get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return None
    with _PER_DATABASE_GUARD:
        found = registry.get(bind)
        if found is None:
            found = registry[bind] = make()
        return found


def _writer_turn(ctx: Context) -> threading.RLock | contextlib.nullcontext[None]:
    turn = per_sqlite_database(ctx, _SQLITE_WRITERS, threading.RLock)
    return contextlib.nullcontext() if turn is None else turn


@contextmanager
def transaction(ctx: Context, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed at the end, rolled back on any exception.

    On SQLite a writing transaction starts with BEGIN IMMEDIATE, so that two deciders are
    serialised up front instead of one failing half-way (and waits its turn in-process first).
    The changes are flushed before the COMMIT, so that a lost connection is known to have struck
    before it (nothing written) or during it (CommitUnknown).
    """
    turn = _writer_turn(ctx) if write else contextlib.nullcontext()
    with turn, ctx.sessions() as session:
        session.begin()
        try:
            if write:
                session.connection(execution_options={"sqlite_immediate": True})
            yield session
            wrote = write or bool(session.new or session.dirty or session.deleted)
            session.flush()
        except BaseException:
            _rollback(session)
            raise
        try:
            session.commit()
        except DBAPIError as error:
            _rollback(session)
            if wrote and _lost_connection(error):  # a read-only one lost nothing
                raise CommitUnknown(error) from error
            raise
        if wrote:
            _commits.count += 1


def _rollback(session: Session) -> None:
    """Roll back; on a dead connection there is nothing left to roll back (the server did)."""
    try:
        session.rollback()
    except DBAPIError as error:
        log.info("rollback on a lost connection: %s", type(error).__name__)


def storable(value: object) -> bool:
    """Text every database stores as typed: no NUL (PostgreSQL refuses it in text) and no lone
    surrogate (not encodable in UTF-8). Lists of words (command arguments) are checked too."""
    if isinstance(value, str):
        return "\x00" not in value and _encodable(value)
    if isinstance(value, list | tuple):
        return all(storable(item) for item in value)
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: Waits before each new attempt of a use case whose database went away (seconds): a restart
#: or a failover takes a moment; a button press should not fail on the first lost connection.
RETRY_DELAYS: tuple[float, ...] = (0.2, 1.0)
DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)


def is_database_outage(error: BaseException) -> bool:
    """The database could not be reached, or the connection was lost (any of its forms)."""
    return isinstance(error, DATABASE_ERRORS)


def _lost_connection(error: DBAPIError) -> bool:
    return bool(error.connection_invalidated) or isinstance(error, DATABASE_ERRORS)


def _waits_on_a_lock(error: BaseException) -> bool:
    """A lock held by someone else past the wait limit: trying again would wait as long."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "lock wait timeout" in text or "(1205" in text


def outage_reply(language: str, commit_unknown: bool = False, repeatable: bool = False) -> Reply:
    """What a person reads when the database is away; says whether anything was written."""
    if not commit_unknown:
        return Reply(t(language, "error.database_unavailable"), ok=False)
    key = "faults.commit_unknown_repeat" if repeatable else "faults.commit_unknown_check"
    return Reply(t(language, key), ok=False)


UseCase = Callable[Concatenate[Context, Actor, P], Reply]


@overload
def use_case(func: UseCase[P], *, repeatable: bool = False) -> UseCase[P]: ...
@overload
def use_case(
    func: None = None, *, repeatable: bool = False
) -> Callable[[UseCase[P]], UseCase[P]]: ...
def use_case(
    func: UseCase[P] | None = None,
    *,
    repeatable: bool = False,
) -> Any:  # the overloads above give the two precise types
    """Turn refusals and database outages into a clear reply; nothing is half-written.

    A lost connection before the COMMIT wrote nothing: the use case is run again (RETRY_DELAYS),
    unless an earlier transaction of it had already committed. A connection lost during the
    COMMIT leaves its outcome unknown: a `repeatable` use case (one whose writes are guarded by
    the state they read, like a decision's UPDATE ... WHERE status = pending) is run again,
    which is the check (it does the change, or finds it done and says by whom); any other is
    not repeated and the person is told to check before trying again.
    """
    if func is None:
        return functools.partial(use_case, repeatable=repeatable)

    def wrapper(ctx: Context, actor: Actor, *args: P.args, **kwargs: P.kwargs) -> Reply:
        if not all(storable(value) for value in (*args, *kwargs.values())):
            return Reply(t(actor.language, "error.bad_text"), ok=False)
        unknown = False
        attempt = 0
        start = _commits.count
        while True:
            try:
                try:
                    reply = func(ctx, actor, *args, **kwargs)
                except Refusal as refusal:
                    reply = Reply(t(actor.language, refusal.key, **refusal.params), ok=False)
                if unknown and not reply.ok:  # found it done (or changed): say why we looked
                    return replace(reply, text=t(actor.language, "faults.rechecked") + "\n"
                                   + reply.text)  # fmt: skip
                return reply
            except CommitUnknown:
                log.warning("database connection lost during the COMMIT of %s", func.__name__)
                if not repeatable or _commits.count != start:
                    return outage_reply(actor.language, commit_unknown=True)
                unknown = True
            except DATABASE_ERRORS as error:
                # Lost connection, server down, deadlock, lock wait timeout: the transaction was
                # rolled back as a whole.
                log.warning(
                    "database unavailable during %s: %s", func.__name__, type(error).__name__
                )
                if _waits_on_a_lock(error) or _commits.count != start:
                    return outage_reply(actor.language, unknown, repeatable)
            if attempt >= len(RETRY_DELAYS):
                return outage_reply(actor.language, unknown, repeatable)
            time.sleep(RETRY_DELAYS[attempt])
            attempt += 1

    functools.update_wrapper(wrapper, func)  # not @wraps: its _Wrapped type hides the signature
    return wrapper
