"""`referent-bot run`: one asyncio program holding every enabled front.

Blocking work never runs on the event loop: use cases (synchronous SQLAlchemy) go through
`App.call`, a thread pool. Each front is a small object with `start()` and `stop()`, built by a
factory registered in FRONTS, so that adding a front touches one line here.

On SIGTERM (or SIGINT) the bot drains: readiness turns 503, each front stops taking updates
(its optional `drain()`, which also waits for the updates it already received), the updates
under way finish (at most [bot] shutdown_seconds in all), then the fronts stop in reverse order
(the notifier releases the deliveries it claimed but did not start).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import importlib
import logging
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from bot import affinity
from bot import metrics as metrics_module
from bot.config import Config
from bot.metrics import Metrics
from bot.wiring import Runtime, open_runtime, register_audit_listeners
from handlers.chat import seen_updates
from handlers.dashboard.render import make_render_pool
from storage import clock

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Seconds each front may still take to stop once the shutdown budget is spent.
STOP_GRACE = 3.0


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
    #: The notifier's and the e-mail sender's database work: their own threads, so that a burst
    #: of pushes never queues a person's reply behind its bookkeeping.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="background")
    )
    #: Chat fronts register here what the notifier needs to send and edit messages.
    transports: dict[str, Any] = field(default_factory=dict)
    #: Chart rendering (matplotlib) runs in these processes, never on the event loop.
    charts: ProcessPoolExecutor | None = None
    metrics: Metrics = field(default_factory=Metrics)
    #: Every front started (readiness); cleared again when the bot drains.
    ready: bool = False
    #: Set on SIGTERM: fronts refuse new updates (Slack HTTP answers 503).
    draining: bool = False
    _in_flight: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        register_audit_listeners()  # also for an App built on a Runtime made by hand

    @property
    def config(self) -> Config:
        return self.runtime.config

    @property
    def ctx(self):
        return self.runtime.ctx

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking use case in the thread pool and await its result (in a copy of the
        caller's context: the request id of its log lines, the metrics it counts in)."""
        return await self._in_pool(self.executor, func, *args, **kwargs)

    async def call_background(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The same for work nobody is waiting for (pushes, e-mails), in the background pool."""
        return await self._in_pool(self.background, func, *args, **kwargs)

    async def _in_pool(
        self, pool: ThreadPoolExecutor, func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        context.run(metrics_module.active.set, self.metrics)
        timed = functools.partial(self._timed, func, *args, **kwargs)
        return await loop.run_in_executor(pool, context.run, timed)

    async def first_seen(self, platform: str, key: str) -> bool:
        """Claim an incoming update (handlers.chat.seen_updates): on the event loop when the claim
        does no I/O (SQLite keeps them in memory), else in the thread pool like a use case."""
        if seen_updates.claims_in_memory(self.ctx):
            return seen_updates.first_seen(self.ctx, platform, key)
        return await self.call(seen_updates.first_seen, self.ctx, platform, key)

    def _timed(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            name = f"{func.__module__.rpartition('.')[2]}.{getattr(func, '__name__', 'call')}"
            self.metrics.usecase_seconds.labels(name).observe(time.perf_counter() - started)

    def track(self, front: str, kind: str) -> Callable[[], None]:
        """Count an update as under way from now (shutdown waits for it); call what this
        returns when it is handled."""
        self._in_flight += 1
        self.metrics.in_progress.inc()
        started = time.perf_counter()
        done = False

        def finished() -> None:
            nonlocal done
            if done:
                return
            done = True
            self._in_flight -= 1
            self.metrics.in_progress.dec()
            self.metrics.updates.labels(front, kind).inc()
            self.metrics.update_seconds.labels(front, kind).observe(time.perf_counter() - started)

        return finished

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is under way (seen twice in a row); False on timeout."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            quiet = quiet + 1 if self._in_flight == 0 else 0
            if time.monotonic() >= deadline:
                return self._in_flight == 0
            await asyncio.sleep(0.05)
        return True

    def close(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=not wait)
        self.background.shutdown(wait=wait, cancel_futures=not wait)
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


async def serve(config: Config, stop: asyncio.Event | None = None) -> bool:
    """Start every enabled front, run until `stop` is set (SIGTERM, SIGINT), then drain and
    stop them. Returns False when the work under way did not finish in time."""
    from bot.health import HealthServer

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    clock.set_zone(config.platform.timezone)  # also when serve() is called without the CLI
    cpu = affinity.cpu_for(config.bot.cpu)  # a CPU this machine lacks: refused before starting
    runtime = await asyncio.to_thread(open_runtime, config)
    charts = make_render_pool()  # before pinning: its workers are forked with every CPU
    affinity.pin(cpu)
    runtime = dataclasses.replace(
        runtime, ctx=dataclasses.replace(runtime.ctx, chart_renderer=charts)
    )
    app = App(runtime, charts=charts)
    fronts: list[Front] = []
    health = HealthServer(app, config.metrics) if config.metrics.enabled else None
    clean = True
    try:
        if health is not None:
            await health.start()
        for name, enabled, factory in FRONTS:
            if enabled(config):
                front = load_factory(factory)(app)
                await front.start()
                fronts.append(front)
                log.info("%s front started", name)
        app.ready = True
        await stop.wait()
    finally:
        clean = await shutdown(app, fronts, config.bot.shutdown_seconds)
        if health is not None:
            await health.stop()
        app.close(wait=clean)
        affinity.release()
    return clean


async def shutdown(app: App, fronts: list[Front], seconds: float) -> bool:
    """Drain: no new updates, the ones under way finish, then every front stops (bounded)."""
    deadline = time.monotonic() + seconds
    app.ready, app.draining = False, True
    log.info("shutting down: taking no new updates; waiting at most %s s for the work under way",
             seconds)  # fmt: skip
    drains = [front.drain() for front in fronts if hasattr(front, "drain")]
    try:  # all at once: each stops taking updates, then waits for its own
        await asyncio.wait_for(asyncio.gather(*drains), max(0.1, deadline - time.monotonic()))
    except TimeoutError:
        log.error("the fronts did not finish their updates within %s s", seconds)
    except Exception:
        log.exception("a front did not stop taking updates cleanly")
    clean = await app.wait_idle(max(0.0, deadline - time.monotonic()))
    if not clean:
        log.error("%d update(s) still under way after %s s: stopping anyway", app.in_flight,
                  seconds)  # fmt: skip
    for front in reversed(fronts):
        # a front gets what is left of the budget, and at least a few seconds to release
        grace = max(STOP_GRACE, deadline - time.monotonic())
        try:
            await asyncio.wait_for(front.stop(), grace)
        except TimeoutError:
            clean = False
            log.error("%s front did not stop within %.0f s: abandoned", front.name, grace)
        except Exception:  # one front failing to stop must not keep the others running
            clean = False
            log.exception("%s front did not stop cleanly", front.name)
    log.info("stopped" if clean else "stopped, with work left unfinished")
    return clean
