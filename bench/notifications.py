"""Notifications bench: 1,000 pending requests across 200 deciders, delivered on Telegram.

    python -m bench.notifications [--requests 1000] [--deciders 200] [--rate 5] [--quick]

The bot runs as deployed (`referent-bot run`, in its own process, its notifier's round every
second, its /metrics read at the end), against the fake Bot API (tests/bot/telegram), which here
enforces Telegram's limits the way the real one does: more than one message a second to a chat,
more than 20 a minute to a group, or more than 30 a second overall, is answered 429 with
retry_after. Meanwhile 20 other referents press a button (their pending list, answered with a
new message) at `--rate` presses a second in all: first alone for 20 s, then for 20 s while the
burst of pushes goes out, so that the replies' latency (update queued -> the reply's
sendMessage received) with the pushes is set beside the same replies alone. Printed: the time
to deliver everything beside the fastest time those limits allow, the latency from insert to
delivery (p50, p95), the replies' latency (p50, p99), the 429s received by pushes and replies
together (goal: none) and the duplicates (goal: none).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, select

from bench.common import Figure, free_port, parser, percentile, ratio, report
from bench.process import bot_config, run_bot
from handlers.chat.actions import callback_data
from handlers.community.pending import PENDING
from handlers.core.context import Context, Settings
from handlers.outbox.watch_state import ensure_state
from storage import schema
from storage.bot_models import ChatIdentity, Delivery, WatcherState
from storage.clock import now
from storage.codes import MembershipStatus, ValidationType
from storage.engine import make_engine, make_sessionmaker
from storage.models import Community, CommunityUser, User
from tests.bot.telegram.fake_bot_api import FakeBotApi, TelegramLimits

#: Referents pressing buttons during the bench (their chats get no push).
PRESSERS = 20
#: Seconds of presses alone, then with the pushes.
PRESS_SECONDS = 20.0
#: The notifier's round ([notifications] poll_seconds; 2 by default).
POLL_SECONDS = 1


def person(telegram_id: int) -> dict:
    return {"id": telegram_id, "is_bot": False, "first_name": "Référente", "language_code": "fr"}


class LimitedBotApi(FakeBotApi):
    """The fake Bot API enforcing Telegram's limits, strictly a second apart per chat (no
    burst); records the messages received: pushes, and the replies to the pressers' chats."""

    def __init__(self, pressers: set[str]) -> None:
        super().__init__(limits=TelegramLimits(chat_burst=1))
        self.pressers = pressers
        #: Set at the bot's first getUpdates: it has started.
        self.ready = asyncio.Event()
        self.received: list[tuple[str, str, float]] = []
        self.replies: dict[str, list[float]] = defaultdict(list)

    async def _m_getUpdates(self, params, files) -> list[dict]:
        self.ready.set()
        return await super()._m_getUpdates(params, files)

    def _m_sendMessage(self, params, files) -> dict:
        chat = str(params.get("chat_id"))
        if chat in self.pressers:
            self.replies[chat].append(time.monotonic())
        else:
            self.received.append((chat, params.get("text", ""), time.monotonic()))
        return self._message(params)

    @property
    def reasons(self) -> Counter[str]:
        return Counter(reason for _, reason in self.too_many)


async def press_for(api: LimitedBotApi, pressers: list[tuple[int, int]], seconds: float,
                    rate: float) -> list[float]:  # fmt: skip
    """Presses on "pending" (each presser's own community) at `rate` a second for `seconds`,
    round robin; returns each reply's latency (press queued -> its sendMessage received)."""
    count = int(seconds * rate)
    pressed: list[tuple[str, int, float]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(count):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        telegram_id, community_id = pressers[index % len(pressers)]
        chat = str(telegram_id)
        data = callback_data(PENDING.name, PENDING.button("…", community_id).ref)
        before = len(api.replies[chat])
        api.press(person(telegram_id), {"message_id": 1}, data)
        pressed.append((chat, before, time.monotonic()))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        len(api.replies[chat]) <= before for chat, before, _ in pressed
    ):
        await asyncio.sleep(0.05)
    return [
        api.replies[chat][before] - at
        for chat, before, at in pressed
        if len(api.replies[chat]) > before
    ]


def build_world(engine, deciders: int, requests: int) -> None:
    """`deciders` communities, each run by one referent linked on Telegram."""
    created = now()
    with engine.begin() as connection:
        connection.execute(
            insert(User),
            [
                {"id": i + 1, "given_name": f"Référent{i}", "family_name": "Test",
                 "email": f"referent{i}@example.org", "gender": 1, "status": 1,
                 "created_date": created, "phone_display": 1}
                for i in range(deciders)
            ],
        )  # fmt: skip
        connection.execute(
            insert(Community),
            [
                {"id": i + 1, "user_id": i + 1, "name": f"Communauté {i}", "description": "",
                 "full_description": "", "created_date": created,
                 "validation_type": int(ValidationType.MANUAL)}
                for i in range(deciders)
            ],
        )  # fmt: skip
        connection.execute(
            insert(CommunityUser),
            [
                {"community_id": i + 1, "user_id": i + 1, "status": int(MembershipStatus.MODERATOR),
                 "created_date": created, "accepted_date": created}
                for i in range(deciders)
            ],
        )  # fmt: skip
        connection.execute(
            insert(ChatIdentity),
            [
                {"platform": "telegram", "team_id": "", "external_id": str(100_000 + i),
                 "user_id": i + 1, "active": True, "linked_at": created}
                for i in range(deciders)
            ],
        )  # fmt: skip
        connection.execute(
            insert(User),
            [
                {"id": deciders + j + 1, "given_name": f"Personne{j}", "family_name": "Candidate",
                 "email": f"candidate{j}@example.org", "gender": 2, "status": 1,
                 "created_date": created, "phone_display": 1}
                for j in range(requests)
            ],
        )  # fmt: skip


def insert_requests(engine, deciders: int, requests: int, referents: int) -> float:
    """The join requests to the first `deciders` communities (of `referents`), written
    straight into the database as the web admin would."""
    with engine.begin() as connection:
        connection.execute(
            insert(CommunityUser),
            [
                {"community_id": j % deciders + 1, "user_id": referents + j + 1,
                 "status": int(MembershipStatus.PENDING), "created_date": now()}
                for j in range(requests)
            ],
        )  # fmt: skip
    return time.monotonic()


async def run(
    requests: int, deciders: int, folder: Path, rate: float, seconds: float
) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    schema.prepare(engine)
    # the pressers are referents too, of communities without new requests (no push to them)
    referents = deciders + PRESSERS
    build_world(engine, referents, requests)
    pressers = [(100_000 + deciders + i, deciders + i + 1) for i in range(PRESSERS)]
    ctx = Context(make_sessionmaker(engine), Settings(security_folder=folder))
    ensure_state(ctx, "reminders_last_day")
    with ctx.sessions() as session, session.begin():
        session.get_one(WatcherState, "reminders_last_day").value = now().date().isoformat()
    api = LimitedBotApi({str(telegram_id) for telegram_id, _ in pressers})
    await api.start()
    metrics_port = free_port()
    config = bot_config(folder, f"sqlite:///{folder / 'bench.sqlite3'}",
                        telegram_url=api.base_url, metrics_port=metrics_port,
                        poll_seconds=POLL_SECONDS)  # fmt: skip
    # the bot as deployed, in its own process: its latency is not mixed with the fake's load
    child = run_bot(config, folder / "bot.log")
    try:
        while not api.ready.is_set():
            child.check()
            await asyncio.sleep(0.05)
        await press_for(api, pressers, 2.0, rate)  # warm-up: connections, the first queries
        alone = await press_for(api, pressers, seconds, rate)
        inserted = insert_requests(engine, deciders, requests, referents)
        while not api.received and time.monotonic() < inserted + 10:
            await asyncio.sleep(0.01)  # the notifier's next round: the burst has begun
        with_pushes = await press_for(api, pressers, seconds, rate)
        pushing = len(api.received) < requests  # the replies were measured during the burst
        deadline = inserted + 150
        while len(api.received) < requests and time.monotonic() < deadline:
            child.check()
            await asyncio.sleep(0.2)
        finished = time.monotonic()
        waits = await budget_waits(metrics_port)
    finally:
        await child.stop()
        await api.stop()
    with ctx.sessions() as session:
        states = Counter(session.scalars(select(Delivery.state)).all())
    engine.dispose()
    latencies = [stamp - inserted for _, _, stamp in api.received]
    copies = Counter((chat, text) for chat, text, _ in api.received)
    per_chat = requests / deciders
    fastest = max(requests / 30, per_chat - 1)
    return {
        "delivered": len(api.received),
        "seconds": finished - inserted,
        "fastest": fastest,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": statistics.quantiles(latencies, n=20)[18] if len(latencies) > 1 else float("nan"),
        "429": len(api.too_many),
        "429 reasons": dict(api.reasons),
        "replies alone": alone,
        "replies with pushes": with_pushes,
        "presses": int(seconds * rate),
        "pushing throughout": pushing,
        "replies delayed": waits.get(("reply", "count"), 0),
        "reply wait": waits.get(("reply", "sum"), 0.0),
        "pushes delayed": waits.get(("push", "count"), 0),
        "duplicates": sum(n - 1 for n in copies.values() if n > 1),
        "sent_state": states.get("sent", 0),
    }


async def budget_waits(port: int) -> dict[tuple[str, str], float]:
    """The bot's waits for its Telegram budget, read from its /metrics as an operator would:
    {(kind, "count" | "sum"): value}."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "referent_bot_telegram_budget_wait_seconds":
            continue
        for sample in family.samples:
            for part in ("count", "sum"):
                if sample.name.endswith(f"_{part}"):
                    found[(sample.labels["kind"], part)] = sample.value
    return found


def reply_figures(result: dict[str, Any]) -> list[Figure]:
    """The replies' latency during the burst, beside the same replies alone (the baseline)."""
    figures = []
    alone, mixed = result["replies alone"], result["replies with pushes"]
    for q in (50, 99):
        value, baseline = percentile(mixed, q) * 1000, percentile(alone, q) * 1000
        goal, ok = "", None
        if q == 99:  # unchanged, within the noise of a shared machine
            goal, ok = "≈ alone (<= 1.5x + 10 ms)", value <= 1.5 * baseline + 10
        figures.append(Figure(f"reply latency p{q}, during the burst (baseline: alone)", value,
                              "ms", baseline, ratio(value, baseline), goal, ok))  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--requests", type=int, default=1000)
    args.add_argument("--deciders", type=int, default=200)
    args.add_argument("--rate", type=float, default=5.0, help="presses a second, in all")
    options = args.parse_args(argv)
    requests, deciders = (100, 20) if options.quick else (options.requests, options.deciders)
    seconds = 3.0 if options.quick else PRESS_SECONDS
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(requests, deciders, Path(folder), options.rate, seconds))
    seconds, fastest = result["seconds"], result["fastest"]
    figures = [
        Figure("messages delivered", result["delivered"], "", requests, None, "all",
               result["delivered"] == requests),
        Figure("deliveries marked sent", result["sent_state"], "", requests, None, "all",
               result["sent_state"] == requests),
        Figure("time to deliver all", seconds, "s", fastest, ratio(seconds, fastest),
               "baseline: the fastest Telegram's limits allow"),
        Figure("insert to delivery p50", result["p50"], "s"),
        Figure("insert to delivery p95", result["p95"], "s"),
        *reply_figures(result),
        Figure("429 received (pushes and replies)", result["429"], "", None, None, "0",
               result["429"] == 0),
        Figure("duplicates", result["duplicates"], "", None, None, "0", result["duplicates"] == 0),
    ]  # fmt: skip
    notes = [
        f"{requests} requests across {deciders} deciders, Telegram's limits enforced by the fake "
        "Bot API (1 message a second per chat, 20 a minute per group, 30 a second overall). "
        f"Meanwhile {PRESSERS} other referents pressed their pending list's button, "
        f"{options.rate:g} presses a second in all, {result['presses']} presses alone then "
        f"{result['presses']} during the burst"
        + ("" if result["pushing throughout"] else " (the burst ended before the presses did)")
        + f"; replies answered: {len(result['replies alone'])} and "
        f"{len(result['replies with pushes'])}. The shared Telegram budget delayed "
        f"{result['replies delayed']:.0f} replies ({result['reply wait'] * 1000:.0f} ms in all) "
        f"and {result['pushes delayed']:.0f} pushes (the bot's /metrics)."
        + " Slowest replies during the burst: "
        + ", ".join(f"{v * 1000:.0f}" for v in sorted(result["replies with pushes"])[-5:])
        + " ms (alone: "
        + ", ".join(f"{v * 1000:.0f}" for v in sorted(result["replies alone"])[-5:])
        + " ms)."
    ]
    if result["429 reasons"]:
        notes.append(f"429 by limit: {result['429 reasons']}")
    report("Notifications", figures, notes, options.json)


if __name__ == "__main__":
    main()
