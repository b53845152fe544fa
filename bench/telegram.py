"""Telegram round trip: `referent-bot run` against the fake Bot API, beside a bare PTB echo bot.

    python -m bench.telegram [--quick] [--modes polling,webhook] [--seconds 8] [--rate 20]

The bot runs as `referent-bot run` does (its own process, its own wiring: the Telegram front,
the notifier, the chart pool) on a SQLite demo database with 100 referents, each linked on
Telegram and each with pending join requests (bench/world.py). The fake Bot API runs in this
process and feeds updates (getUpdates in polling mode, POSTs in webhook mode):

- `/attente` from a referent; answered when the fake receives the sendMessage to that chat;
- a press on "approve" of a different pending request each time; answered when the fake
  receives answerCallbackQuery for that query; done when the message is edited.

After a 3-second warm-up (see WARM_UP_S), each at a fixed rate (20 a second) for the latency
(p50, p99), then in one burst for the throughput (updates a second, burst size / time to the
last one done). The baseline is bench/echo_bot.py (a bare PTB Application that echoes
messages and answers and edits on a press), fed the same updates at the same rates against
the same fake server.

Telegram lets a bot send about 30 messages a second in all, and the bot keeps to it
(bot/telegram/budget.py: replies and pushes share 28 a second, issue 17): every update here
costs one counted message (the reply, or the edit after a press). So the fixed rate stays
within it (20 a second: before the shared budget this bench ran at 50, which Telegram itself
would have answered with 429s), and the burst's throughput is compared with the echo's capped
at that budget (the echo, a bare PTB app, keeps to no limit).
Goals: throughput >= 70% of the echo's (capped at the budget); p99 <= 50 ms at 20 a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from bench import world as bench_world
from bench.common import Figure, free_port, parser, percentile, ratio, report
from bench.process import WEBHOOK_SECRET, Child, bot_config, run_bot, spawn, wait_port
from bot.telegram.budget import Limits
from storage.codes import MembershipStatus
from tests.bot.telegram.fake_bot_api import BOT_ID, FakeBotApi

GOAL_THROUGHPUT = 0.70
GOAL_P99_MS = 50.0
#: Messages a second the bot allows itself on Telegram (replies and pushes together).
TELEGRAM_BUDGET = Limits().overall
#: Warm-up: a command and a press every 0.1 s for this long before measuring. Long enough to
#: outlast the bot's start-up work (its chart workers import matplotlib, the dashboard's
#: aggregate is first built: about 2 s of CPU on both cores of the bench machine), which is
#: not the steady state the figures describe (docs/benchmarks.md says what it costs).
WARM_UP_S = 3.0
WARM_UP_EVERY_S = 0.1


class BenchBotApi(FakeBotApi):
    """The fake Bot API, noting when each answering call arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: dict[str, list[float]] = defaultdict(list)
        self.answered_at: dict[str, float] = {}
        self.edited_at: dict[tuple[str, int], float] = {}
        self.ready = asyncio.Event()

    async def _m_getUpdates(self, params, files):
        self.ready.set()
        return await super()._m_getUpdates(params, files)

    def _m_setWebhook(self, params, files):
        self.ready.set()
        return True

    def _m_sendMessage(self, params, files):
        self.sent_at[str(params["chat_id"])].append(time.monotonic())
        return super()._m_sendMessage(params, files)

    def _m_answerCallbackQuery(self, params, files):
        self.answered_at[str(params["callback_query_id"])] = time.monotonic()
        return True

    def _m_editMessageText(self, params, files):
        self.edited_at[(str(params["chat_id"]), int(params["message_id"]))] = time.monotonic()
        return super()._m_editMessageText(params, files)


def person(telegram_id: int) -> dict:
    return {"id": telegram_id, "is_bot": False, "first_name": "Référente", "language_code": "fr"}


@dataclass
class Feeder:
    """Makes the updates a referent's client would cause and hands them to the bot."""

    api: BenchBotApi
    world: bench_world.BenchWorld
    mode: str
    webhook_url: str = ""
    session: aiohttp.ClientSession | None = None
    #: chat -> push times of its /attente, in order (matched with api.sent_at[chat]).
    commands: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    presses: dict[str, tuple[float, str, int]] = field(default_factory=dict)
    pressed_memberships: list[int] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(10_000_000))
    _turn: itertools.count = field(default_factory=itertools.count)
    _next_pending: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    _posts: set = field(default_factory=set)

    def _deliver(self, update: dict) -> None:
        if self.mode == "polling":
            self.api.push(update)
            return
        update = {"update_id": next(self.api._update_ids), **update}
        task = asyncio.ensure_future(self._post(update))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)

    async def _post(self, update: dict) -> None:
        if self.session is None:
            raise RuntimeError("the webhook mode posts with the session it is given")
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with self.session.post(self.webhook_url, json=update, headers=headers) as answer:
            if answer.status != 200:
                raise RuntimeError(f"webhook answered {answer.status}")

    def _referent(self) -> bench_world.Referent:
        return self.world.referents[next(self._turn) % len(self.world.referents)]

    def command(self, text: str = "/attente") -> str:
        referent = self._referent()
        chat = str(referent.telegram_id)
        user = person(referent.telegram_id)
        message = {
            "message_id": next(self._ids), "date": int(time.time()),
            "chat": {"id": referent.telegram_id, "type": "private", "first_name": "Référente"},
            "from": user, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        }  # fmt: skip
        self.commands[chat].append(time.monotonic())
        self._deliver({"message": message})
        return chat

    def approve(self) -> str:
        referent = self._referent()
        taken = self._next_pending[referent.index]
        if taken >= len(referent.pending):
            raise RuntimeError("not enough pending requests in the bench world")
        self._next_pending[referent.index] += 1
        membership = referent.pending[taken]
        self.pressed_memberships.append(membership)
        return self.press(referent, f"approve|{membership}")

    def press(self, referent: bench_world.Referent, data: str) -> str:
        """A press on a button of a message the bot sent this referent."""
        message_id = next(self._ids)
        query_id = f"q{message_id}"
        message = {
            "message_id": message_id, "date": int(time.time()),
            "chat": {"id": referent.telegram_id, "type": "private", "first_name": "Référente"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "bot"},
            "text": "Demandes en attente",
            "reply_markup": {"inline_keyboard": [[{"text": "✅ Accepter", "callback_data": data}]]},
        }  # fmt: skip
        update = {
            "callback_query": {
                "id": query_id,
                "from": person(referent.telegram_id),
                "chat_instance": "ci",
                "data": data,
                "message": message,
            }
        }
        self.presses[query_id] = (time.monotonic(), str(referent.telegram_id), message_id)
        self._deliver(update)
        return query_id


@dataclass
class Phase:
    latencies_ms: list[float]
    done_ms: list[float]
    #: updates a second: count / (last done - first sent)
    throughput: float
    missing: int
    #: CPU time of the bot's process tree per update (ms), whatever the machine's load.
    cpu_ms: float = float("nan")


def command_results(feeder: Feeder, sent: list[tuple[str, int]]) -> Phase:
    """Latency of each /attente: its push to the sendMessage to its chat (in order, per chat)."""
    latencies, first, last, missing = [], None, 0.0, 0
    for chat, index in sent:
        pushed = feeder.commands[chat][index]
        first = pushed if first is None else min(first, pushed)
        answers = feeder.api.sent_at.get(chat, [])
        if index >= len(answers):
            missing += 1
            continue
        latencies.append((answers[index] - pushed) * 1000)
        last = max(last, answers[index])
    span = last - first if first is not None and last > first else float("nan")
    return Phase(latencies, latencies, len(latencies) / span, missing)


def press_results(feeder: Feeder, queries: list[str]) -> Phase:
    latencies, done, first, last, missing = [], [], None, 0.0, 0
    for query in queries:
        pushed, chat, message_id = feeder.presses[query]
        first = pushed if first is None else min(first, pushed)
        answered = feeder.api.answered_at.get(query)
        edited = feeder.api.edited_at.get((chat, message_id))
        if answered is None or edited is None:
            missing += 1
            continue
        latencies.append((answered - pushed) * 1000)
        done.append((edited - pushed) * 1000)
        last = max(last, edited)
    span = last - first if first is not None and last > first else float("nan")
    return Phase(latencies, done, len(done) / span, missing)


async def settle(feeder: Feeder, expected_commands: int, expected_presses: int,
                 timeout: float) -> None:  # fmt: skip
    """Until every /attente and press sent so far is answered (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        commands = sum(
            min(len(feeder.api.sent_at.get(c, [])), len(v)) for c, v in feeder.commands.items()
        )
        edits = sum(
            1 for _, chat, mid in feeder.presses.values() if (chat, mid) in feeder.api.edited_at
        )
        if commands >= expected_commands and edits >= expected_presses:
            return
        await asyncio.sleep(0.01)


async def at_rate(make, count: int, rate: float) -> list:
    loop = asyncio.get_running_loop()
    start = loop.time()
    made = []
    for index in range(count):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        made.append(make())
    return made


async def measure(
    target: str, mode: str, world: bench_world.BenchWorld, folder: Path, *,
    rate: float, seconds: float, burst: int, warm_up: float = WARM_UP_S,
) -> dict[str, Phase]:  # fmt: skip
    """One target (the bot or the echo) in one mode: warm-up, fixed rate, burst."""
    api = BenchBotApi()
    await api.start()
    port = free_port() if mode == "webhook" else 0
    log = folder / f"{target}-{mode}.log"
    if target == "bot":
        config = bot_config(folder, world.url, telegram_url=api.base_url, telegram_mode=mode,
                            webhook_port=port)  # fmt: skip
        child: Child = run_bot(config, log)
    else:
        args = ["-m", "bench.echo_bot", "--base-url", api.base_url, "--mode", mode]
        if mode == "webhook":
            args += ["--webhook-url", f"http://127.0.0.1:{port}/telegram",
                     "--listen-port", str(port), "--secret", WEBHOOK_SECRET]  # fmt: skip
        child = spawn(args, log)
    session = aiohttp.ClientSession()
    feeder = Feeder(api, world, mode, f"http://127.0.0.1:{port}/telegram", session)
    try:
        while not api.ready.is_set():
            child.check()
            await asyncio.sleep(0.05)
        if mode == "webhook":
            await wait_port(port, child)
        results: dict[str, Phase] = {}

        # warm-up: connections, caches, the first queries, the start-up work
        for _ in range(warm_up_count(warm_up)):
            feeder.command()
            feeder.approve()
            await asyncio.sleep(WARM_UP_EVERY_S)
        await settle(feeder, total_commands(feeder), len(feeder.presses), 30)
        count = max(1, round(rate * seconds))

        before = {c: len(v) for c, v in feeder.commands.items()}
        machine, cpu, wall = psutil.cpu_times(), tree_cpu(child.pid), time.monotonic()
        chats = await at_rate(feeder.command, count, rate)
        await settle(feeder, total_commands(feeder), len(feeder.presses), 30)
        results["attente"] = command_results(feeder, indexed(chats, before))

        queries = await at_rate(feeder.approve, count, rate)
        await settle(feeder, total_commands(feeder), len(feeder.presses), 30)
        results["approve"] = press_results(feeder, queries)
        results["usage"] = usage(machine, cpu, wall, child.pid)

        before = {c: len(v) for c, v in feeder.commands.items()}
        cpu = tree_cpu(child.pid)
        chats = [feeder.command() for _ in range(burst)]
        await settle(feeder, total_commands(feeder), len(feeder.presses), 60)
        results["attente burst"] = command_results(feeder, indexed(chats, before))
        results["attente burst"].cpu_ms = (tree_cpu(child.pid) - cpu) / burst * 1000

        cpu = tree_cpu(child.pid)
        queries = [feeder.approve() for _ in range(burst)]
        await settle(feeder, total_commands(feeder), len(feeder.presses), 60)
        results["approve burst"] = press_results(feeder, queries)
        results["approve burst"].cpu_ms = (tree_cpu(child.pid) - cpu) / burst * 1000
        if target == "bot":
            approved = bench_world.count_status(
                world.url, feeder.pressed_memberships, MembershipStatus.MEMBER
            )
            results["approved"] = Phase([], [], float(approved), len(feeder.pressed_memberships))
        return results
    finally:
        await session.close()
        await child.stop()
        await api.stop()


def warm_up_count(seconds: float = WARM_UP_S) -> int:
    return round(seconds / WARM_UP_EVERY_S)


def total_commands(feeder: Feeder) -> int:
    return sum(len(v) for v in feeder.commands.values())


def usage(machine_before, cpu_before: float, wall_before: float, pid: int) -> Phase:
    """How busy the machine was during the fixed-rate phases (all its cores: idle share in
    `throughput`) and how many cores the measured process tree used (in `cpu_ms`)."""
    after = psutil.cpu_times()
    total = sum(after) - sum(machine_before)
    idle = (after.idle - machine_before.idle) / total if total > 0 else float("nan")
    cores = (tree_cpu(pid) - cpu_before) / (time.monotonic() - wall_before)
    return Phase([], [], idle * 100, 0, cores)


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the chart pool)."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def indexed(chats: list[str], before: dict[str, int]) -> list[tuple[str, int]]:
    """(chat, index in that chat's list) of each command sent, given the counts before."""
    seen: dict[str, int] = defaultdict(int)
    result = []
    for chat in chats:
        result.append((chat, before.get(chat, 0) + seen[chat]))
        seen[chat] += 1
    return result


def figures_for(mode: str, bot: dict[str, Phase], echo: dict[str, Phase],
                rate: float) -> list[Figure]:  # fmt: skip
    figures = []
    for kind, label in (("attente", "/attente"), ("approve", "approve button")):
        for q, name in ((50, "p50"), (99, "p99")):
            value = percentile(bot[kind].latencies_ms, q)
            base = percentile(echo[kind].latencies_ms, q)
            goal = f"<= {GOAL_P99_MS:.0f} ms" if q == 99 else ""
            figures.append(Figure(
                f"{mode}: {label} latency {name} at {rate:.0f}/s", value, "ms", base,
                ratio(value, base), goal, (value <= GOAL_P99_MS) if q == 99 else None,
            ))  # fmt: skip
        burst = bot[f"{kind} burst"].throughput
        base = min(echo[f"{kind} burst"].throughput, TELEGRAM_BUDGET)
        share = ratio(burst, base)
        figures.append(Figure(
            f"{mode}: {label} throughput", burst, "updates/s", base, share,
            f">= {GOAL_THROUGHPUT:.0%} of echo (capped at {TELEGRAM_BUDGET}/s)",
            share is not None and share >= GOAL_THROUGHPUT,
        ))  # fmt: skip
        cpu, base = bot[f"{kind} burst"].cpu_ms, echo[f"{kind} burst"].cpu_ms
        figures.append(Figure(f"{mode}: {label} CPU per update", cpu, "ms", base,
                              ratio(cpu, base)))  # fmt: skip
    return figures


async def run(
    modes: list[str], rate: float, seconds: float, burst: int, referents: int,
    pending_each: int, server: str | None = None, warm_up: float = WARM_UP_S,
) -> tuple[list[Figure], list[str]]:  # fmt: skip
    figures: list[Figure] = []
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-telegram-")))
        started = time.monotonic()
        if server:
            url = stack.enter_context(
                bench_world.server_database(server, f"bench_telegram_{os.getpid()}")
            )
        else:
            url = f"sqlite:///{folder / 'bench.sqlite3'}"
        world = bench_world.build_at(url, referents, pending_each)
        built = time.monotonic() - started
        dialect = url.split(":", 1)[0].split("+", 1)[0]
        notes.append(f"World: scale-0 demo + {referents} referents x {pending_each} pending "
                     f"requests, {dialect} (built in {built:.1f} s).")  # fmt: skip
        for mode in modes:
            bot = await measure("bot", mode, world, folder, rate=rate, seconds=seconds,
                                burst=burst, warm_up=warm_up)  # fmt: skip
            echo = await measure("echo", mode, world, folder, rate=rate, seconds=seconds,
                                 burst=burst, warm_up=warm_up)  # fmt: skip
            figures += figures_for(mode, bot, echo, rate)
            lost = sum(p.missing for k, p in bot.items() if k not in ("approved", "usage"))
            lost_echo = sum(p.missing for p in echo.values())
            approved = bot["approved"]
            notes.append(
                f"{mode}: {approved.throughput:.0f} of {approved.missing} approvals recorded in "
                f"the database; unanswered updates: bot {lost}, echo {lost_echo}; "
                f"approve done (edit) p99 bot {percentile(bot['approve'].done_ms, 99):.1f} ms, "
                f"echo {percentile(echo['approve'].done_ms, 99):.1f} ms; "
                f"{len(bot['attente'].latencies_ms)} updates per fixed-rate phase, "
                f"burst of {burst}. During the fixed-rate phases the machine's CPUs were "
                f"{bot['usage'].throughput:.0f}% idle (echo's run: "
                f"{echo['usage'].throughput:.0f}%) and the bot's processes used "
                f"{bot['usage'].cpu_ms:.2f} cores (echo: {echo['usage'].cpu_ms:.2f})."
            )
    return figures, notes


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--modes", default="polling,webhook")
    args.add_argument("--rate", type=float, default=20.0)
    args.add_argument("--seconds", type=float, default=8.0)
    args.add_argument("--burst", type=int, default=250)
    args.add_argument(
        "--server",
        metavar="URL",
        help="a PostgreSQL or MariaDB server URL (as REFERENT_BOT_TEST_POSTGRES): the bench "
        "creates its database there, drops it after; default SQLite",
    )
    options = args.parse_args(argv)
    modes = [m for m in options.modes.split(",") if m]
    if options.quick:
        seconds, burst, referents, pending_each, warm_up = 0.6, 20, 15, 5, 0.5
        modes = modes if options.modes != "polling,webhook" else ["polling"]
    else:
        seconds, burst, warm_up = options.seconds, options.burst, WARM_UP_S
        referents = 100
        per_mode = warm_up_count() + round(options.rate * seconds) + burst
        pending_each = -(-per_mode * len(modes) // referents) + 1
    figures, notes = asyncio.run(
        run(modes, options.rate, seconds, burst, referents, pending_each, options.server, warm_up)
    )
    report("Telegram round trip", figures, notes, options.json)


if __name__ == "__main__":
    main()
