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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from handlers.context import Context
from handlers.uow import DATABASE_ERRORS, transaction
from storage.bot_models import SeenUpdate
from storage.clock import now

log = logging.getLogger(__name__)
KEEP = dt.timedelta(days=1)
PRUNE_EVERY = dt.timedelta(hours=1)
KEY_LENGTH = 128
#: When this process last deleted old keys (each replica prunes on its own; doing it twice is
#: harmless).
_last_pruned: dt.datetime | None = None


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
        return session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < before)).rowcount


def _prune_now_and_then(ctx: Context, when: dt.datetime) -> None:
    global _last_pruned
    if _last_pruned is not None and abs(when - _last_pruned) < PRUNE_EVERY:
        return
    _last_pruned = when
    prune(ctx, when - KEEP)
