"""The dashboard's aggregate kept fresh inside `referent-bot run` (storage.indicator_days).

Platform rows change outside the bot (registrations, ads, carpools validated days later), so a
small worker recomputes the recent window every few minutes and everything once a day. The work
is database reads of seconds to minutes: it runs in its own thread, never on the event loop nor
in the use-case pool, so that it never delays a button press.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time

from bot import affinity
from storage.indicator_days import refresh

log = logging.getLogger(__name__)

#: Seconds between two refreshes (REFERENT_BOT_INDICATOR_REFRESH_SECONDS overrides it).
INTERVAL_S = 600.0


def interval() -> float:
    value = os.environ.get("REFERENT_BOT_INDICATOR_REFRESH_SECONDS")
    try:
        return max(1.0, float(value)) if value else INTERVAL_S
    except ValueError:
        log.warning("REFERENT_BOT_INDICATOR_REFRESH_SECONDS=%r is not a number: %ss", value,
                    INTERVAL_S)  # fmt: skip
        return INTERVAL_S


def refresh_once(sessions) -> None:
    started = time.perf_counter()
    with sessions() as session:
        result = refresh(session)
    log.info("indicator aggregate %s refresh: %d rows in %.1f s", "full" if result.full else
             "window", result.rows, time.perf_counter() - started)  # fmt: skip


class IndicatorRefresher:
    name = "indicators"

    def __init__(self, app, every: float | None = None) -> None:
        self.app = app
        self.every = every if every is not None else interval()
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="indicator-refresher")

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await _in_daemon_thread(refresh_once, self.app.ctx.sessions)
            except Exception:  # a database outage must not end the worker
                log.exception("indicator refresh failed; retrying later")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)

    async def stop(self) -> None:
        """Stop at once, even mid-refresh: its thread is a daemon and its transaction, not
        yet committed, is simply lost with the process."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def _in_daemon_thread(function, *args) -> None:
    """Run `function` in a daemon thread (an executor's threads would hold the exit)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def work() -> None:
        affinity.release()  # long queries: on any CPU, beside the event loop's
        try:
            function(*args)
        except BaseException as error:  # handed to the awaiting task
            loop.call_soon_threadsafe(settle, error)
        else:
            loop.call_soon_threadsafe(settle, None)

    threading.Thread(target=work, name="indicators", daemon=True).start()
    await done


def build_front(app) -> IndicatorRefresher:
    return IndicatorRefresher(app)
