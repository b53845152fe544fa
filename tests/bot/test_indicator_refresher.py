"""The refresher `referent-bot run` starts: it builds the aggregate, then keeps it fresh, and a
referent's chart shows a platform change once it has run; stopping never waits for a refresh."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from types import SimpleNamespace

from sqlalchemy.orm import Session

from bot.indicator_refresher import IndicatorRefresher
from bot.runtime import enabled_fronts
from handlers.chat.actions import Press, press
from handlers.chat.identity import actor_for_user
from handlers.dashboard.cache import CACHE
from storage import clock
from storage.bot_models import IndicatorRefresh
from storage.engine import make_engine
from storage.indicators import Indicator, Period, basis, series
from storage.models import User
from tests.support.indicator_world import build_indicator_world


async def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def refreshed_at(engine):
    with Session(engine) as session:
        state = session.get(IndicatorRefresh, 1)
        return state.refreshed_at if state else None


def test_the_refresher_keeps_the_charts_fresh(ctx, engine):
    iworld = build_indicator_world(engine)
    operator = actor_for_user(ctx, iworld.users["operator"], "telegram")
    assert operator is not None
    built = clock.now()

    async def scenario() -> None:
        refresher = IndicatorRefresher(SimpleNamespace(ctx=ctx), every=0.1)
        await refresher.start()
        try:
            await wait_for(lambda: refreshed_at(engine) == built)
            first = press(ctx, operator, Press("chart", "users:m:r:a"))
            assert "8 utilisateurs au total" in first.text
            with Session(engine) as session, session.begin():
                session.add(User(email="new@test.fr", gender=1, status=1, phone_display=1,
                                 created_date=dt.datetime(2024, 1, 17, 9)))  # fmt: skip
            # The aggregate says when its data runs to; the change shows after the next run.
            stale = press(ctx, operator, Press("chart", "users:m:r:a"))
            assert "8 utilisateurs au total" in stale.text
            clock.set_now(built + dt.timedelta(minutes=10))
            await wait_for(lambda: refreshed_at(engine) == built + dt.timedelta(minutes=10))
            fresh = press(ctx, operator, Press("chart", "users:m:r:a"))
            assert "9 utilisateurs au total" in fresh.text
            assert fresh.text.endswith("Données jusqu'au 17/01/2024 à 10:12.")
        finally:
            started = time.monotonic()
            await refresher.stop()
            assert time.monotonic() - started < 1.0

    CACHE.clear()
    asyncio.run(scenario())


def test_the_refresher_runs_with_the_chat_fronts_only():
    from bot.config import Config, SlackConfig, TelegramConfig

    assert "indicators" not in enabled_fronts(Config())
    assert "indicators" in enabled_fronts(Config(telegram=TelegramConfig(enabled=True)))
    assert "indicators" in enabled_fronts(Config(slack=SlackConfig(enabled=True)))


def test_the_db_indicators_command_builds_then_refreshes_the_aggregate(tmp_path):
    """`referent-bot db indicators` (a real process) on demo data: afterwards the charts read
    the aggregate and give the live numbers."""
    path = tmp_path / "bot.sqlite3"
    env = {**os.environ, "REFERENT_BOT_DATABASE_URL": f"sqlite:///{path}",
           "REFERENT_BOT_CONFIG": ""}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], env=env, text=True,
                              capture_output=True, timeout=120)  # fmt: skip

    assert cli("demo").returncode == 0
    built = cli("db", "indicators")
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("indicator aggregate built: ")
    window = cli("db", "indicators", "--window")
    assert window.returncode == 0 and "indicator aggregate refreshed from " in window.stdout
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        daily = basis(session)
        assert daily.key == "a"
        today = dt.date.today()  # the process's clock wrote the demo data
        start = today.replace(day=1) - dt.timedelta(days=360)
        for indicator in Indicator:
            assert series(session, indicator, Period.MONTH, start, today, where=daily) == (
                series(session, indicator, Period.MONTH, start, today,
                       where=basis(session, live=True))
            )  # fmt: skip
    engine.dispose()
