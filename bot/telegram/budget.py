"""One Telegram sending budget per process, shared by the replies and the pushes.

Telegram counts every message a bot sends, whoever in the bot sends it: about 30 a second
overall, 20 a minute per group, about one a second per chat (short bursts are tolerated, bulk
is not). The front's replies (bot/telegram/front.py) and the notifier's pushes
(bot/telegram/transport.py, through bot/notifier.RateLimiter) each kept within those limits on
their own could together exceed them; so both take their slots here, from one instance made by
the front.

Two classes, because a person waits for a reply and nobody waits for a given push:

- a **reply** (to a person's own command or press) is never delayed by per-chat pacing: only by
  the overall and group windows, which are Telegram's hard limits, or by a 429 on its chat;
- a **push** keeps about one message a second per chat (counting the replies sent there), may
  use only part of each window (the rest is kept for replies), yields to a reply waiting for
  the overall window, and stops for a while after any 429.

Windows are sliding (Telegram counts arrivals in any second, not in clock seconds), with a
margin under the published figures. A message counts from the moment its slot is taken until
a window's length after its call was answered (`done`): Telegram saw it somewhere in between,
so a message that took long to arrive (a connection being opened, a loaded machine) cannot let
the next ones in early.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: Below this a wait is rounding noise.
EPSILON = 1e-6
#: How long a push steps aside when a reply is waiting for the same overall slot.
YIELD_SECONDS = 0.002
#: How often a full window is looked at again while its messages are still in flight.
IN_FLIGHT_POLL = 0.01
#: A message in flight longer than this is taken as answered (a caller that forgot `done`
#: must not hold the budget for ever; Bot API calls time out well before).
IN_FLIGHT_MAX = 60.0
#: The longest a 429 holds a chat or the pushes here: the front gives up on a reply that would
#: wait longer (front.MAX_RETRY_WAIT), and the notifier reschedules the delivery itself with
#: Telegram's full retry_after.
MAX_HOLD_SECONDS = 60.0


class Kind(enum.Enum):
    REPLY = "reply"
    PUSH = "push"


@dataclass(frozen=True)
class Limits:
    """Telegram's published limits with a margin; `*_pushes`: the share pushes may use."""

    overall: int = 28  # a second, replies and pushes together (Telegram: 30)
    overall_pushes: int = 21  # the other 7 a second are kept for replies
    group: int = 19  # a minute per group chat, both classes (Telegram: 20)
    group_pushes: int = 15
    chat_interval: float = 1.1  # a push after the previous message to its chat (Telegram: 1 s)
    second: float = 1.0
    minute: float = 60.0


def is_group(chat_id: str) -> bool:
    """Group, supergroup and channel ids are negative on the Bot API."""
    return chat_id.startswith("-")


@dataclass
class Sent:
    """A message in a window: when its slot was taken, then when its call was answered."""

    at: float
    kind: Kind
    in_flight: bool = True


Window = list[Sent]


class TelegramBudget:
    """Slots for messages to Telegram, taken right before each Bot API call that sends one."""

    def __init__(
        self,
        limits: Limits = Limits(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_wait: Callable[[Kind, float], None] | None = None,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self._overall: Window = []
        self._groups: dict[str, Window] = {}
        #: The messages of each chat whose call has not been answered yet, oldest first.
        self._in_flight: dict[str, deque[Sent]] = {}
        #: The last message to each chat (pushes keep their distance from it).
        self._last: dict[str, float] = {}
        #: Chats Telegram answered 429 for, until when.
        self._held: dict[str, float] = {}
        self._pushes_held_until = float("-inf")
        #: Replies waiting for the overall window: pushes let them go first.
        self._replies_waiting = 0
        #: Per class: how many slots were given after a wait.
        self.delayed: dict[Kind, int] = dict.fromkeys(Kind, 0)
        #: Told of each slot given after a wait (the metrics: an operator sees replies queue).
        self.on_wait = on_wait

    # --- what Telegram said --------------------------------------------------------------

    def flood(self, chat_id: str | int, seconds: float) -> None:
        """Telegram answered 429 with retry_after `seconds` for a message to `chat_id`: nothing
        more to that chat until then, and no push anywhere (which limit was hit, the chat's or
        the bot's, Telegram does not say)."""
        until = self.clock() + max(0.0, min(float(seconds), MAX_HOLD_SECONDS))
        chat = str(chat_id)
        self._held[chat] = max(self._held.get(chat, until), until)
        self._pushes_held_until = max(self._pushes_held_until, until)

    def done(self, chat_id: str | int) -> None:
        """The call of the oldest message in flight to `chat_id` was answered (or failed): it
        now counts until a window's length from here."""
        chat = str(chat_id)
        flying = self._in_flight.get(chat)
        if not flying:
            return  # no slot taken (pacing turned off in a test)
        sent = flying.popleft()
        if not flying:
            del self._in_flight[chat]
        sent.at, sent.in_flight = self.clock(), False
        self._last[chat] = max(self._last.get(chat, sent.at), sent.at)

    # --- slots -----------------------------------------------------------------------------

    async def acquire(self, chat_id: str | int, kind: Kind) -> None:
        """Wait until a message of this class may go to `chat_id`, and count it as sent."""
        chat = str(chat_id)
        waiting_for_overall = False
        asked, slept = self.clock(), False
        try:
            while True:
                wait, overall = self._delay(chat, kind)
                if kind is Kind.REPLY and overall > EPSILON and not waiting_for_overall:
                    waiting_for_overall = True
                    self._replies_waiting += 1
                if kind is Kind.PUSH and wait <= EPSILON and self._replies_waiting:
                    wait = YIELD_SECONDS  # the free slot is a waiting reply's
                if wait <= EPSILON:
                    self._take(chat, kind)
                    if slept:
                        self.delayed[kind] += 1
                        waited = self.clock() - asked
                        if self.on_wait is not None:
                            self.on_wait(kind, waited)
                    return
                await self.sleep(wait)
                slept = True
        finally:
            if waiting_for_overall:
                self._replies_waiting -= 1

    def delay(self, chat_id: str | int, kind: Kind) -> float:
        """Seconds before a message of this class may go to `chat_id` (0: now)."""
        return self._delay(str(chat_id), kind)[0]

    def _delay(self, chat: str, kind: Kind) -> tuple[float, float]:
        """(the wait, the part of it due to the overall window)."""
        now = self.clock()
        limits = self.limits
        push = kind is Kind.PUSH
        self._prune(now)
        overall = _window_wait(
            self._overall, now, limits.second, limits.overall,
            limits.overall_pushes if push else None,
        )  # fmt: skip
        waits = [overall, self._held.get(chat, now) - now]
        group = self._groups.get(chat)
        if group is not None:
            waits.append(_window_wait(group, now, limits.minute, limits.group,
                                      limits.group_pushes if push else None))  # fmt: skip
        if push:
            waits.append(self._pushes_held_until - now)
            last = self._last.get(chat)
            if last is not None:
                waits.append(last + limits.chat_interval - now)
        return max(0.0, *waits), overall

    def _take(self, chat: str, kind: Kind) -> None:
        now = self.clock()
        sent = Sent(now, kind)
        self._overall.append(sent)
        if is_group(chat):
            self._groups.setdefault(chat, []).append(sent)
        self._in_flight.setdefault(chat, deque()).append(sent)
        self._last[chat] = now

    def _prune(self, now: float) -> None:
        limits = self.limits
        _expire(self._overall, now, limits.second)
        for chat in [c for c, w in self._groups.items() if not _expire(w, now, limits.minute)]:
            del self._groups[chat]
        if len(self._last) > 1000:  # chats not written to lately pace nothing any more
            self._last = {c: t for c, t in self._last.items() if now - t < limits.chat_interval}
        if len(self._in_flight) > 1000:  # slots taken by callers that never said `done`
            for chat in [c for c, f in self._in_flight.items() if now - f[-1].at >= IN_FLIGHT_MAX]:
                del self._in_flight[chat]
        if self._held and min(self._held.values()) <= now:
            self._held = {c: t for c, t in self._held.items() if t > now}


def _expire(window: Window, now: float, period: float) -> int:
    """Drop what was answered more than `period` ago; returns how many remain."""
    window[:] = [
        s for s in window if now - s.at < (IN_FLIGHT_MAX if s.in_flight else period - EPSILON)
    ]
    return len(window)


def _until_fits(window: Window, now: float, period: float, limit: int) -> float:
    """Seconds until fewer than `limit` messages are in the window."""
    excess = len(window) - limit + 1
    if excess <= 0:
        return 0.0
    leaving = sorted(s.at + period for s in window if not s.in_flight)
    if len(leaving) < excess:
        return IN_FLIGHT_POLL  # until more of those in flight are answered
    return leaving[excess - 1] - now


def _window_wait(
    window: Window, now: float, period: float, total: int, pushes: int | None
) -> float:
    """Seconds until one more message fits in the window: fewer than `total` in it, and, for a
    push (`pushes` given), fewer than `pushes` pushes."""
    wait = _until_fits(window, now, period, total)
    if pushes is not None:
        pushed = [s for s in window if s.kind is Kind.PUSH]
        wait = max(wait, _until_fits(pushed, now, period, pushes))
    return wait
