"""The database restarted or unreachable in the middle of a decision, on the use-case level.

PostgreSQL and MariaDB sit behind a TCP proxy cut at a chosen moment: in the middle of the
transaction (after the UPDATE, before the audit row), with the COMMIT dropped on its way, or
with the COMMIT applied and its answer lost. SQLite: locked by another writer, or its file gone.
Whatever happens, the database holds the whole decision (status, dates, admin_id, audit row,
e-mail row) or none of it, the person reads what happened, and pressing again decides once.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import sqlite3
import time

import pytest
from sqlalchemy.engine import make_url

from handlers.community import members, pending, settings
from handlers.core.context import Context
from storage import engine as storage_engine
from storage.codes import MembershipStatus
from storage.engine import make_engine, make_sessionmaker
from tests.faults.conftest import decision_rows
from tests.handlers.helpers import actor, audit_entries, community, snapshot

SERVERS = pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
ACCEPTED = (MembershipStatus.MEMBER, True, False, 1, 1)  # status, dates, audit, e-mail
UNTOUCHED = (MembershipStatus.PENDING, None, False, False, 0, 0)
UNAVAILABLE = "La base de données est momentanément indisponible : rien n'a été modifié."


def accepted_by(world, person: str) -> tuple:
    status, dates_accepted, dates_refused, audits, emails = ACCEPTED
    return (status, world.users[person], dates_accepted, dates_refused, audits, emails)


@SERVERS
def test_connection_lost_mid_transaction_is_retried_and_decides_once(proxied, world):
    """Cut after the UPDATE, before the audit row: the server rolls the UPDATE back, the use
    case runs again on a fresh connection and decides, once."""
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    proxied.proxy.cut_when(b"INSERT INTO bot_audit")
    reply = pending.approve(proxied.ctx, emilie, pierre)
    assert proxied.proxy.fired == "dropped"
    assert reply.ok and "Pierre L." in reply.text and "accepté" in reply.text, reply.text
    assert decision_rows(proxied.direct, pierre) == accepted_by(world, "emilie")


@SERVERS
def test_database_gone_mid_decision_changes_nothing_and_pressing_again_works(proxied, world):
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    before = snapshot(proxied.direct)
    proxied.proxy.cut_when(b"INSERT INTO bot_audit", then_down=True)
    reply = pending.approve(proxied.ctx, emilie, pierre)
    assert proxied.proxy.fired == "dropped"
    assert not reply.ok and reply.text.startswith(UNAVAILABLE), reply.text
    assert snapshot(proxied.direct) == before  # not half: not even the status
    assert decision_rows(proxied.direct, pierre) == UNTOUCHED
    proxied.proxy.up()  # the server is back
    again = pending.approve(proxied.ctx, emilie, pierre)
    assert again.ok and "accepté" in again.text, again.text
    assert decision_rows(proxied.direct, pierre) == accepted_by(world, "emilie")


@SERVERS
def test_english_speaker_reads_it_in_english(proxied, world):
    staff = dataclasses.replace(actor(proxied.ctx, world, "operator", "telegram"), language="en")
    proxied.proxy.down()
    reply = pending.approve(proxied.ctx, staff, world.memberships[("arc", "pierre")])
    assert reply.text == (
        "The database is unavailable for a moment: nothing was changed. Please try again shortly."
    )


@SERVERS
def test_commit_applied_but_its_answer_lost_is_checked_not_repeated(proxied, world):
    """The COMMIT reached the server and was applied; the answer never came back. The use case
    runs again, which is the check: the guarded UPDATE finds the request decided, writes
    nothing, and the person is told it was done (by them, when)."""
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    proxied.proxy.cut_when(b"COMMIT", after=True)
    reply = pending.approve(proxied.ctx, emilie, pierre)
    assert proxied.proxy.fired == "swallowed"
    assert reply.text.startswith(
        "La connexion à la base de données a été coupée pendant l'enregistrement ; "
        "le bot a vérifié :\nDéjà traité : Pierre L. a été accepté(e) par Emilie F. le "
        "17/01/2024 à 10:02."
    ), reply.text
    assert reply.replaces_message  # the message's buttons give way to the outcome
    assert decision_rows(proxied.direct, pierre) == accepted_by(world, "emilie")  # once


@SERVERS
def test_commit_dropped_on_its_way_is_checked_and_done(proxied, world):
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    proxied.proxy.cut_when(b"COMMIT")
    reply = pending.refuse(proxied.ctx, emilie, pierre, "hors périmètre")
    assert proxied.proxy.fired == "dropped"
    assert reply.ok and "refusé" in reply.text, reply.text
    rows = decision_rows(proxied.direct, pierre)
    assert rows == (MembershipStatus.REFUSED, world.users["emilie"], False, True, 1, 1)


@SERVERS
@pytest.mark.parametrize("applied", [True, False], ids=["applied", "dropped"])
def test_commit_outcome_unknown_while_the_database_stays_down(proxied, world, applied):
    """The person is told the truth (cannot check), the database holds all or nothing, and
    pressing again once it is back decides exactly once, or says it was done."""
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    proxied.proxy.cut_when(b"COMMIT", after=applied, then_down=True)
    reply = pending.approve(proxied.ctx, emilie, pierre)
    assert proxied.proxy.fired == ("swallowed" if applied else "dropped")
    assert not reply.ok
    assert reply.text.startswith(
        "La connexion à la base de données a été coupée pendant l'enregistrement, et la base "
        "ne répond toujours pas"
    ), reply.text
    assert "une décision n'est jamais prise deux fois" in reply.text
    expected = accepted_by(world, "emilie") if applied else UNTOUCHED
    assert decision_rows(proxied.direct, pierre) == expected  # all or nothing
    proxied.proxy.up()
    again = pending.approve(proxied.ctx, emilie, pierre)
    if applied:
        assert not again.ok and again.text.startswith("Déjà traité : Pierre L."), again.text
    else:
        assert again.ok and "accepté" in again.text, again.text
    assert decision_rows(proxied.direct, pierre) == accepted_by(world, "emilie")


@SERVERS
def test_bulk_decision_with_its_commit_lost_decides_each_request_once(proxied, world):
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    arc = world.communities["arc"]
    ids = [world.memberships[("arc", p)] for p in ("pierre", "helene", "francois")]
    proxied.proxy.cut_when(b"COMMIT", after=True)
    reply = pending.confirm_bulk(proxied.ctx, emilie, "approve_all", arc, 3)
    assert proxied.proxy.fired == "swallowed"
    assert "le bot a vérifié" in reply.text and "3" in reply.text, reply.text
    for membership_id in ids:
        assert decision_rows(proxied.direct, membership_id) == accepted_by(world, "emilie")


@SERVERS
def test_a_status_change_and_a_removal_with_their_commit_lost_are_checked(proxied, world):
    """Guarded by the status the referent saw: the re-run finds it changed (by them) and
    says what it is now; the change is written once."""
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    marion = world.memberships[("arc", "marion")]
    member, moderator = int(MembershipStatus.MEMBER), int(MembershipStatus.MODERATOR)
    proxied.proxy.cut_when(b"COMMIT", after=True)
    reply = members.set_member_status(proxied.ctx, emilie, marion, moderator, member)
    assert proxied.proxy.fired == "swallowed"
    assert reply.text == (
        "La connexion à la base de données a été coupée pendant l'enregistrement ; le bot a "
        "vérifié :\nLe statut de Marion H. a changé entre-temps (maintenant : modérateur). "
        "Rien n'a été modifié."
    )
    proxied.proxy.cut_when(b"COMMIT", after=True)
    reply = members.remove_member(proxied.ctx, emilie, marion, moderator)
    assert proxied.proxy.fired == "swallowed"
    assert reply.text.endswith("Ce membre n'est plus dans la communauté. Rien n'a été modifié.")
    assert [e.action for e in audit_entries(proxied.direct)] == ["set_status", "remove"]


@SERVERS
def test_a_settings_change_whose_commit_is_unknown_is_not_repeated(proxied, world):
    """A use case not guarded by the state it read is never run twice: the person is told to
    check the history first, and the history holds the change once."""
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    arc = world.communities["arc"]
    proxied.proxy.cut_when(b"COMMIT", after=True)
    reply = settings.set_members_hidden(proxied.ctx, emilie, arc, True)
    assert proxied.proxy.fired == "swallowed"
    assert not reply.ok and "Vérifiez avec la commande historique" in reply.text, reply.text
    assert community(proxied.direct, arc).members_hidden
    assert [e.action for e in audit_entries(proxied.direct)] == ["members_hidden"]


@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)
def test_a_server_lost_in_the_network_fails_the_press_within_seconds(
    proxied, world, engine, monkeypatch
):
    """Packets lost on the way (no refusal, no answer: a listener whose queue is full drops
    the SYN): the connect timeout ends each attempt, so the person is told within seconds,
    not after the system's TCP timeout (minutes)."""
    monkeypatch.setattr(storage_engine, "CONNECT_TIMEOUT", 1)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    filler = socket.create_connection(hole.getsockname())  # the queue is now full
    url = make_url(proxied.proxy.url_for(engine)).set(port=hole.getsockname()[1])
    lost = make_engine(url.render_as_string(hide_password=False))
    ctx = Context(sessions=make_sessionmaker(lost), settings=proxied.ctx.settings)
    emilie = actor(proxied.ctx, world, "emilie", "telegram")
    started = time.monotonic()
    try:
        reply = pending.approve(ctx, emilie, world.memberships[("arc", "pierre")])
    finally:
        filler.close()
        hole.close()
        lost.dispose()
    assert time.monotonic() - started < 3 * 1 + 2  # three attempts of a second, and the waits
    assert not reply.ok and reply.text.startswith(UNAVAILABLE), reply.text
    assert decision_rows(proxied.direct, world.memberships[("arc", "pierre")]) == UNTOUCHED


# --- SQLite ----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sqlite_locked_by_another_writer(engine, ctx, world, tmp_path):
    """Another process holds the write lock past the busy timeout: a clear message at once
    (no second wait), nothing written; once the lock is gone, the press works, once."""
    impatient = make_engine(str(engine.url), connect_args={"timeout": 0.2})
    local = Context(sessions=make_sessionmaker(impatient), settings=ctx.settings)
    emilie = actor(local, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    before = snapshot(ctx)
    try:
        reply = pending.approve(local, emilie, pierre)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not reply.ok and reply.text.startswith(UNAVAILABLE), reply.text
    assert snapshot(ctx) == before
    assert pending.approve(local, emilie, pierre).ok
    assert decision_rows(ctx, pierre)[:5] == (MembershipStatus.MEMBER, world.users["emilie"],
                                              True, False, 1)  # fmt: skip
    impatient.dispose()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sqlite_file_unavailable(engine, ctx, world, tmp_path):
    """The database's folder is gone (unmounted volume): a clear message, then it works."""
    folder = tmp_path / "volume"
    folder.mkdir()
    engine.dispose()  # the last connection closed checkpoints the WAL into the file
    shutil.copyfile(engine.url.database, folder / "bot.sqlite3")
    moved = make_engine(f"sqlite:///{folder / 'bot.sqlite3'}")
    local = Context(sessions=make_sessionmaker(moved), settings=ctx.settings)
    emilie = actor(local, world, "emilie", "telegram")
    pierre = world.memberships[("arc", "pierre")]
    moved.dispose()
    folder.rename(tmp_path / "unmounted")
    reply = pending.approve(local, emilie, pierre)
    assert not reply.ok and reply.text.startswith(UNAVAILABLE), reply.text
    (tmp_path / "unmounted").rename(folder)
    assert pending.approve(local, emilie, pierre).ok
    assert decision_rows(local, pierre)[:5] == (MembershipStatus.MEMBER, world.users["emilie"],
                                                True, False, 1)  # fmt: skip
    moved.dispose()
