"""The notifier when the Bot API or the database fails: 5xx storms, sends delivered but never
answered (recorded `unknown`, never sent twice, the daily reminder as the safety net), and the
database gone while a sent message is being recorded."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bot import notifier as notifier_module
from bot.notifier import Notifier
from handlers import pending
from storage import clock
from storage.bot_models import Delivery
from tests.faults.test_telegram_faults import TIMEOUT, front, front_through  # noqa: F401
from tests.handlers.helpers import actor
from tests.notifications.support import new_pending, notifier_for
from tests.telegram.conftest import EMILIE, JEANMARC, api, link

__all__ = ["api", "front", "front_through"]
pytestmark = pytest.mark.asyncio
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def pushes(api) -> Counter:
    """(chat, request) of every push that reached a chat, whatever the bot was told."""
    return Counter((c.chat_id, c.text.split("\n")[1]) for c in api.delivered() if "🔔" in c.text)


def states(ctx) -> Counter:
    with ctx.sessions() as session:
        return Counter(session.scalars(select(Delivery.state)))


async def rounds(notifier: Notifier, count: int, step=dt.timedelta(seconds=10)) -> None:
    for _ in range(count):
        await notifier.run_once()
        clock.set_now(clock.now() + step)


@SQLITE
async def test_a_storm_of_5xx_delays_but_loses_and_duplicates_nothing(api, front, ctx, world):
    await link(api, ctx, EMILIE)
    await link(api, ctx, JEANMARC)
    new_pending(front.app.runtime.engine, world)  # 4 requests in Arc France, 2 deciders
    for status in (500, 502, 500, 502, 500, 502, 500):
        api.fail_next("sendMessage", status)
    notifier = notifier_for(front)
    await notifier.run_once()
    assert states(ctx) == Counter({"sent": 1, "pending": 7})  # refused: not marked sent
    with ctx.sessions() as session:
        waits = session.scalars(select(Delivery.next_attempt_at).where(Delivery.state == "pending"))
        assert all(when > clock.now() for when in waits)  # each waits out its backoff
    await rounds(notifier, 8)
    sent = pushes(api)
    assert len(sent) == 8 and set(sent.values()) == {1}, sent
    assert states(ctx) == Counter({"sent": 8})
    with ctx.sessions() as session:
        retried = session.scalars(select(Delivery).where(Delivery.attempts > 1)).all()
    assert retried and all(
        "Internal Server Error" in d.last_error or "Bad Gateway" in d.last_error for d in retried
    )


@SQLITE
@pytest.mark.parametrize("fault", ["late", "reset"])
async def test_a_push_delivered_but_unanswered_is_never_sent_again(api, front, ctx, world, fault):
    """Telegram has no idempotency key: a send that may have arrived is recorded `unknown` and
    never repeated, so no chat gets two copies with decision buttons for one request."""
    await link(api, ctx, EMILIE)
    if fault == "late":
        api.delay_next("sendMessage", TIMEOUT * 3)
    else:
        api.reset_next("sendMessage")
    notifier = notifier_for(front)
    await rounds(notifier, 6, step=dt.timedelta(minutes=10))
    assert len(api.sent(EMILIE["id"])) == 1 + 3  # the link reply, then one call per request
    assert set(pushes(api).values()) == {1} and len(pushes(api)) == 3
    assert states(ctx) == Counter({"sent": 2, "unknown": 1})
    with ctx.sessions() as session:
        unknown = session.scalars(select(Delivery).where(Delivery.state == "unknown")).one()
    assert unknown.message_ref is None
    assert unknown.last_error.startswith("may have been delivered; not sent again")


@SQLITE
async def test_a_push_lost_for_good_is_caught_by_the_daily_reminder(api, front, ctx, world):
    """The price of at most once: a send that never arrived is not repeated either. The
    request stays in /attente, and the daily reminder names it to the deciders."""
    await link(api, ctx, EMILIE)
    api.reset_next("sendMessage", deliver=False)
    assert ctx.settings.reminder_days == 3
    notifier = notifier_for(front)
    await notifier.run_once()
    assert len(pushes(api)) == 2  # three requests, one push lost
    clock.set_now(clock.now() + dt.timedelta(days=1))
    await notifier.run_once()
    [reminder] = [c for c in api.delivered(EMILIE["id"]) if c.text.startswith("⏰")]
    assert "Demandes en attente depuis plus de 3 jours" in reminder.text
    assert "Arc France : 3" in reminder.text
    assert len(pushes(api)) == 2  # and still no second copy of any push


@pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True)
async def test_database_gone_while_recording_a_sent_push(
    api, front_through, proxied, world, monkeypatch
):
    """The push went out, then the database vanished before it was marked sent: the notifier
    keeps trying to record it, so that the decision still edits that message, and never sends
    it again."""
    monkeypatch.setattr(notifier_module, "RECORD_RETRY", 0.2)
    await link(api, proxied.direct, EMILIE)
    notifier = notifier_for(front_through)
    proxied.proxy.cut_when(b"message_ref=", then_down=True)

    def back_after_a_while() -> None:  # the server restarts half a second after the cut
        proxied.proxy.wait_fired()
        time.sleep(0.5)
        proxied.proxy.up()

    back = threading.Thread(target=back_after_a_while)
    back.start()
    await rounds(notifier, 3)
    back.join()
    assert proxied.proxy.fired == "dropped"
    assert states(proxied.direct) == Counter({"sent": 3})
    assert set(pushes(api).values()) == {1} and len(pushes(api)) == 3
    pierre = world.memberships[("arc", "pierre")]
    assert pending.approve(proxied.direct, actor(proxied.direct, world, "jeanmarc"), pierre).ok
    await notifier.run_once()
    edits = [c for c in api.sent(EMILIE["id"], "editMessageText") if "Pierre L." in c.text]
    assert [e.text.split(" le ")[0] for e in edits] == [
        "✅ Pierre L. : demande acceptée dans Arc France par Jean-Marc M."
    ]
