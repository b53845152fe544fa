"""The App's worker pools: what nobody waits for never holds what a person waits for."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.runtime import App

pytestmark = pytest.mark.asyncio


def reply(text: str) -> str:
    return text.upper()


def hold(release: threading.Event) -> None:
    release.wait(5)


async def test_a_busy_background_pool_never_queues_a_use_case():
    """A burst of pushes keeps the notifier's threads busy with its bookkeeping; a person's
    reply still gets a use-case thread at once."""
    app = App(runtime=None)  # type: ignore[arg-type]  # the pools need no database
    release = threading.Event()
    blockers = [
        asyncio.ensure_future(app.call_background(hold, release))
        for _ in range(2 * app.background._max_workers)
    ]
    try:
        await asyncio.sleep(0.05)  # every background thread is now held
        started = time.perf_counter()
        assert await asyncio.wait_for(app.call(reply, "reply"), 1) == "REPLY"
        assert time.perf_counter() - started < 0.5
        assert not any(blocker.done() for blocker in blockers)
    finally:
        release.set()
        await asyncio.gather(*blockers)
        app.close()
