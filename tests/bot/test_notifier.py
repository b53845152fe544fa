"""Pending-member push: the watcher, the outbox and the notifier, on the three databases.

The chat fronts' transports are replaced by recording fakes here; what a real front does with
a Reply is tested with each front.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import event, select, update

from bot.notifier import Notifier, RateLimiter
from handlers.community import pending
from handlers.core.context import Context
from handlers.outbox import claims, watcher
from storage import clock
from storage.bot_models import ChatIdentity, Delivery, Notification, Preference, WatcherState
from storage.codes import MembershipStatus
from storage.engine import make_sessionmaker
from storage.models import CommunityUser
from tests.handlers.helpers import actor
from tests.support.notifications import (
    ARC_GROUP,
    EMILIE_TG,
    JEANMARC_SLACK,
    FakeApp,
    FakeTransport,
    NoPacing,
    link_deciders,
    new_pending,
    retry,
)


@pytest.fixture
def ctx(ctx):
    """The suite's context with the daily reminders far off (they are tested apart)."""
    settings = dataclasses.replace(ctx.settings, reminder_days=365, operators_reminder_days=365)
    return dataclasses.replace(ctx, settings=settings)


@pytest.fixture
def linked(engine, world):
    link_deciders(engine, world)
    return world


@pytest.fixture
def transports():
    return {"telegram": FakeTransport("telegram"), "slack": FakeTransport("slack")}


def run(ctx, transports, rounds: int = 1, notifier: Notifier | None = None) -> Notifier:
    notifier = notifier or Notifier(FakeApp(ctx, transports), interval=0.01)
    notifier.limiter = NoPacing()  # pacing is tested apart

    async def go():
        for _ in range(rounds):
            await notifier.run_once()

    asyncio.run(go())
    return notifier


def texts(transport: FakeTransport) -> list[tuple[str, str]]:
    return [(chat, reply.text) for chat, _, reply in transport.sent]


def test_a_request_written_by_the_web_admin_reaches_every_decider_once(ctx, linked, transports):
    membership_id = new_pending(ctx.sessions.kw["bind"], linked)
    run(ctx, transports, rounds=3)
    telegram, slack = transports["telegram"], transports["slack"]
    # The world already had 3 pending requests in Arc France and 1 in GSK (no linked decider):
    # each Arc request reaches Emilie, Jean-Marc and the bound group, once.
    chats = sorted(chat for chat, _ in texts(telegram))
    assert chats == sorted([EMILIE_TG, ARC_GROUP] * 4)
    assert sorted(chat for chat, _ in texts(slack)) == [JEANMARC_SLACK] * 4
    adele = [text for chat, text in texts(telegram) if "Adèle D." in text]
    assert len(adele) == 2
    assert adele[0].startswith("🔔 **Nouvelle demande d'adhésion : Arc France**")
    assert "• Adèle D. — arcfrance.fr ✓ domaine — demandé le 17/01/2024" in adele[0]
    reply = next(r for chat, _, r in telegram.sent if "Adèle D." in r.text)
    assert [(b.action, b.ref) for b in reply.all_buttons] == [
        ("approve", str(membership_id)),
        ("refuse", str(membership_id)),
    ]
    # A restart (new notifier, same database) sends nothing again.
    run(ctx, transports, rounds=2)
    assert len(telegram.sent) == 8 and len(slack.sent) == 4


def test_a_decision_in_one_chat_edits_every_copy(ctx, linked, transports):
    membership_id = new_pending(ctx.sessions.kw["bind"], linked)
    run(ctx, transports)
    emilie = actor(ctx, linked, "emilie", front="telegram")
    assert pending.approve(ctx, emilie, membership_id).ok
    run(ctx, transports)
    edited = [
        (chat, reply.text)
        for t in transports.values()
        for chat, _, reply in t.edits
        if "Adèle D." in reply.text
    ]
    assert sorted(chat for chat, _ in edited) == sorted([EMILIE_TG, ARC_GROUP, JEANMARC_SLACK])
    for _, text in edited:
        assert text.startswith("✅ Adèle D. : demande acceptée dans Arc France par Emilie F.")
        assert "le 17/01/2024 à 10:02" in text
    slack_ref = next(ref for chat, ref, r in transports["slack"].sent if "Adèle D." in r.text)
    assert any(ref == slack_ref for _, ref, _ in transports["slack"].edits)


def test_a_decision_on_the_web_admin_is_noticed_too(ctx, linked, transports):
    membership_id = new_pending(ctx.sessions.kw["bind"], linked)
    run(ctx, transports)
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(CommunityUser)
            .where(CommunityUser.id == membership_id)
            .values(status=MembershipStatus.REFUSED, refused_date=clock.now(), admin_id=None)
        )
    run(ctx, transports)
    edits = [r.text for t in transports.values() for _, _, r in t.edits if "Adèle D." in r.text]
    assert len(edits) == 3
    assert (
        edits[0]
        == "❌ Adèle D. : demande refusée pour Arc France le 17/01/2024 à 10:02 (hors du bot)."
    )


def test_decided_before_sending_is_never_sent(ctx, linked, transports):
    membership_id = new_pending(ctx.sessions.kw["bind"], linked)
    assert watcher.scan_new_pending(ctx) == 5  # 3 + 1 already pending, and Adèle
    pending.approve(ctx, actor(ctx, linked, "jeanmarc"), membership_id)
    run(ctx, transports)
    assert not any("Adèle D." in r.text for t in transports.values() for _, _, r in t.sent)
    states = {
        row[3] for row in claims.delivery_states(ctx) if row[0] == _notification(ctx, membership_id)
    }
    assert states == {"cancelled"}


def test_429_is_retried_after_retry_after_and_403_marks_the_recipient_inactive(
    ctx, linked, transports
):
    new_pending(ctx.sessions.kw["bind"], linked)
    telegram = transports["telegram"]
    telegram.unreachable.add(EMILIE_TG)
    telegram.failures.append(retry(30))
    run(ctx, transports)
    with ctx.sessions() as session:
        emilie = session.scalars(
            select(ChatIdentity).where(ChatIdentity.external_id == EMILIE_TG)
        ).one()
        waiting = session.scalars(select(Delivery).where(Delivery.state == "pending")).all()
    assert emilie.active is False
    assert len(waiting) == 1 and waiting[0].chat_id == ARC_GROUP
    assert waiting[0].next_attempt_at == clock.now() + dt.timedelta(seconds=30)
    assert "429" in waiting[0].last_error
    clock.set_now(clock.now() + dt.timedelta(seconds=31))
    run(ctx, transports)
    assert sorted(chat for chat, _ in texts(telegram)) == [ARC_GROUP] * 4
    # Emilie no longer receives anything; the others still do.
    new_pending(ctx.sessions.kw["bind"], linked, "Zoé", "Martin")
    run(ctx, transports)
    assert [chat for chat, text in texts(telegram) if "Zoé M." in text] == [ARC_GROUP]


def test_nobody_reachable_tells_the_operators(ctx, linked, transports):
    membership_id = new_pending(ctx.sessions.kw["bind"], linked)
    transports["telegram"].unreachable.update({EMILIE_TG, ARC_GROUP})
    transports["slack"].unreachable.add(JEANMARC_SLACK)
    run(ctx, transports)
    with ctx.sessions() as session:
        alerts = session.scalars(
            select(Notification).where(Notification.kind == "unreachable")
        ).all()
    assert [a.dedup_key for a in alerts if a.dedup_key == str(_notification(ctx, membership_id))]


def test_push_off_and_quiet_hours(ctx, linked, transports):
    with ctx.sessions() as session, session.begin():
        session.add(Preference(user_id=linked.users["jeanmarc"], push_enabled=False))
        session.add(
            Preference(
                user_id=linked.users["emilie"],
                push_enabled=True,
                quiet_start=dt.time(9, 0),
                quiet_end=dt.time(11, 0),
            )
        )
    new_pending(ctx.sessions.kw["bind"], linked)
    run(ctx, transports)
    assert transports["slack"].sent == []
    assert {chat for chat, _ in texts(transports["telegram"])} == {ARC_GROUP}
    clock.set_now(clock.now().replace(hour=11, minute=0))
    run(ctx, transports)
    assert sum(1 for chat, _ in texts(transports["telegram"]) if chat == EMILIE_TG) == 4


def test_a_notifier_killed_mid_batch_loses_nothing_and_repeats_only_the_one_in_flight(
    ctx, linked, transports
):
    """Changed by issue 18 (at least once): the message in flight when the notifier died may
    have arrived or not, so it is sent again, marked as a possible repeat; nothing else twice."""
    new_pending(ctx.sessions.kw["bind"], linked)
    watcher.scan_new_pending(ctx)
    claimed = claims.claim_due(ctx, "dead-worker", limit=5)
    assert len(claimed) == 5
    # The dead worker sent the first message of its batch, then died before marking it.
    first = claimed[0]
    assert claims.start_sending(ctx, first.delivery_id, "dead-worker")
    asyncio.run(transports[first.platform].send(first.chat_id, first.team_id, first.reply))
    clock.set_now(clock.now() + claims.LEASE + dt.timedelta(seconds=1))
    notifier = Notifier(FakeApp(ctx, transports), interval=0.01)

    async def restart():
        await notifier.start()  # recovers what the dead worker left in `sending`
        await notifier.stop()

    asyncio.run(restart())
    run(ctx, transports)
    states = [row[3] for row in claims.delivery_states(ctx)]
    assert states == ["sent"] * 12  # 4 requests x 3 recipients
    received = [(chat, r.text) for t in transports.values() for chat, _, r in t.sent]
    assert len(received) == 13 and len(set(received)) == 13
    repeats = [(chat, text) for chat, text in received if "peut-être déjà reçu" in text]
    assert len(repeats) == 1 and repeats[0][0] == first.chat_id
    assert repeats[0][1].startswith(first.reply.text)  # the same request, with the note


@pytest.mark.parametrize("replicas", [2])
def test_two_replicas_send_nothing_twice(engine, ctx, linked, transports, replicas):
    if engine.dialect.name == "sqlite":
        pytest.skip(
            "on SQLite one process delivers (documented); replicas need PostgreSQL or MariaDB"
        )
    for index in range(20):
        new_pending(engine, linked, f"Personne{index}", "Test")
    shared = transports

    async def both():
        workers = []
        for _ in range(replicas):
            context = Context(sessions=make_sessionmaker(engine), settings=ctx.settings)
            notifier = Notifier(FakeApp(context, shared), interval=0.01, batch=5)
            notifier.limiter = NoPacing()
            workers.append(notifier)
        await asyncio.gather(*(w.run_once() for w in workers), *(w.run_once() for w in workers))

    asyncio.run(both())
    sent = [(chat, r.text) for t in shared.values() for chat, _, r in t.sent]
    assert len(sent) == len(set(sent))
    assert len(sent) == (20 + 3) * 3


def test_rate_limiter_paces_telegram_and_slack():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])

    async def sleep(seconds):
        now[0] += seconds

    limiter.sleep = sleep
    stamps: dict[str, list[float]] = {}

    async def send(platform: str, chat: str) -> None:
        await limiter.acquire(platform, chat)
        stamps.setdefault(f"{platform}:{chat}", []).append(now[0])

    async def go():
        for _ in range(3):
            await send("telegram", "42")
        for index in range(70):
            await send("telegram", str(1000 + index))
        for _ in range(25):
            await send("telegram", "-100999")
        for _ in range(3):
            await send("slack", "C1")

    asyncio.run(go())
    chat = stamps["telegram:42"]  # one message a second per chat (with a margin)
    assert all(
        1.0 <= later - earlier <= 1.2 for earlier, later in zip(chat, chat[1:], strict=False)
    )
    private = sorted(stamps[f"telegram:{1000 + i}"][0] for i in range(70))
    for first in private:  # never more than 30 a second overall
        assert sum(1 for s in private if first <= s < first + 1.0) <= 30
    assert private[-1] >= 2.0
    group = stamps["telegram:-100999"]
    assert len(group) == 25 and group[20] - group[0] >= 60.0  # 20 a minute per group
    assert 1.0 <= stamps["slack:C1"][1] - stamps["slack:C1"][0] <= 1.2  # one a second


def _notification(ctx, membership_id: int) -> int:
    with ctx.sessions() as session:
        return session.scalars(
            select(Notification.id).where(Notification.membership_id == membership_id)
        ).one()


def test_the_daily_reminders_are_checked_in_the_first_round_of_the_day_only(
    engine, ctx, linked, transports
):
    """Every round (~2 s) asked the database whether today's reminders were done: two
    transactions each, ~86,000 a day. Now the first round of the day asks, the others not."""
    asked: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if "bot_watcher_state" in statement and "reminders_last_day" in repr(parameters):
            asked.append(1)

    event.listen(engine, "before_cursor_execute", count)
    notifier = run(ctx, transports)
    assert len(asked) >= 2  # created if missing, then locked and read
    first = len(asked)
    run(ctx, transports, rounds=30, notifier=notifier)
    assert len(asked) == first
    clock.set_now(clock.now() + dt.timedelta(days=1))
    run(ctx, transports, notifier=notifier)
    again = len(asked)
    assert again >= first + 2  # the next day: asked again (the marker exists: read, written)
    run(ctx, transports, rounds=30, notifier=notifier)
    assert len(asked) == again  # once
    with ctx.sessions() as session:
        state = session.get(WatcherState, "reminders_last_day")
        assert state.value == clock.now().date().isoformat()
