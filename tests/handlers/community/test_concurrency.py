"""Two people deciding at the same moment, each on their own connection.

On PostgreSQL and MariaDB the two use cases run on two real connections at once; on SQLite
on two engines over the same file. Exactly one decision is recorded; the other person is told
who decided first. The deterministic variants hold a lock on a raw connection, start the use
case, check that it waits, then commit: the use case must then see what was committed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, insert, select, update

from handlers.community import members, pending, settings
from handlers.core.context import Context
from handlers.core.reply import Reply
from storage.codes import MembershipStatus
from storage.engine import make_engine, make_sessionmaker
from storage.models import Community, CommunitySecurity, CommunityUser
from tests.handlers.helpers import (
    NOTHING_CHANGED,
    NOW_FR,
    actor,
    add_members,
    audit_entries,
    membership,
    snapshot,
)

NOW = dt.datetime(2024, 1, 17, 10, 2)
ROUNDS = 5
#: How long a blocked use case is watched before we decide it really waits for the lock.
BLOCKED_FOR = 0.3


@pytest.fixture
def other_engine(engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database: its own connections, as a second process has."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


@pytest.fixture
def other_ctx(ctx: Context, other_engine: Engine) -> Context:
    return Context(sessions=make_sessionmaker(other_engine), settings=ctx.settings)


def run_together(*calls: Callable[[], Reply]) -> list[Reply]:
    """Run the calls in threads released at the same instant; re-raise any error."""
    barrier = threading.Barrier(len(calls))
    results: list[Reply | BaseException | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Reply]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a use case never finished (deadlock?)"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


class Background:
    """A use case started in a thread, to check that it waits for a lock held elsewhere."""

    def __init__(self, call: Callable[[], Reply]) -> None:
        self.result: Reply | BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(call,))
        self.thread.start()

    def _run(self, call: Callable[[], Reply]) -> None:
        try:
            self.result = call()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            self.result = error

    def is_waiting(self) -> bool:
        self.thread.join(BLOCKED_FOR)
        return self.thread.is_alive()

    def reply(self) -> Reply:
        self.thread.join(60)
        assert not self.thread.is_alive(), "the use case never finished"
        if isinstance(self.result, BaseException):
            raise self.result
        assert isinstance(self.result, Reply)
        return self.result


def lock_community_row(connection: Connection, community_id: int) -> None:
    """What the bot's use cases do first when they change a community (no-op on SQLite, where
    the first write takes the database's write lock)."""
    if connection.dialect.name != "sqlite":
        connection.execute(
            select(Community.id).where(Community.id == community_id).with_for_update()
        )


def decisions_on(ctx: Context, membership_id: int) -> list[tuple[str, int]]:
    return [
        (e.action, e.actor_user_id)
        for e in audit_entries(ctx)
        if e.membership_id == membership_id and e.action in ("approve", "refuse")
    ]


# --- Two deciders at once ---------------------------------------------------------------------


def test_two_deciders_at_the_same_moment_one_decision_is_recorded(ctx, other_ctx, world):
    """Emilie approves while Jean-Marc refuses, on two connections, five times over."""
    targets = [world.membership("arc", "pierre")] + add_members(
        ctx, world, "arc", ROUNDS - 1, status=MembershipStatus.PENDING
    )
    emilie = actor(ctx, world, "emilie", "telegram")
    jeanmarc = actor(other_ctx, world, "jeanmarc", "slack")
    winners = set()

    for target in targets:
        approved, refused = run_together(
            lambda t=target: pending.approve(ctx, emilie, t),
            lambda t=target: pending.refuse(other_ctx, jeanmarc, t, "hors entreprise"),
        )

        assert [approved.ok, refused.ok].count(True) == 1, (approved.text, refused.text)
        row = membership(ctx, target)
        if approved.ok:
            winners.add("emilie")
            assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, world.users["emilie"])
            assert (row.accepted_date, row.refused_date) == (NOW, None)
            assert refused.text.endswith(
                f"a été accepté(e) par Emilie F. le {NOW_FR}. {NOTHING_CHANGED}."
            )
            assert refused.text.startswith("Déjà traité : ")
            assert decisions_on(ctx, target) == [("approve", world.users["emilie"])]
        else:
            winners.add("jeanmarc")
            assert (row.status, row.admin_id) == (MembershipStatus.REFUSED, world.users["jeanmarc"])
            assert (row.accepted_date, row.refused_date) == (None, NOW)
            assert approved.text.endswith(
                f"a été refusé(e) par Jean-Marc M. le {NOW_FR}. {NOTHING_CHANGED}."
            )
            assert decisions_on(ctx, target) == [("refuse", world.users["jeanmarc"])]
    assert winners  # at least one round ran; which one wins is up to the database
    assert len(audit_entries(ctx)) == ROUNDS


def test_two_bulk_approvals_at_once_decide_each_request_once(ctx, other_ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    jeanmarc = actor(other_ctx, world, "jeanmarc")

    first, second = run_together(
        lambda: pending.confirm_bulk(ctx, emilie, "approve_all", arc, 3),
        lambda: pending.confirm_bulk(other_ctx, jeanmarc, "approve_all", arc, 3),
    )

    assert [first.ok, second.ok].count(True) == 1, (first.text, second.text)
    loser = second if first.ok else first
    assert loser.text.startswith(
        f"Le nombre de demandes a changé : 3 annoncées, 0 maintenant. {NOTHING_CHANGED}."
    )
    entries = audit_entries(ctx)
    assert len(entries) == 3
    assert len({e.actor_user_id for e in entries}) == 1
    assert sorted(e.membership_id for e in entries) == sorted(
        world.membership("arc", p) for p in ("pierre", "helene", "francois")
    )


# --- Deterministic: the use case waits for a decision being written elsewhere ----------------


@pytest.mark.parametrize("decide", ["approve", "refuse"])
def test_a_decision_waits_for_one_being_written_and_does_not_overwrite_it(
    ctx, other_engine, world, decide
):
    pierre = world.membership("arc", "pierre")
    emilie = actor(ctx, world, "emilie")

    with other_engine.connect() as connection:
        transaction = connection.begin()
        # Jean-Marc accepts Pierre from the web admin; not committed yet
        written = connection.execute(
            update(CommunityUser)
            .where(CommunityUser.id == pierre, CommunityUser.status == MembershipStatus.PENDING)
            .values(
                status=int(MembershipStatus.MEMBER), admin_id=world.users["jeanmarc"],
                accepted_date=NOW, updated_date=NOW,
            )
        )  # fmt: skip
        assert written.rowcount == 1
        use_case = Background(lambda: getattr(pending, decide)(ctx, emilie, pierre))
        assert use_case.is_waiting(), "the decision did not wait for the row being written"
        transaction.commit()

    reply = use_case.reply()
    assert reply.ok is False
    assert reply.text == (
        f"Déjà traité : Pierre L. a été accepté(e) par Jean-Marc M. le {NOW_FR}. {NOTHING_CHANGED}."
    )
    row = membership(ctx, pierre)
    assert (row.status, row.admin_id, row.refused_date) == (1, world.users["jeanmarc"], None)
    assert audit_entries(ctx) == []


def test_a_decision_goes_ahead_when_the_other_writer_rolls_back(ctx, other_engine, world):
    pierre = world.membership("arc", "pierre")
    emilie = actor(ctx, world, "emilie")

    with other_engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            update(CommunityUser)
            .where(CommunityUser.id == pierre)
            .values(status=int(MembershipStatus.REFUSED), admin_id=world.users["jeanmarc"])
        )
        use_case = Background(lambda: pending.approve(ctx, emilie, pierre))
        assert use_case.is_waiting()
        transaction.rollback()

    reply = use_case.reply()
    assert reply.ok, reply.text
    row = membership(ctx, pierre)
    assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, world.users["emilie"])
    assert decisions_on(ctx, pierre) == [("approve", world.users["emilie"])]


def test_a_bulk_confirmation_waits_and_then_sees_the_new_count(ctx, other_engine, world):
    """Another decider holds the community (as a bulk decision does) and accepts Pierre: the
    confirmation of 'accept the 3' must see 2 left, change nothing and ask again."""
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")

    with other_engine.connect() as connection:
        transaction = connection.begin()
        lock_community_row(connection, arc)
        connection.execute(
            update(CommunityUser)
            .where(CommunityUser.id == world.membership("arc", "pierre"))
            .values(status=int(MembershipStatus.MEMBER), admin_id=world.users["jeanmarc"],
                    accepted_date=NOW, updated_date=NOW)
        )  # fmt: skip
        use_case = Background(lambda: pending.confirm_bulk(ctx, emilie, "approve_all", arc, 3))
        assert use_case.is_waiting()
        transaction.commit()
    before = snapshot(ctx)

    reply = use_case.reply()

    assert reply.ok is False, reply.text
    assert reply.text.startswith(
        f"Le nombre de demandes a changé : 3 annoncées, 2 maintenant. {NOTHING_CHANGED}."
    )
    assert snapshot(ctx) == before
    assert membership(ctx, world.membership("arc", "helene")).status == MembershipStatus.PENDING


def test_two_moderators_stepping_down_at_once_leave_one(ctx, other_engine, world):
    """Emilie is being demoted elsewhere (the community held, as the bot's own use case holds
    it); demoting Jean-Marc meanwhile must wait, then see he is the last moderator."""
    arc = world.communities["arc"]
    jm = world.membership("arc", "jeanmarc")
    operator = actor(ctx, world, "operator")

    with other_engine.connect() as connection:
        transaction = connection.begin()
        lock_community_row(connection, arc)
        connection.execute(
            update(CommunityUser)
            .where(CommunityUser.id == world.membership("arc", "emilie"))
            .values(status=int(MembershipStatus.MEMBER), updated_date=NOW)
        )
        use_case = Background(lambda: members.set_member_status(ctx, operator, jm, 1, 2))
        assert use_case.is_waiting()
        transaction.commit()

    reply = use_case.reply()

    assert reply.ok is False, reply.text
    assert "c'est le dernier modérateur de la communauté" in reply.text
    assert membership(ctx, jm).status == MembershipStatus.MODERATOR
    assert audit_entries(ctx) == []


def test_an_upload_waits_for_another_and_removes_its_file_too(ctx, other_engine, world):
    """Two identifier files sent at once: the last one replaces the first, row and file."""
    arc = world.communities["arc"]
    folder = ctx.settings.security_folder
    folder.mkdir(parents=True)
    (folder / "first.csv").write_bytes(b"A;B\n")

    with other_engine.connect() as connection:
        transaction = connection.begin()
        lock_community_row(connection, arc)
        connection.execute(
            insert(CommunitySecurity).values(
                community_id=arc, filename="first.csv", original_name="premier.csv"
            )
        )
        use_case = Background(
            lambda: settings.set_identifiers(
                ctx, actor(ctx, world, "emilie"), arc, "second.csv", b"C;D\n"
            )
        )
        assert use_case.is_waiting()
        transaction.commit()

    reply = use_case.reply()

    assert reply.ok, reply.text
    with ctx.sessions() as session:
        rows = session.scalars(select(CommunitySecurity)).all()
    assert [r.original_name for r in rows] == ["second.csv"]
    assert sorted(p.name for p in folder.iterdir()) == [rows[0].filename]
