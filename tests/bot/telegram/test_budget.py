"""The Telegram budget shared by replies and pushes (bot/telegram/budget.py), on a virtual clock:
every sleep is a timer of the clock, which jumps to the next one once every task waits."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest

from bot.telegram.budget import Kind, Limits, TelegramBudget

PUSH, REPLY = Kind.PUSH, Kind.REPLY


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + seconds, next(self._order), future))
        await future

    async def run(self, *coroutines) -> list:
        """Run the coroutines together; when all of them wait, jump to the next timer."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(t.done() for t in tasks):
            for _ in range(50):  # let every task run until it sleeps or ends
                await asyncio.sleep(0)
            if self._timers and not all(t.done() for t in tasks):
                deadline, _, future = heapq.heappop(self._timers)
                self.now = max(self.now, deadline)
                future.set_result(None)
        return [t.result() for t in tasks]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def budget_on(clock: VirtualClock, **limits) -> TelegramBudget:
    return TelegramBudget(Limits(**limits), clock=clock, sleep=clock.sleep)


async def sends(clock, budget, stamps, chat, kind, count, gap: float = 0.0, start: float = 0.0):
    """`count` messages of `kind` to `chat`, the first at `start`, then one every `gap` s
    at the earliest; each stamped (chat, kind, time) when its slot is given."""
    if start:
        await clock.sleep(start)
    for _ in range(count):
        await budget.acquire(chat, kind)
        budget.done(chat)  # Telegram answered at once
        stamps.append((chat, kind, clock.now))
        if gap:
            await clock.sleep(gap)


def most_in_window(times: list[float], period: float) -> int:
    return max((sum(1 for t in times if first <= t < first + period) for first in times), default=0)


@pytest.mark.asyncio
async def test_pushes_keep_a_second_per_chat_and_replies_are_not_paced_per_chat(clock):
    budget = budget_on(clock)
    stamps: list = []
    await clock.run(sends(clock, budget, stamps, "42", PUSH, 4))
    pushes = [t for _, _, t in stamps]
    assert [round(b - a, 3) for a, b in itertools.pairwise(pushes)] == [1.1, 1.1, 1.1]
    stamps.clear()
    start = clock.now
    await clock.run(sends(clock, budget, stamps, "43", REPLY, 4))
    assert [t - start for _, _, t in stamps] == [0.0, 0.0, 0.0, 0.0]  # a person's own replies
    assert budget.delayed == {REPLY: 0, PUSH: 3}
    # a push to that chat keeps its distance from the replies sent there
    await clock.run(sends(clock, budget, stamps, "43", PUSH, 1))
    assert stamps[-1][2] - start == pytest.approx(1.1)


@pytest.mark.asyncio
async def test_overall_limit_counts_both_classes(clock):
    budget = budget_on(clock)
    stamps: list = []
    pushes = [sends(clock, budget, stamps, str(1000 + i), PUSH, 1) for i in range(60)]
    replies = [sends(clock, budget, stamps, str(5000 + i), REPLY, 1) for i in range(60)]
    await clock.run(*pushes, *replies)
    everything = [t for _, _, t in stamps]
    assert len(everything) == 120
    assert most_in_window(everything, 1.0) <= 28  # under Telegram's 30 a second, together
    pushed = [t for _, kind, t in stamps if kind is PUSH]
    assert most_in_window(pushed, 1.0) <= 21  # the rest of each second is kept for replies
    assert clock.now >= 4.0  # 120 messages at 28 a second at most


@pytest.mark.asyncio
async def test_replies_go_before_pushes_when_the_budget_is_short(clock):
    budget = budget_on(clock, overall=5, overall_pushes=5)
    stamps: list = []
    # 20 pushes are queued to 20 chats; two replies come in while the first second is full
    pushes = [sends(clock, budget, stamps, str(100 + i), PUSH, 1) for i in range(20)]
    replies = [sends(clock, budget, stamps, str(900 + i), REPLY, 1, start=0.5) for i in range(2)]
    await clock.run(*pushes, *replies)
    order = [kind for _, kind, _ in stamps]
    assert order[:5] == [PUSH] * 5  # the first second's slots, taken before the replies came
    assert order[5:7] == [REPLY, REPLY]  # the next slots freed go to the replies
    reply_times = [t for _, kind, t in stamps if kind is REPLY]
    assert reply_times == [pytest.approx(1.0), pytest.approx(1.0)]
    assert most_in_window([t for _, _, t in stamps], 1.0) <= 5


@pytest.mark.asyncio
async def test_twenty_a_minute_per_group_chat_for_both_classes(clock):
    budget = budget_on(clock)
    stamps: list = []
    await clock.run(
        sends(clock, budget, stamps, "-100777", PUSH, 20),
        sends(clock, budget, stamps, "-100777", REPLY, 4, gap=2.0),
    )
    group = sorted(t for _, _, t in stamps)
    assert len(group) == 24
    assert most_in_window(group, 60.0) <= 19  # Telegram: 20 a minute per group
    pushed = [t for _, kind, t in stamps if kind is PUSH]
    assert most_in_window(pushed, 60.0) <= 15  # the rest kept for the people there
    assert max(pushed) >= 60.0
    replies = [t for _, kind, t in stamps if kind is REPLY]
    # the replies (every 2 s) were never delayed: the pushes left them room
    assert replies == [pytest.approx(2.0 * i) for i in range(4)]
    # once the group's minute is spent, a reply waits too (Telegram would answer 429)
    stamps.clear()
    start = clock.now
    await clock.run(sends(clock, budget, stamps, "-100888", REPLY, 21))
    assert [t - start for _, _, t in stamps][:19] == [0.0] * 19
    assert stamps[19][2] - start == pytest.approx(60.0)
    # a private chat is not limited per minute
    await clock.run(sends(clock, budget, stamps, "77", REPLY, 25))
    assert len([1 for chat, _, _ in stamps if chat == "77"]) == 25


@pytest.mark.asyncio
async def test_a_429_holds_the_chat_and_the_pushes(clock):
    budget = budget_on(clock)
    stamps: list = []
    budget.flood("42", 7)  # Telegram: retry after 7 s, for a message to chat 42
    await clock.run(
        sends(clock, budget, stamps, "42", REPLY, 1),
        sends(clock, budget, stamps, "43", PUSH, 1),
        sends(clock, budget, stamps, "44", REPLY, 1),
    )
    times = {chat: t for chat, _, t in stamps}
    assert times["44"] == 0.0  # another person's reply is not held
    assert times["42"] == pytest.approx(7.0)  # nothing more to that chat before retry_after
    assert times["43"] == pytest.approx(7.0)  # pushes stop everywhere: which limit is unknown
    assert budget.delay("42", REPLY) == 0.0


@pytest.mark.asyncio
async def test_a_429_holds_no_longer_than_a_minute(clock):
    budget = budget_on(clock)
    budget.flood("42", 3600)  # the notifier reschedules that delivery itself
    assert budget.delay("42", REPLY) == pytest.approx(60.0)
    assert budget.delay("43", PUSH) == pytest.approx(60.0)
    assert budget.delay("43", REPLY) == 0.0


@pytest.mark.asyncio
async def test_a_message_counts_until_a_second_after_telegram_answered(clock):
    budget = budget_on(clock, overall=3, overall_pushes=3)
    for chat in ("1", "2", "3"):
        await budget.acquire(chat, REPLY)  # three calls in flight, a slow connection
    clock.now = 5.0
    assert budget.delay("4", REPLY) > 0  # still in flight: Telegram may count them now
    budget.done("1")
    assert budget.delay("4", REPLY) == pytest.approx(1.0)  # a second after the answer
    clock.now = 6.0
    assert budget.delay("4", REPLY) == 0.0
    budget.done("9")  # a chat without a slot taken (pacing off): nothing to do
