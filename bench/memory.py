"""Memory: peak resident memory of `referent-bot run` with every part running.

    python -m bench.memory [--quick]

`referent-bot run` with the Telegram front (polling the fake Bot API), the Slack front (HTTP,
against the fake Slack Web API), the notifier and the chart pool (forkserver: the main process,
the fork server, its workers and the resource tracker), on the bench world of bench/world.py.
The resident memory (RSS) of the whole process tree is summed every 0.1 s: idle, while the
Telegram bench's load runs (/attente and approvals, 50 updates a second), then while charts are
drawn through the pool. Summing RSS counts the pages the processes share once per process, so
the figures err on the high side; the proportional set size (PSS) at the end is in the notes.
The baseline is a bare Python process importing the libraries the bot's main process uses.
Goal: 300 MB or less in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import psutil

from bench import world as bench_world
from bench.common import Figure, free_port, parser, ratio, report
from bench.process import Child, bot_config, run_bot, spawn, wait_port
from bench.telegram import BenchBotApi, Feeder
from tests.bot.slack.fake_slack_api import FakeSlack

GOAL_MB = 300.0
MB = 1024 * 1024
BARE_IMPORTS = (
    "import asyncio, sqlalchemy, alembic, aiohttp, httpx, telegram.ext, slack_bolt.async_app, "
    "slack_sdk.web.async_client, psycopg, pymysql, time; time.sleep(600)"
)
#: (indicator, period) of the charts drawn: six different ones, so none comes from the cache.
CHARTS = (("co2", "m"), ("users", "m"), ("ads", "m"), ("communities", "m"), ("co2", "d"),
          ("users", "d"))  # fmt: skip


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss(pid: int) -> tuple[float, int]:
    """(MB, processes) of the process tree now."""
    total, count = 0, 0
    for process in tree(pid):
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
            count += 1
    return total / MB, count


def tree_pss(pid: int) -> float:
    total = 0
    for process in tree(pid):
        with contextlib.suppress(psutil.Error, AttributeError):
            total += process.memory_full_info().pss
    return total / MB


class Sampler:
    """The highest tree RSS seen while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self.processes = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            mb, count = tree_rss(self.pid)
            if mb > self.peak:
                self.peak, self.processes = mb, count
            await asyncio.sleep(0.1)

    async def __aenter__(self) -> Sampler:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        if self._task is None:
            raise RuntimeError("Sampler exited without being entered")
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        mb, count = tree_rss(self.pid)  # one last sample
        if mb > self.peak:
            self.peak, self.processes = mb, count


async def bare_baseline(folder: Path, seconds: float) -> float:
    child = spawn(["-c", BARE_IMPORTS], folder / "bare.log")
    try:
        deadline = time.monotonic() + 60
        last = -1.0
        while time.monotonic() < deadline:  # until the imports are done (RSS stops growing)
            child.check()
            await asyncio.sleep(0.5)
            mb, _ = tree_rss(child.pid)
            if mb == last:
                break
            last = mb
        async with Sampler(child.pid) as sampler:
            await asyncio.sleep(seconds)
        return sampler.peak
    finally:
        await child.stop()


async def run(idle_s: float, load_s: float, rate: float) -> tuple[list[Figure], list[str]]:
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
        folder = Path(name)
        per_referent = int(rate * load_s / 100) + 3
        world = bench_world.build(folder / "bench.sqlite3", 100, per_referent)
        api = BenchBotApi()
        await api.start()
        slack = FakeSlack()
        await slack.start()
        port = free_port()
        config = bot_config(folder, world.url, telegram_url=api.base_url, slack_url=slack.api_url,
                            slack_port=port)  # fmt: skip
        child: Child = run_bot(config, folder / "bot.log")
        try:
            await wait_port(port, child)
            while not api.ready.is_set():
                child.check()
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # the pool's warm-up chart, the notifier's first scans
            async with Sampler(child.pid) as idle:
                await asyncio.sleep(idle_s)
            feeder = Feeder(api, world, "polling")
            async with Sampler(child.pid) as loaded:
                loop = asyncio.get_running_loop()
                start, count = loop.time(), int(rate * load_s)
                for index in range(count):
                    delay = start + index / rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    feeder.command() if index % 2 else feeder.approve()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and len(api.edited_at) < count // 2:
                    await asyncio.sleep(0.1)
            async with Sampler(child.pid) as charts:
                referent = world.demo_referent
                if referent is None:
                    raise RuntimeError("the bench world has no demo referent")
                for indicator, period in CHARTS:
                    feeder.press(referent, f"chart|{indicator}:{period}:r:c{referent.community_id}")
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and len(api.sent(method="sendPhoto")) < len(
                    CHARTS
                ):
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)
            photos = len(api.sent(method="sendPhoto"))
            pss = tree_pss(child.pid)
            main_rss = psutil.Process(child.pid).memory_info().rss / MB
            child.check()
        finally:
            await child.stop()
            await slack.stop()
            await api.stop()
        bare = await bare_baseline(folder, 2.0)
    figures = [
        Figure(f"{label} ({sampler.processes} processes)", sampler.peak, "MB", bare,
               ratio(sampler.peak, bare), f"<= {GOAL_MB:.0f} MB", sampler.peak <= GOAL_MB)
        for label, sampler in (("idle, peak RSS of the tree", idle),
                               (f"Telegram load {rate:.0f}/s, peak", loaded),
                               (f"{len(CHARTS)} charts drawn, peak", charts))
    ]  # fmt: skip
    notes.append(
        f"Baseline: a bare Python process importing the main process's libraries "
        f"({bare:.1f} MB). At the end: main process RSS {main_rss:.1f} MB, whole tree PSS "
        f"(shared pages counted once) {pss:.1f} MB; {photos} of {len(CHARTS)} charts sent; "
        f"{len(api.edited_at)} approvals answered under load."
    )
    return figures, notes


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--rate", type=float, default=50.0)
    options = args.parse_args(argv)
    idle_s, load_s = (1.0, 2.0) if options.quick else (5.0, 15.0)
    figures, notes = asyncio.run(run(idle_s, load_s, options.rate))
    report("Memory", figures, notes, options.json)


if __name__ == "__main__":
    main()
