"""Named progress markers shared by the replicas (bot_watcher_state), one holder at a time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.core.context import Context
from handlers.core.uow import transaction
from storage.bot_models import WatcherState
from storage.clock import now


def ensure_state(ctx: Context, name: str, initial: str = "") -> None:
    """Create the marker if it does not exist yet, whoever gets there first."""
    with transaction(ctx, write=True) as session:
        if session.get(WatcherState, name) is not None:
            return
        try:
            with session.begin_nested():
                session.add(WatcherState(name=name, value=initial, updated_at=now()))
        except IntegrityError:
            pass  # another replica created it at the same moment


def lock_state(session: Session, name: str) -> WatcherState:
    """The marker, locked for this transaction: replicas take turns on the work it guards.

    Taken before any plain read, so that on MariaDB the transaction's snapshot includes what
    the previous holder committed.
    """
    return session.scalars(
        select(WatcherState)
        .where(WatcherState.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def set_state(state: WatcherState, value: str) -> None:
    state.value = value
    state.updated_at = now()
