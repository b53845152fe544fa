"""Replies and pushes together, through the real front and the notifier's Telegram path, against
a fake Bot API that answers 429 as Telegram does when its limits are exceeded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.notifier import RateLimiter, RetryLater
from bot.runtime import App
from bot.telegram.budget import Kind
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.core.reply import Reply
from tests.bot.telegram.conftest import EMILIE, JEANMARC, link, telegram_config
from tests.bot.telegram.fake_bot_api import FakeBotApi, TelegramLimits

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
#: More than Telegram's 30 a second, all at once.
PUSH_CHATS = [str(300_000 + i) for i in range(70)]


@pytest_asyncio.fixture
async def limited() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(limits=TelegramLimits())
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def front(limited, engine, ctx, world) -> AsyncIterator[TelegramFront]:
    app = App(Runtime(telegram_config(limited), engine, ctx))
    telegram = TelegramFront(app, poll_timeout=0.2)
    await telegram.start()
    yield telegram
    await telegram.stop()
    app.close()


def pushes(front: TelegramFront, chats: list[str], paced: bool) -> list:
    """The notifier's sends (its RateLimiter, then the transport), one per chat."""
    limiter = RateLimiter(transports=front.app.transports)
    transport = front.app.transports["telegram"]

    async def push(number: int, chat: str) -> str:
        if paced:
            await limiter.acquire("telegram", chat)
        return await transport.send(chat, "", Reply(f"🔔 Demande {number}"))

    return [push(number, chat) for number, chat in enumerate(chats)]


async def test_replies_and_a_burst_of_pushes_stay_within_telegrams_limits(limited, front, ctx):
    await link(limited, ctx, EMILIE)
    await link(limited, ctx, JEANMARC)
    people = [EMILIE, JEANMARC]
    before = {p["id"]: len(limited.sent(p["id"])) for p in people}
    # three pushes go to Emilie's own chat too, while she is typing
    chats = [*PUSH_CHATS, "1001", "1001", "1001"]
    burst = asyncio.gather(*pushes(front, chats, paced=True), return_exceptions=True)
    asked: list[tuple[int, float]] = []
    started = time.monotonic()
    for turn in range(12):  # each person types /attente every second, during the burst
        person = people[turn % 2]
        limited.send_text(person, "/attente")
        asked.append((person["id"], time.monotonic()))
        await asyncio.sleep(0.5)
    refs = await asyncio.wait_for(burst, timeout=30)
    pushed = time.monotonic() - started
    for person in people:
        await limited.wait_for(
            lambda c, who=person["id"]: c.method == "sendMessage" and c.chat_id == str(who),
            count=before[person["id"]] + 6 + (3 if person is EMILIE else 0),
        )

    assert limited.too_many == []  # no 429 for anyone, replies and pushes together
    assert len(refs) == len(PUSH_CHATS) + 3 and all(isinstance(ref, str) for ref in refs)
    for chat in PUSH_CHATS:
        assert [c.text for c in limited.delivered(chat)] == [f"🔔 Demande {PUSH_CHATS.index(chat)}"]
    assert pushed >= 2.5  # 73 pushes at 21 a second at most
    lists = [
        c for p in people for c in limited.delivered(p["id"]) if "Demandes en attente" in c.text
    ]
    assert len(lists) == 12  # every /attente answered
    # a reply did not queue behind the burst: each came within a second of its command
    for (who, at), reply in zip(asked, sorted(lists, key=lambda c: c.at), strict=True):
        assert reply.chat_id == str(who) and reply.at - at < 1.0
    # the operator sees the pushes queue in the metrics (the first second's share went at once)
    registry = front.app.metrics.registry
    waits = registry.get_sample_value(
        "referent_bot_telegram_budget_wait_seconds_count", {"kind": "push"}
    )
    assert waits is not None and waits >= len(chats) - 21
    assert waits == front.budget.delayed[Kind.PUSH]


async def test_the_same_burst_without_the_budget_is_refused(limited, front):
    outcomes = await asyncio.gather(*pushes(front, PUSH_CHATS, paced=False),
                                    return_exceptions=True)  # fmt: skip
    refused = [o for o in outcomes if isinstance(o, RetryLater)]
    assert refused and len(refused) == len(limited.too_many)  # the fake enforces the limit
    assert {reason for _, reason in limited.too_many} == {"overall"}
    # the transport told the budget: no push for the retry_after Telegram gave
    assert front.budget.delay(PUSH_CHATS[0], Kind.PUSH) > 0.5
