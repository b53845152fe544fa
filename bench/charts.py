"""Benchmark of the dashboard's charts: indicator queries, rendering, event-loop stalls.

    python -m bench.charts --db sqlite:////tmp/bench/scale3.sqlite
    python -m bench.charts --db postgresql+psycopg://postgres@127.0.0.1:5432/bench_charts
    python -m bench.charts --db 'mysql+pymysql://root@127.0.0.1:3306/bench_charts?charset=utf8mb4'
    python -m bench.charts --render-only

Fill the database first with `referent-bot demo --scale 3` (1,000,000 users, 500,000 ads,
2,000,000 carpool items). Each figure is the median (and the worst) of --runs runs after one
warm-up run. Goals (the issue's): 12-month series <= 250 ms on PostgreSQL and MariaDB,
<= 1.5 s on SQLite; render cold median <= 150 ms, cached <= 5 ms; longest event-loop stall
while 10 charts render through the process pool <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import charts
from handlers.chart_render import ChartData, make_render_pool, render_png, warm_up
from handlers.context import Context
from storage.engine import make_engine, make_sessionmaker
from storage.indicators import Indicator, Period, Scope, series, totals_at
from storage.models import CommunityUser

GOAL_SERIES_S = {"sqlite": 1.5, "postgresql": 0.25, "mysql": 0.25}
GOAL_COLD_S, GOAL_CACHED_S, GOAL_STALL_S = 0.150, 0.005, 0.020


def timed(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, worst) seconds of `runs` calls after a warm-up call."""
    function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def row(name: str, median: float, worst: float, goal: float) -> str:
    verdict = "ok" if median <= goal else "MISSED"
    return f"| {name} | {ms(median)} | {ms(worst)} | {ms(goal)} | {verdict} |"


def largest_community(session: Session) -> int:
    return session.execute(
        select(CommunityUser.community_id)
        .group_by(CommunityUser.community_id)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()


def bench_queries(url: str, runs: int) -> list[str]:
    engine = make_engine(url)
    dialect = engine.dialect.name
    goal = GOAL_SERIES_S[dialect]
    today = dt.date.today()
    end = today
    months = end.year * 12 + end.month - 1 - 11
    start = dt.date(months // 12, months % 12 + 1, 1)
    lines = [
        f"### {dialect}: 12-month series ({start:%d/%m/%Y} to {end:%d/%m/%Y}), {runs} runs",
        "",
        "| query | median | worst | goal | |",
        "|---|---|---|---|---|",
    ]
    with Session(engine) as session:
        community = largest_community(session)
        for indicator in Indicator:
            median, worst = timed(
                lambda i=indicator: series(session, i, Period.MONTH, start, end), runs
            )
            lines.append(row(f"{indicator.value}, month, platform", median, worst, goal))
        for indicator in (Indicator.CO2, Indicator.USERS, Indicator.ADS):
            median, worst = timed(
                lambda i=indicator: series(
                    session, i, Period.MONTH, start, end, Scope(community_ids=(community,))
                ),
                runs,
            )
            lines.append(row(f"{indicator.value}, month, community {community}", median, worst,
                             goal))  # fmt: skip
        median, worst = timed(lambda: series(session, Indicator.CO2, Period.DAY, start, end), runs)
        lines.append(row("co2, day (365 days), platform", median, worst, goal))
        median, worst = timed(
            lambda: series(session, Indicator.USERS, Period.MONTH, start, end, Scope(None, 1)),
            runs,
        )
        lines.append(row("users, month, territory 1", median, worst, goal))
        median, worst = timed(lambda: totals_at(session, today), runs)
        lines.append(row("synthesis (5 totals), platform", median, worst, goal))
    engine.dispose()
    return lines


def sample(index: int) -> ChartData:
    """A 12-month chart whose numbers differ with `index`, so nothing is cached by accident."""
    values = tuple(float((index * 7 + month * 13) % 50 + month) for month in range(12))
    totals = tuple(sum(values[: month + 1]) for month in range(12))
    return ChartData(
        title="CO₂ économisé",
        subtitle=f"Toute la plateforme · du 01/12/2024 au 30/11/2025 · n° {index}",
        labels=tuple(f"{month + 1:02d}/2025" for month in range(12)),
        series=(("par mois", values),),
        value_label="t de CO₂",
        total=totals,
        total_label="total",
        decimals=1,
    )


async def longest_stall(ctx: Context, count: int) -> tuple[float, float]:
    """(longest stall of the event loop, wall time) while `count` charts render as the bot
    renders them: use-case threads (App.call) handing the drawing to the process pool."""
    loop = asyncio.get_running_loop()
    threads = ThreadPoolExecutor(max_workers=8)
    stall = 0.0
    done = False

    async def ticker() -> None:
        nonlocal stall
        while not done:
            before = loop.time()
            await asyncio.sleep(0.001)
            stall = max(stall, loop.time() - before - 0.001)

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    await asyncio.gather(
        *(loop.run_in_executor(threads, charts.draw, ctx, render_png, sample(1000 + i))
          for i in range(count))
    )  # fmt: skip
    wall = time.perf_counter() - start
    done = True
    await tick
    threads.shutdown()
    return stall, wall


def bench_render(runs: int) -> list[str]:
    warm_up()
    cold = []
    for index in range(runs):
        data = sample(index)
        start = time.perf_counter()
        render_png(data)
        cold.append(time.perf_counter() - start)
    ctx = Context(sessions=make_sessionmaker(make_engine("sqlite://")))
    charts.CACHE.clear()
    charts.draw(ctx, render_png, sample(0))
    cached = []
    for _ in range(runs):
        start = time.perf_counter()
        charts.draw(ctx, render_png, sample(0))
        cached.append(time.perf_counter() - start)
    pool = make_render_pool()
    pool.submit(warm_up).result()
    pooled = dataclasses.replace(ctx, chart_renderer=pool)
    charts.CACHE.clear()
    stall, wall = asyncio.run(longest_stall(pooled, 10))
    pool.shutdown()
    return [
        f"### rendering ({runs} charts, 12 months, 960x600 PNG)",
        "",
        "| measure | median | worst | goal | |",
        "|---|---|---|---|---|",
        row("render cold (matplotlib, Agg)", statistics.median(cold), max(cold), GOAL_COLD_S),
        row("render cached (digest + LRU)", statistics.median(cached), max(cached),
            GOAL_CACHED_S),
        row(f"event-loop stall, 10 charts in the pool ({wall:.2f} s in all)", stall, stall,
            GOAL_STALL_S),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.charts", description=__doc__)
    parser.add_argument("--db", action="append", default=[], help="database URL (repeatable)")
    parser.add_argument("--runs", type=int, default=5, help="runs per query (default 5)")
    parser.add_argument("--render-runs", type=int, default=20)
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)
    for url in [] if args.render_only else args.db:
        print("\n".join(bench_queries(url, args.runs)), end="\n\n", flush=True)
    print("\n".join(bench_render(args.render_runs)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
