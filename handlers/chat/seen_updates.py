"""Each incoming update handled once, across replicas.

Telegram posts a webhook update again when it got no 200 in time, and the reverse proxy may
hand that copy to another replica; Slack retries an Events API delivery (X-Slack-Retry-Num)
the same way, and a proxy may replay any request. Each front claims the update's key here,
before any use case runs: the insert of (platform, key) wins once, on every database and in
every replica, and a copy is acknowledged and dropped. Keys are kept a day, far longer than
either platform retries (Slack: 3 retries within 5 minutes).

An update whose replica dies after the claim is not handled elsewhere: at most once, like the
notifier's message in flight. Telegram does not redeliver it anyway once the replica answered.
When the database cannot be reached the update goes on (its use case then tells the person
that the database is unavailable) rather than vanishing unanswered.

On SQLite one process serves the database (replicas need PostgreSQL or MariaDB), so a copy can
only come back to that process: the keys are kept in its memory (MEMORY_KEEP, far longer than
the platforms retry), without a write transaction per update, which cost the webhook a third
of its CPU per update (docs/benchmarks.md). A copy arriving after a restart is handled again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import weakref
from collections import OrderedDict

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from handlers.core.context import Context
from handlers.core.uow import DATABASE_ERRORS, per_sqlite_database, transaction
from storage.bot_models import SeenUpdate
from storage.clock import now
from storage.engine import rowcount

log = logging.getLogger(__name__)
KEEP = dt.timedelta(days=1)
PRUNE_EVERY = dt.timedelta(hours=1)
KEY_LENGTH = 128
#: When this process last deleted old keys (each replica prunes on its own; doing it twice is
#: harmless).
_last_pruned: dt.datetime | None = None


#: How long, and how many, keys are remembered in memory (SQLite).
MEMORY_KEEP = dt.timedelta(hours=1)
MEMORY_MAX = 100_000


class _Remembered:
    """The keys this process claimed lately, oldest first; safe to use from any thread."""

    def __init__(self) -> None:
        self._keys: OrderedDict[tuple[str, str], dt.datetime] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, platform: str, key: str, when: dt.datetime) -> bool:
        with self._lock:
            while self._keys:
                oldest = next(iter(self._keys.values()))
                if len(self._keys) < MEMORY_MAX and when - oldest < MEMORY_KEEP:
                    break
                self._keys.popitem(last=False)
            if (platform, key) in self._keys:
                return False
            self._keys[(platform, key)] = when
            return True


_REMEMBERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _in_memory(ctx: Context) -> _Remembered | None:
    """This process's keys for the context's SQLite database; None on a server database."""
    return per_sqlite_database(ctx, _REMEMBERED, _Remembered)


def claims_in_memory(ctx: Context) -> bool:
    """Whether first_seen does no I/O here (SQLite): a front may call it on its event loop."""
    return _in_memory(ctx) is not None


#: A plain INSERT (built once): it runs before every webhook update, where the ORM's unit of
#: work for one row cost more than the statement.
_CLAIM = insert(SeenUpdate).values(
    platform=bindparam("platform"),
    update_key=bindparam("update_key"),
    seen_at=bindparam("seen_at"),
)


def first_seen(ctx: Context, platform: str, key: str) -> bool:
    """True for the first delivery of this update anywhere; False for any later copy."""
    if len(key) > KEY_LENGTH:
        key = hashlib.sha256(key.encode()).hexdigest()
    when = now()
    remembered = _in_memory(ctx)
    if remembered is not None:
        return remembered.claim(platform, key, when)
    try:
        with transaction(ctx, write=True) as session:
            session.execute(_CLAIM, {"platform": platform, "update_key": key, "seen_at": when})
    except IntegrityError:
        return False
    except DATABASE_ERRORS as error:
        log.warning("could not record a %s update (%s): handled anyway", platform,
                    type(error).__name__)  # fmt: skip
        return True
    _prune_now_and_then(ctx, when)
    return True


def prune(ctx: Context, before: dt.datetime) -> int:
    """Forget the keys seen before `before`; returns how many."""
    with transaction(ctx, write=True) as session:
        return rowcount(session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < before)))


def _prune_now_and_then(ctx: Context, when: dt.datetime) -> None:
    global _last_pruned
    if _last_pruned is not None and abs(when - _last_pruned) < PRUNE_EVERY:
        return
    _last_pruned = when
    prune(ctx, when - KEEP)
