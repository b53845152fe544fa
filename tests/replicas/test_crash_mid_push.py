"""`referent-bot run` SIGKILLed while pushing 12 requests, then restarted (issue 18, point 8).

Two sends are in flight when the process dies: the fake Bot API holds their answers, one
delivered, one not. After the restart every request reaches each of its deciders at least once;
only the requests in flight are sent again (marked "peut-être déjà reçu"); a request decided
on the platform while the bot was down is not pushed at all. On SQLite and the server databases.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.bot_models import ChatBinding, ChatIdentity, Delivery, Notification
from storage.clock import now
from storage.codes import MembershipStatus
from storage.engine import make_engine
from storage.models import CommunityUser
from tests.bot.slack.fake_slack_api import FakeSlack
from tests.bot.telegram.fake_bot_api import FakeBotApi
from tests.replicas.processes import Replica, cli
from tests.replicas.test_two_replicas import until
from tests.support.databases import throwaway_database
from tests.support.notifications import ARC_GROUP, EMILIE_TG, new_pending
from tests.support.world import build_world

pytestmark = pytest.mark.asyncio
DECIDERS = (EMILIE_TG, ARC_GROUP)
REPEAT = "(peut-être déjà reçu : l'envoi précédent a été interrompu)"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        return
    with throwaway_database(request.param, "rb_crash") as url:
        yield url


def link_telegram_deciders(engine, world) -> None:
    """Emilie on Telegram and a Telegram group bound to Arc France: two chats pushed in
    parallel, so that two sends are in flight at once."""
    with Session(engine) as session, session.begin():
        session.add_all([
            ChatIdentity(platform="telegram", team_id="", external_id=EMILIE_TG,
                         user_id=world.users["emilie"], active=True, linked_at=now()),
            ChatBinding(platform="telegram", team_id="", chat_id=ARC_GROUP,
                        community_id=world.communities["arc"], active=True, created_at=now()),
        ])  # fmt: skip


async def test_a_bot_killed_mid_batch_pushes_every_request_at_least_once(tmp_path, database_url):
    assert "bot tables at revision" in cli(tmp_path, database_url, "db", "upgrade")
    engine = make_engine(database_url)
    world = build_world(engine)
    link_telegram_deciders(engine, world)
    for index in range(9):  # with the 3 already pending in Arc France: 12 requests
        new_pending(engine, world, f"Personne{chr(65 + index)}", "Martin")
    bot_api, slack = FakeBotApi(), FakeSlack()
    await bot_api.start()
    await slack.start()
    replica = Replica("crash", tmp_path, database_url)

    def pushes() -> list:
        return [c for c in bot_api.sent(None, "sendMessage") if c.text.startswith("🔔")]

    def delivered() -> Counter:
        """(chat, request line) of every push that reached a chat, whatever the bot was told."""
        return Counter((c.chat_id, c.text.split("\n")[1]) for c in pushes() if c.result)

    def states() -> Counter:
        with engine.connect() as connection:
            return Counter(connection.scalars(select(Delivery.state)))

    try:
        replica.start(bot_api, slack)
        await replica.ready()
        await until(lambda: len(pushes()) >= 4, "the first pushes", [replica])
        # The next two sends (one to each chat) stay unanswered: one was delivered, one not.
        bot_api.delay_next("sendMessage", 10, deliver=True)
        bot_api.delay_next("sendMessage", 10, deliver=False)
        await until(lambda: not bot_api.faults["sendMessage"], "two sends in flight", [replica])
        replica.kill()
        in_flight = pushes()[-2:]
        assert {c.chat_id for c in in_flight} == set(DECIDERS)
        assert [bool(c.result) for c in in_flight] == [True, False]
        before = delivered()

        with Session(engine) as session, session.begin():
            assert states()["sending"] == 2
            # A request nobody was pushed yet is approved on the web admin while the bot is down.
            pushed_to = select(Delivery.notification_id)
            started = pushed_to.where(Delivery.state != "pending")
            decided_id, decided_membership = session.execute(
                select(Notification.id, Notification.membership_id)
                .where(Notification.id.in_(pushed_to), Notification.id.not_in(started))
                .order_by(Notification.id)
                .limit(1)
            ).one()
            session.execute(
                update(CommunityUser)
                .where(CommunityUser.id == decided_membership)
                .values(status=MembershipStatus.MEMBER, accepted_date=now())
            )
            # The dead process's leases run out (60 s), without the test waiting for them.
            session.execute(
                update(Delivery)
                .where(Delivery.claimed_until.is_not(None))
                .values(claimed_until=now() - dt.timedelta(seconds=1))
            )

        replica.start(bot_api, slack)
        await replica.ready()
        await until(
            lambda: states() == {"sent": 11 * 2, "cancelled": 2},
            "every request but the decided one pushed to both chats",
            [replica],
            timeout=60,
        )
        await asyncio.sleep(1.5)  # room for a wrong extra copy to show up
        assert await replica.stop() == 0, replica.output()
    finally:
        if replica.process is not None and replica.process.poll() is None:
            replica.kill()
        await bot_api.stop()
        await slack.stop()

    counts = delivered()
    requests = {request for _, request in counts}
    assert len(requests) == 11
    # Every request reached every decider at least once.
    assert set(counts) == {(chat, request) for chat in DECIDERS for request in requests}
    # Repeats only for the sends in flight, marked; nothing that was known delivered again.
    repeats = {key: count for key, count in counts.items() if count > 1}
    delivered_in_flight = (in_flight[0].chat_id, in_flight[0].text.split("\n")[1])
    assert repeats == {delivered_in_flight: 2}, counts
    marked = [(c.chat_id, c.text.split("\n")[1]) for c in pushes() if REPEAT in c.text]
    assert sorted(marked) == sorted(
        (c.chat_id, c.text.split("\n")[1]) for c in in_flight
    )  # the lost one arrived once, marked too
    for key, count in before.items():
        if key != delivered_in_flight:
            assert counts[key] == count == 1
    # The decided request was never pushed.
    with engine.connect() as connection:
        cancelled = connection.scalars(
            select(Delivery.notification_id).where(Delivery.state == "cancelled")
        ).all()
    assert cancelled == [decided_id, decided_id]
    assert "notifier round failed" not in replica.output()
