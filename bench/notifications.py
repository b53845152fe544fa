"""Notifications bench: 1,000 pending requests across 200 deciders, delivered on Telegram.

    python -m bench.notifications [--requests 1000] [--deciders 200] [--quick]

The real Telegram front and notifier run against the fake Bot API (tests/bot/telegram), which here
enforces Telegram's limits the way the real one does: more than one message a second to a chat,
or more than 30 a second overall, is answered 429 with retry_after. Printed: the time to deliver
everything beside the fastest time those limits allow, the latency from insert to delivery
(p50, p95), the 429s received (goal: none) and the duplicates (goal: none).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select

from bench.common import Figure, parser, ratio, report
from bot.config import Config, TelegramConfig
from bot.notifier import Notifier
from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.core.context import Context, Settings
from handlers.outbox.watch_state import ensure_state
from storage import schema
from storage.bot_models import ChatIdentity, Delivery, WatcherState
from storage.clock import now
from storage.codes import MembershipStatus, ValidationType
from storage.engine import make_engine, make_sessionmaker
from storage.models import Community, CommunityUser, User
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi


class LimitedBotApi(FakeBotApi):
    """The fake Bot API, answering 429 as Telegram does when its limits are exceeded."""

    def __init__(self) -> None:
        super().__init__()
        self.per_chat: dict[str, deque[float]] = defaultdict(deque)
        self.overall: deque[float] = deque()
        self.too_many = 0
        self.reasons: Counter[str] = Counter()
        self.received: list[tuple[str, str, float]] = []

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "sendMessage":
            return await super()._api(request)
        params, _ = await self._read(request)
        chat = str(params.get("chat_id"))
        stamp = time.monotonic()
        for window in (self.per_chat[chat], self.overall):
            while window and stamp - window[0] >= 1.0:
                window.popleft()
        if self.per_chat[chat] or len(self.overall) >= 30:
            self.too_many += 1
            self.reasons["per chat" if self.per_chat[chat] else "overall"] += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        self.per_chat[chat].append(stamp)
        self.overall.append(stamp)
        self.received.append((chat, params.get("text", ""), stamp))
        return web.json_response({"ok": True, "result": self._message(params)})


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


def insert_requests(engine, deciders: int, requests: int) -> float:
    """The join requests, written straight into the database as the web admin would."""
    with engine.begin() as connection:
        connection.execute(
            insert(CommunityUser),
            [
                {"community_id": j % deciders + 1, "user_id": deciders + j + 1,
                 "status": int(MembershipStatus.PENDING), "created_date": now()}
                for j in range(requests)
            ],
        )  # fmt: skip
    return time.monotonic()


async def run(requests: int, deciders: int, folder: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    schema.prepare(engine)
    build_world(engine, deciders, requests)
    ctx = Context(make_sessionmaker(engine), Settings(security_folder=folder))
    ensure_state(ctx, "reminders_last_day")
    with ctx.sessions() as session, session.begin():
        session.get_one(WatcherState, "reminders_last_day").value = now().date().isoformat()
    api = LimitedBotApi()
    await api.start()
    config = Config(
        telegram=TelegramConfig(
            enabled=True, token=TOKEN, api_base_url=api.base_url, bot_username=BOT_USERNAME
        )
    )
    app = App(Runtime(config, engine, ctx))
    front = TelegramFront(app, poll_timeout=0.5)
    await front.start()
    notifier = Notifier(app, interval=0.2, batch=100)
    await notifier.start()
    inserted = insert_requests(engine, deciders, requests)
    deadline = inserted + 170
    while len(api.received) < requests and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    finished = time.monotonic()
    await notifier.stop()
    await front.stop()
    app.close()
    await api.stop()
    with ctx.sessions() as session:
        states = Counter(session.scalars(select(Delivery.state)).all())
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
        "429": api.too_many,
        "429 reasons": dict(api.reasons),
        "duplicates": sum(n - 1 for n in copies.values() if n > 1),
        "sent_state": states.get("sent", 0),
    }


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--requests", type=int, default=1000)
    args.add_argument("--deciders", type=int, default=200)
    options = args.parse_args(argv)
    requests, deciders = (100, 20) if options.quick else (options.requests, options.deciders)
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(requests, deciders, Path(folder)))
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
        Figure("429 received", result["429"], "", None, None, "0", result["429"] == 0),
        Figure("duplicates", result["duplicates"], "", None, None, "0", result["duplicates"] == 0),
    ]  # fmt: skip
    notes = [
        f"{requests} requests across {deciders} deciders, Telegram's limits enforced by the fake "
        "Bot API (1 message a second per chat, 30 a second overall)."
    ]
    if result["429 reasons"]:
        notes.append(f"429 by limit: {result['429 reasons']}")
    report("Notifications", figures, notes, options.json)


if __name__ == "__main__":
    main()
