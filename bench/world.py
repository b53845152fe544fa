"""The benches' database: the scale-0 demo plus `referents` communities, each run by one
referent linked on Telegram and on Slack, each with `pending_each` join requests to decide.

The referents were already notified of these requests (the notifier's scan ran and its
deliveries were cancelled), so that a bench measures the answers to what it sends, not a
backlog of 1,000 notifications; the notifier still runs and scans as it does in production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute

from handlers.core.context import Context
from handlers.outbox.watch_state import ensure_state
from handlers.outbox.watcher import scan_new_pending
from storage import schema
from storage.bot_models import ChatIdentity, Delivery, WatcherState
from storage.clock import now
from storage.codes import MembershipStatus, ValidationType
from storage.demo import fill_demo
from storage.engine import make_engine, make_sessionmaker
from storage.models import Community, CommunityUser, User

#: Telegram user ids (= private chat ids) of the bench referents: TELEGRAM_BASE + index.
TELEGRAM_BASE = 500_000
SLACK_TEAM = "T0PASSPASS"  # tests/bot/slack/fake_slack_api.TEAM


def slack_id(index: int) -> str:
    return f"U0BENCH{index:04d}"


@dataclass(frozen=True)
class Referent:
    index: int
    user_id: int
    community_id: int
    telegram_id: int
    slack_id: str
    #: Pending membership ids of their community, in the order the benches decide them.
    pending: tuple[int, ...]


@dataclass(frozen=True)
class BenchWorld:
    url: str
    referents: tuple[Referent, ...]
    #: A referent of the demo's largest community (whose carpools, ads and members make real
    #: charts), linked on Telegram as TELEGRAM_BASE - 1.
    demo_referent: Referent | None = None


def build(path: Path, referents: int = 100, pending_each: int = 20) -> BenchWorld:
    return build_at(f"sqlite:///{path}", referents, pending_each)


def build_at(url: str, referents: int = 100, pending_each: int = 20) -> BenchWorld:
    """The bench world in an empty database (SQLite file, or a server database whose platform
    tables exist: see server_database)."""
    engine = make_engine(url)
    schema.prepare(engine)
    fill_demo(engine)
    created = now() - dt.timedelta(days=3)
    with engine.begin() as connection:
        by_size = connection.scalars(
            select(CommunityUser.community_id)
            .group_by(CommunityUser.community_id)
            .order_by(func.count().desc(), CommunityUser.community_id)
        ).all()
        for demo_community in by_size:
            demo_user = connection.scalar(
                select(func.min(CommunityUser.user_id)).where(
                    CommunityUser.community_id == demo_community,
                    CommunityUser.status == int(MembershipStatus.MODERATOR),
                )
            )
            if demo_user is not None:
                break
        else:
            raise RuntimeError("no community of the demo database has a moderator")
        first_user = _next_id(connection, User.id)
        first_community = _next_id(connection, Community.id)
        first_membership = _next_id(connection, CommunityUser.id)
        people = [
            {"id": first_user + i, "given_name": f"Référente{i}", "family_name": "Banc",
             "email": f"referente{i}@bench.example.org", "gender": 2, "status": 1,
             "created_date": created, "phone_display": 1}
            for i in range(referents)
        ] + [
            {"id": first_user + referents + j, "given_name": f"Candidat{j}",
             "family_name": "Banc", "email": f"candidat{j}@bench.example.org", "gender": 1,
             "status": 1, "created_date": created, "phone_display": 1}
            for j in range(referents * pending_each)
        ]  # fmt: skip
        connection.execute(insert(User), people)
        connection.execute(
            insert(Community),
            [
                {"id": first_community + i, "user_id": first_user + i,
                 "name": f"Communauté du banc {i}", "description": "", "full_description": "",
                 "created_date": created, "validation_type": int(ValidationType.MANUAL)}
                for i in range(referents)
            ],
        )  # fmt: skip
        memberships = [
            {"id": first_membership + i, "community_id": first_community + i,
             "user_id": first_user + i, "status": int(MembershipStatus.MODERATOR),
             "created_date": created, "accepted_date": created}
            for i in range(referents)
        ]  # fmt: skip
        connection.execute(insert(CommunityUser), memberships)
        memberships = []
        pending: dict[int, list[int]] = {i: [] for i in range(referents)}
        next_id = first_membership + referents
        for j in range(referents * pending_each):
            owner = j % referents
            memberships.append(
                {"id": next_id, "community_id": first_community + owner,
                 "user_id": first_user + referents + j,
                 "status": int(MembershipStatus.PENDING),
                 "created_date": created + dt.timedelta(minutes=j)}
            )  # fmt: skip
            pending[owner].append(next_id)
            next_id += 1
        connection.execute(insert(CommunityUser), memberships)
        connection.execute(
            insert(ChatIdentity),
            [
                {"platform": "telegram", "team_id": "", "external_id": str(TELEGRAM_BASE + i),
                 "user_id": first_user + i, "active": True, "linked_at": created}
                for i in range(referents)
            ] + [
                {"platform": "slack", "team_id": SLACK_TEAM, "external_id": slack_id(i),
                 "user_id": first_user + i, "active": True, "linked_at": created}
                for i in range(referents)
            ] + [
                {"platform": "telegram", "team_id": "", "external_id": str(TELEGRAM_BASE - 1),
                 "user_id": demo_user, "active": True, "linked_at": created},
            ],
        )  # fmt: skip
    ctx = Context(make_sessionmaker(engine))
    scan_new_pending(ctx, lookback=None)
    ensure_state(ctx, "reminders_last_day")
    with ctx.sessions() as session, session.begin():
        session.get_one(WatcherState, "reminders_last_day").value = now().date().isoformat()
        session.execute(update(Delivery).values(state="cancelled"))
    engine.dispose()
    return BenchWorld(
        url,
        tuple(
            Referent(i, first_user + i, first_community + i, TELEGRAM_BASE + i, slack_id(i),
                     tuple(pending[i]))
            for i in range(referents)
        ),
        Referent(-1, demo_user, demo_community, TELEGRAM_BASE - 1, "", ()),
    )  # fmt: skip


def _next_id(connection: Connection, column: InstrumentedAttribute[int]) -> int:
    """One past the table's largest id: the bench's rows go after the demo's."""
    largest = connection.scalar(select(func.max(column)))
    if largest is None:
        raise RuntimeError(f"{column} is empty: the demo database was not filled")
    return largest + 1


def count_status(url: str, membership_ids: list[int], status: MembershipStatus) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = 0
            for start in range(0, len(membership_ids), 500):
                found += connection.execute(
                    select(func.count()).where(
                        CommunityUser.id.in_(membership_ids[start : start + 500]),
                        CommunityUser.status == int(status),
                    )
                ).scalar_one()
            return found
    finally:
        engine.dispose()


@contextlib.contextmanager
def server_database(server_url: str, name: str) -> Iterator[str]:
    """A throwaway database on a PostgreSQL or MariaDB server (MariaDB: the platform's real
    schema loaded, as in production), dropped afterwards."""
    from tests.support.databases import create_server_database, drop_server_database

    url = create_server_database(server_url, name, platform_schema=server_url.startswith("mysql"))
    try:
        yield url
    finally:
        drop_server_database(server_url, name)
