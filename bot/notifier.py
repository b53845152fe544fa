"""The notifier: watches for pending members and delivers the outbox through the chat fronts.

The outbox logic is platform-neutral (handlers.outbox: watcher, outcomes, claims, pushes); this
module only schedules it, paces the sends to each platform's limits, and maps each platform's
errors to the outbox's outcomes: sent, retry later, unreachable, and maybe sent. Each chat
front registers a Transport in `App.transports` when it starts.

A push is delivered at least once. Neither Telegram nor Slack has an idempotency key: a send
that failed after the request may have reached the API (a read timeout, a connection dropped
before the answer), or that was in flight when the process died, may have been delivered or
not; it is sent again, saying it may be a repeat, unless the request was decided meanwhile. A
missing push is worse than a repeated one (the deciders would learn of the request days later,
from the reminder), and a press on a second copy is guarded ("Déjà traité ... par X"). A send
known to be delivered is never repeated. Errors the API answered (429, 5xx) and failures to
connect are retried with backoff. Edits are repeatable and always retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict, deque
from typing import Protocol

from bot.logs import request_scope
from handlers.chat import home
from handlers.core.reply import Reply
from handlers.outbox import claims, feed, homes, outcomes, watcher

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """A temporary failure (429, 5xx, timeout); `retry_after` in seconds when the API says."""

    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.retry_after = retry_after


class Unreachable(Exception):
    """The recipient cannot be reached (blocked the bot, chat not found, kicked)."""


class MaybeSent(Exception):
    """A send failed after the API may have carried it out (timeout, connection dropped)."""


class Transport(Protocol):
    async def send(self, chat_id: str, team_id: str, reply: Reply) -> str:
        """Send the reply; return a reference to the message, for a later edit."""
        ...

    async def edit(self, chat_id: str, team_id: str, message_ref: str, reply: Reply) -> None: ...

    # A platform with a Home (Slack's App Home tab) also has, raising the same outcomes:
    # async def publish_home(self, user_id: str, team_id: str, home: home.Home) -> None


#: How long the notifier keeps trying to record a sent message while the database is away,
#: and how often (well within the delivery lease).
RECORD_PATIENCE = 30.0
RECORD_RETRY = 1.0
#: Below this a wait is rounding noise (a float clock may not move by so little).
EPSILON = 1e-6


class RateLimiter:
    """Paces sends within each platform's published limits, per chat and overall.

    Telegram: 1 message a second per chat, 20 a minute per group, 30 a second overall.
    Slack: 1 message a second per channel.
    A platform whose transport has a `pace(chat_id)` coroutine (Telegram's: the budget it
    shares with the front's replies, bot/telegram/budget.py) is paced by it instead, since
    those limits count the replies too.
    """

    #: The published limits, with a margin: what leaves here a second apart may arrive a few
    #: milliseconds closer, and Telegram counts arrivals.
    LIMITS = {
        # platform: (per chat (count, seconds), per group (count, seconds), overall)
        "telegram": ((1, 1.1), (19, 60.0), (25, 1.0)),
        "slack": ((1, 1.1), None, None),
    }

    def __init__(self, clock=time.monotonic, sleep=asyncio.sleep, transports=None) -> None:
        self.clock = clock
        self.sleep = sleep
        #: The running fronts' transports (App.transports), read at each send.
        self.transports: dict = {} if transports is None else transports
        self.sent: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = asyncio.Lock()

    def _windows(self, platform: str, chat_id: str) -> list[tuple[tuple[str, str], int, float]]:
        per_chat, per_group, overall = self.LIMITS.get(platform, ((1, 1.0), None, None))
        windows = [((platform, chat_id), *per_chat)]
        if per_group and chat_id.startswith("-"):
            windows.append(((platform, "group:" + chat_id), *per_group))
        if overall:
            windows.append(((platform, "*"), *overall))
        return windows

    def delay(self, platform: str, chat_id: str) -> float:
        """Seconds to wait before the next send to this chat is within every limit."""
        current = self.clock()
        wait = 0.0
        for key, count, period in self._windows(platform, chat_id):
            times = self.sent[key]
            while times and current - times[0] >= period - EPSILON:
                times.popleft()
            if len(times) >= count:
                wait = max(wait, period - (current - times[0]))
        return wait

    async def acquire(self, platform: str, chat_id: str) -> None:
        """Wait for a free slot and take it (one caller at a time, so no slot is taken twice)."""
        pace = getattr(self.transports.get(platform), "pace", None)
        if pace is not None:  # a budget shared with the front's replies
            await pace(chat_id)
            return
        async with self._lock:
            while (wait := self.delay(platform, chat_id)) > EPSILON:
                await self.sleep(wait)
            stamp = self.clock()
            for key, _, _ in self._windows(platform, chat_id):
                self.sent[key].append(stamp)


class Notifier:
    """Runs the watcher and the delivery loop every `interval` seconds until stopped."""

    name = "notifier"

    def __init__(self, app, interval: float = 2.0, batch: int = 50, parallel: int = 8) -> None:
        self.app = app
        self.interval = interval
        self.batch = batch
        #: Sends in flight at once (to different chats; the limiter paces each chat).
        self.parallel = parallel
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.limiter = RateLimiter(transports=getattr(app, "transports", None))
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._next_recovery = 0.0
        #: On stop, how long the message in flight may take before it is abandoned (below
        #: runtime.STOP_GRACE, so that the release still happens).
        self.stop_seconds = 2.0

    async def start(self) -> None:
        await self.app.call_background(claims.recover_interrupted, self.app.ctx)
        self._task = asyncio.create_task(self._loop(), name="notifier")

    async def stop(self) -> None:
        """Finish the message in flight (a few seconds at most), then hand back the claimed
        deliveries not yet started, so that another replica sends them at once."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=self.stop_seconds)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        released = await self.app.call_background(claims.release_claims, self.app.ctx, self.worker)
        if released:
            log.info("released %d claimed deliveries for another replica or the next start",
                     released)  # fmt: skip

    def wake(self) -> None:
        """Run a round now (after a decision, so other copies are edited at once)."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the loop must survive a database hiccup; the next round retries
                log.exception("notifier round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    async def run_once(self) -> int:
        """One round: find new requests and outcomes, then deliver what is due. Returns the
        number of messages sent or edited."""
        ctx = self.app.ctx
        if time.monotonic() >= self._next_recovery:  # a replica that died since we started
            await self.app.call_background(claims.recover_interrupted, ctx)
            self._next_recovery = time.monotonic() + claims.LEASE.total_seconds()
        await self.app.call_background(watcher.scan_new_pending, ctx)
        await self.app.call_background(outcomes.scan_outcomes, ctx)
        await self.app.call_background(
            feed.scan_reminders,
            ctx,
            ctx.settings.reminder_days,
            ctx.settings.operators_reminder_days,
        )
        await self.app.call_background(feed.scan_feed, ctx)
        done = 0
        while not self._stop.is_set():
            tasks = await self.app.call_background(
                claims.claim_due, self.app.ctx, self.worker, self.batch
            )
            if not tasks:
                break
            # Chats in parallel; within a chat, in order (a feed reads top to bottom).
            by_chat: dict[tuple[str, str], list[claims.DeliveryTask]] = defaultdict(list)
            for task in tasks:
                by_chat[(task.platform, task.chat_id)].append(task)
            gate = asyncio.Semaphore(self.parallel)
            done += sum(await asyncio.gather(*(self._chat(gate, q) for q in by_chat.values())))
        await self.publish_homes()
        return done

    async def publish_homes(self) -> int:
        """Publish again the Homes out of date (a request arrived or was decided in one of
        their communities, marked by the scans above), on the platforms that have one; returns
        how many were published. A failed publish is due again at the next round."""
        platforms = [name for name, transport in self.app.transports.items()
                     if hasattr(transport, "publish_home")]  # fmt: skip
        if not platforms:
            return 0
        published = 0
        for due in await self.app.call_background(homes.due, self.app.ctx, platforms):
            if self._stop.is_set():
                break
            with request_scope(f"home {due.id}"):
                published += await self._publish_home(due)
        return published

    async def _publish_home(self, due: homes.DueHome) -> int:
        found = await self.app.call_background(home.render_due, self.app.ctx, due)
        if found is None:
            return 0  # another replica took it
        transport = self.app.transports[due.key.platform]
        await self.limiter.acquire(due.key.platform, f"home:{due.key.external_id}")
        try:
            await transport.publish_home(due.key.external_id, due.key.team_id, found)
        except Unreachable as error:
            log.info("home %s: the person cannot be reached (%s); forgotten", due.id, error)
            await self.app.call_background(homes.forget, self.app.ctx, due.id)
            return 0
        except Exception as error:  # RetryLater, MaybeSent (a publish is repeatable), other
            log.info("home %s: publish failed (%s), due again", due.id, type(error).__name__)
            await self.app.call_background(homes.release, self.app.ctx, due)
            return 0
        return 1

    async def _chat(self, gate: asyncio.Semaphore, queue: list[claims.DeliveryTask]) -> int:
        done = 0
        for task in queue:
            if self._stop.is_set():
                break  # the rest of this chat's queue is released by stop()
            async with gate:
                with request_scope(f"dlv {task.delivery_id}"):
                    done += await self._deliver(task)
        return done

    def _count(self, task: claims.DeliveryTask, result: str) -> None:
        metrics = getattr(self.app, "metrics", None)
        if metrics is not None:
            metrics.deliveries.labels(task.platform, result).inc()

    async def _deliver(self, task: claims.DeliveryTask) -> int:
        transport = self.app.transports.get(task.platform)
        if transport is None:
            await self.app.call_background(
                claims.mark_retry,
                self.app.ctx,
                task.delivery_id,
                self.worker,
                f"no {task.platform} front running",
                60,
            )
            return 0
        if not task.is_edit and not await self.app.call_background(
            claims.start_sending, self.app.ctx, task.delivery_id, self.worker
        ):
            return 0  # our lease ran out and someone else has it
        await self.limiter.acquire(task.platform, task.chat_id)  # right before the call
        try:
            if task.is_edit and task.message_ref:
                await transport.edit(task.chat_id, task.team_id, task.message_ref, task.reply)
                ref = task.message_ref
            else:
                ref = await transport.send(task.chat_id, task.team_id, task.reply)
        except RetryLater as error:
            self._count(task, "retry")
            log.info("delivery %s: retry later (%s)", task.delivery_id, error)
            await self.app.call_background(
                claims.mark_retry,
                self.app.ctx,
                task.delivery_id,
                self.worker,
                str(error),
                error.retry_after,
            )
            return 0
        except MaybeSent as error:
            log.warning("delivery %s: may have been delivered (%s); will be sent again",
                        task.delivery_id, error)  # fmt: skip
            self._count(task, "unknown")
            await self._record(claims.mark_unknown, task, str(error))
            return 0
        except Unreachable as error:
            self._count(task, "unreachable")
            log.info("delivery %s: recipient unreachable (%s)", task.delivery_id, error)
            await self.app.call_background(
                claims.mark_unreachable,
                self.app.ctx,
                task.delivery_id,
                self.worker,
                str(error),
            )
            return 0
        except Exception as error:  # unknown failure: keep the message, try again later
            self._count(task, "error")
            log.warning("delivery %s failed: %s", task.delivery_id, type(error).__name__)
            await self.app.call_background(
                claims.mark_retry,
                self.app.ctx,
                task.delivery_id,
                self.worker,
                type(error).__name__,
            )
            return 0
        self._count(task, "edited" if task.is_edit else "sent")
        await self._record(claims.mark_sent, task, ref)
        return 1

    async def _record(self, mark, task: claims.DeliveryTask, value: str | None) -> None:
        """Record what became of a message that went out (or may have): the database may be
        away for a moment, and forgetting it would leave the delivery in flight until its
        lease runs out (then sent again as a possible repeat). Bounded by the lease."""
        waited = 0.0
        while True:
            try:
                await self.app.call_background(
                    mark, self.app.ctx, task.delivery_id, self.worker, value
                )
                return
            except Exception as error:
                if waited >= RECORD_PATIENCE or self._stop.is_set():
                    raise
                log.warning("delivery %s: could not record it yet (%s), retrying",
                            task.delivery_id, type(error).__name__)  # fmt: skip
                await asyncio.sleep(RECORD_RETRY)
                waited += RECORD_RETRY


def build_front(app) -> Notifier:
    return Notifier(app, interval=app.config.notifications.poll_seconds)
