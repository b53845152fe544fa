"""Who opened the bot's Home (bot_home_view), and when theirs is out of date.

A Home (Slack's App Home tab) shows a referent's communities, their oldest pending requests
and figures. It is published when the person opens it, and again by the notifier when what it
shows changes: the watcher (a new request) and the outcomes (a decision, taken anywhere) mark
the Homes of the community's deciders, and of operators, who see every community. Only people
who opened their Home at least once have a row, so nobody else costs a publish.

A change increments `version`; a publish first claims it (`shown_version` raised to it, only
if lower), so that two replicas do not both publish the same change, and hands it back if the
publish failed. The person's own pressing publishes too, without a claim (it must show now).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.core.context import Context
from handlers.core.uow import transaction
from storage.bot_models import ChatIdentity, HomeView
from storage.clock import now

#: How long the outcome of a press made in the Home stays on top of it.
NOTICE_FOR = dt.timedelta(minutes=30)
#: Homes published per notifier round at most (the others wait for the next round).
BATCH = 50


@dataclass(frozen=True)
class HomeKey:
    """A chat account, as the platform names it (Slack: team id and user id)."""

    platform: str
    team_id: str
    external_id: str


@dataclass(frozen=True)
class Opened:
    """A Home row as a publish needs it: the change it will show, and the notice on top."""

    id: int
    version: int
    notice: str | None


@dataclass(frozen=True)
class DueHome:
    """A Home showing less than its latest change."""

    id: int
    key: HomeKey
    version: int
    shown_version: int


def remember(ctx: Context, key: HomeKey, everything: bool, notice: str | None = None) -> Opened:
    """The person opened their Home, or pressed in it (`notice`: what the press did): their
    row, created on the first time, with whether they see every community."""
    when = now()
    with transaction(ctx, write=True) as session:
        row = _row(session, key)
        if row is None:
            try:
                with session.begin_nested():
                    row = HomeView(platform=key.platform, team_id=key.team_id,
                                   external_id=key.external_id, everything=everything,
                                   version=0, shown_version=0, opened_at=when)  # fmt: skip
                    session.add(row)
                    session.flush()
            except IntegrityError:  # opened at the same moment on another replica
                row = _row(session, key)
                assert row is not None
        row.everything = everything
        row.opened_at = when
        if notice is not None:
            row.notice, row.notice_at = notice, when
        session.flush()
        return Opened(row.id, row.version, _fresh_notice(row, when))


def _row(session: Session, key: HomeKey) -> HomeView | None:
    return session.scalars(
        select(HomeView).where(
            HomeView.platform == key.platform,
            HomeView.team_id == key.team_id,
            HomeView.external_id == key.external_id,
        )
    ).first()


def _fresh_notice(row: HomeView, when: dt.datetime) -> str | None:
    if row.notice and row.notice_at and when - row.notice_at < NOTICE_FOR:
        return row.notice
    return None


def any_home(session: Session) -> bool:
    """Whether anyone has a Home to keep up to date (none on a Telegram-only deployment): the
    work of finding whose Homes a change concerns is skipped when nobody has one."""
    return session.scalar(select(HomeView.id).limit(1)) is not None


def mark(session: Session, user_ids: Collection[int]) -> int:
    """In the caller's transaction: the Homes of these platform users (through their linked
    chat accounts), and of those who see every community, are out of date."""
    linked = (
        select(ChatIdentity.id)
        .where(
            ChatIdentity.platform == HomeView.platform,
            ChatIdentity.team_id == HomeView.team_id,
            ChatIdentity.external_id == HomeView.external_id,
            ChatIdentity.active.is_(True),
            ChatIdentity.user_id.in_(sorted(user_ids)),
        )
        .exists()
    )
    concerned = or_(HomeView.everything.is_(True), linked) if user_ids else HomeView.everything
    result = session.execute(
        update(HomeView)
        .where(concerned)
        .values(version=HomeView.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def due(ctx: Context, platforms: Collection[str], limit: int = BATCH) -> list[DueHome]:
    """Homes to publish again, on these platforms (those whose front is running)."""
    if not platforms:
        return []
    with transaction(ctx) as session:
        rows = session.execute(
            select(HomeView.id, HomeView.platform, HomeView.team_id, HomeView.external_id,
                   HomeView.version, HomeView.shown_version)
            .where(HomeView.version > HomeView.shown_version,
                   HomeView.platform.in_(sorted(platforms)))
            .order_by(HomeView.id)
            .limit(limit)
        ).all()  # fmt: skip
    return [DueHome(r.id, HomeKey(r.platform, r.team_id, r.external_id), r.version,
                    r.shown_version) for r in rows]  # fmt: skip


def claim(ctx: Context, home: DueHome) -> str | None:
    """Take this change to publish: the notice to show on top ("" for none), or None when
    another replica took it, or a newer change is shown already."""
    with transaction(ctx, write=True) as session:
        taken = session.execute(
            update(HomeView)
            .where(HomeView.id == home.id, HomeView.shown_version < home.version)
            .values(shown_version=home.version)
            .execution_options(synchronize_session=False)
        )
        if not getattr(taken, "rowcount", 0):
            return None
        row = session.get_one(HomeView, home.id)
        return _fresh_notice(row, now()) or ""


def release(ctx: Context, home: DueHome) -> None:
    """The publish failed: the change is due again (unless a newer publish showed it)."""
    with transaction(ctx, write=True) as session:
        session.execute(
            update(HomeView)
            .where(HomeView.id == home.id, HomeView.shown_version == home.version)
            .values(shown_version=home.shown_version)
            .execution_options(synchronize_session=False)
        )


def shown(ctx: Context, home_id: int, version: int) -> None:
    """A Home including change `version` was published (by the person's own opening)."""
    with transaction(ctx, write=True) as session:
        session.execute(
            update(HomeView)
            .where(HomeView.id == home_id, HomeView.shown_version < version)
            .values(shown_version=version)
            .execution_options(synchronize_session=False)
        )


def forget(ctx: Context, home_id: int) -> None:
    """The person cannot be reached any more (account gone): no more publishing; opening
    the Home again brings the row back."""
    with transaction(ctx, write=True) as session:
        row = session.get(HomeView, home_id)
        if row is not None:
            session.delete(row)
