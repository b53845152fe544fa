"""`referent-bot run`: one asyncio program holding every enabled front.

Blocking work never runs on the event loop: use cases (synchronous SQLAlchemy) go through
`App.call`, a thread pool. Each front is a small object with `start()` and `stop()`, built by a
factory registered in FRONTS, so that adding a front touches one line here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from bot.config import Config
from bot.wiring import Runtime, open_runtime
from handlers.chart_render import make_render_pool

log = logging.getLogger(__name__)
T = TypeVar("T")


class Front(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class App:
    """What every front shares: the database context, the configuration, the worker pools."""

    runtime: Runtime
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="usecase")
    )
    #: Chat fronts register here what the notifier needs to send and edit messages.
    transports: dict[str, Any] = field(default_factory=dict)
    #: Chart rendering (matplotlib) runs in these processes, never on the event loop.
    charts: ProcessPoolExecutor | None = None

    @property
    def config(self) -> Config:
        return self.runtime.config

    @property
    def ctx(self):
        return self.runtime.ctx

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking use case in the thread pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        if self.charts is not None:
            self.charts.shutdown(wait=True, cancel_futures=True)


#: (name, is it enabled in this configuration?, "module:factory" building the Front from an App)
FRONTS: list[tuple[str, Callable[[Config], bool], str]] = [
    ("telegram", lambda config: config.telegram.enabled, "bot.telegram.front:build_front"),
    ("slack", lambda config: config.slack.enabled, "bot.slack.front:build_front"),
    ("email", lambda config: config.email.enabled, "bot.email_sender:build_front"),
    (
        "indicators",
        lambda config: config.telegram.enabled or config.slack.enabled,
        "bot.indicator_refresher:build_front",
    ),
    # after the chat fronts, whose transports it uses
    (
        "notifier",
        lambda config: config.telegram.enabled or config.slack.enabled,
        "bot.notifier:build_front",
    ),
]


def load_factory(path: str) -> Callable[[App], Front]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def enabled_fronts(config: Config) -> list[str]:
    return [name for name, enabled, _ in FRONTS if enabled(config)]


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Start every enabled front, run until `stop` is set (SIGTERM, SIGINT), then stop them."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runtime = await asyncio.to_thread(open_runtime, config)
    charts = make_render_pool()
    runtime = dataclasses.replace(
        runtime, ctx=dataclasses.replace(runtime.ctx, chart_renderer=charts)
    )
    app = App(runtime, charts=charts)
    fronts: list[Front] = []
    try:
        for name, enabled, factory in FRONTS:
            if enabled(config):
                front = load_factory(factory)(app)
                await front.start()
                fronts.append(front)
                log.info("%s front started", name)
        await stop.wait()
    finally:
        for front in reversed(fronts):
            try:
                await front.stop()
            except Exception:  # one front failing to stop must not keep the others running
                log.exception("%s front did not stop cleanly", front.name)
        app.close()
