"""Benchmark of the dashboard's charts: indicator series, rendering, event-loop stalls, each
beside a naive baseline measured in the same run.

    python -m bench.charts --prepare   # once: build the scale-3 databases (minutes, cached)
    python -m bench.charts             # the standard run: every prepared database + rendering

The databases (1,000,000 users, 500,000 ads, 2,000,000 carpool items: `demo --scale 3`), built
once by --prepare and reused:

- SQLite: $REFERENT_BOT_BENCH_CACHE/charts-scale3.sqlite (default ~/.cache/referent-bot/bench);
- PostgreSQL: $REFERENT_BOT_BENCH_POSTGRES (default database bench_charts on 127.0.0.1:5432);
- MariaDB, the platform's real schema (platform indexes only): $REFERENT_BOT_BENCH_MARIADB
  (default database bench_charts on 127.0.0.1:3306).

A database that is missing or not prepared is skipped with a note (exit status 0). Each figure
is the median (and the worst) of --runs runs after a warm-up; the baselines are measured once
per figure in the same run: a series computed by loading the rows into Python (the filter in
SQL, grouping and totals in Python), a chart drawn with pyplot on the event loop. The ratio is
baseline / ours. Goals (the charts issue's): 12-month series <= 250 ms on PostgreSQL and
MariaDB, <= 1.5 s on SQLite; render cold median <= 150 ms, cached <= 5 ms; longest event-loop
stall while 10 charts render <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import io
import math
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from handlers.core.context import Context
from handlers.dashboard import cache
from handlers.dashboard.render import ChartData, make_render_pool, render_png, warm_up
from storage.bot_models import IndicatorRefresh
from storage.engine import make_engine, make_sessionmaker
from storage.indicators import (
    MEASURES,
    Indicator,
    Measure,
    Period,
    Point,
    Scope,
    basis,
    carpool_metres,
    live_source,
    period_keys,
    series,
    to_display,
    totals_at,
)
from storage.models import Community, CommunityUser

GOAL_SERIES_S = {"sqlite": 1.5, "postgresql": 0.25, "mysql": 0.25}
GOAL_COLD_S, GOAL_CACHED_S, GOAL_STALL_S = 0.150, 0.005, 0.020
CACHE = Path(os.environ.get("REFERENT_BOT_BENCH_CACHE", "~/.cache/referent-bot/bench"))
POSTGRES = os.environ.get(
    "REFERENT_BOT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_charts"
)
MARIADB = os.environ.get(
    "REFERENT_BOT_BENCH_MARIADB",
    "mysql+pymysql://root@127.0.0.1:3306/bench_charts?charset=utf8mb4",
)


def default_urls() -> list[str]:
    sqlite = CACHE.expanduser() / "charts-scale3.sqlite"
    return [f"sqlite:///{sqlite}", POSTGRES, MARIADB]


# --------------------------------------------------------------------------- measuring


def timed(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, worst) seconds of `runs` calls after a warm-up call."""
    function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples)


def once(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


HEADER = [
    "| measure | median | worst | goal | | baseline | ratio |",
    "|---|---|---|---|---|---|---|",
]


def row(name: str, median: float, worst: float, goal: float, baseline: float | None) -> str:
    verdict = "ok" if median <= goal else "MISSED"
    ratio = "—"
    if baseline and median > 0:
        factor = baseline / median
        ratio = f"{factor:,.1f}x" if factor < 10 else f"{factor:,.0f}x"
    base = ms(baseline) if baseline else "—"
    return f"| {name} | {ms(median)} | {ms(worst)} | {ms(goal)} | {verdict} | {base} | {ratio} |"


# --------------------------------------------------------------------------- the baseline


def python_series(
    session: Session, indicator: Indicator, period: Period, start: dt.date, end: dt.date,
    scope: Scope,
) -> list[Point]:  # fmt: skip
    """The same series computed the naive way: every qualifying row loaded into Python (the
    filters still in SQL), then bucketed, summed and totalled in Python."""
    dialect = session.get_bind().dialect.name
    width = 7 if period is Period.MONTH else 10
    lo, hi = start.isoformat(), end.isoformat()
    sums: list[tuple[dict[str, float], float]] = []
    for measure in MEASURES[indicator]:
        source = live_source(dialect, measure, scope)
        # each item's metres, as the platform stores them (km, or the ask's matching before 2023)
        amount = carpool_metres() if measure is Measure.CO2 else None
        columns = [source.date] + ([amount] if amount is not None else [])
        buckets: dict[str, float] = {}
        before = 0.0
        for found in session.execute(source.base.add_columns(*columns).where(*source.where)):
            day = str(found[0])[:10]
            value = float(found[1] or 0) if amount is not None else 1.0
            if day < lo:
                before += value
            elif day <= hi:
                key = day[:width]
                buckets[key] = buckets.get(key, 0.0) + value
        sums.append((buckets, before))
    points, totals = [], [before for _, before in sums]
    for key in period_keys(start, end, period):
        values = [buckets.get(key, 0.0) for buckets, _ in sums]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        if indicator is Indicator.ADS:
            active = totals[0] - (totals[1] - values[1])
            points.append(Point(key, active, active))
        else:
            points.append(Point(key, to_display(indicator, values[0]),
                                to_display(indicator, totals[0])))  # fmt: skip
    return points


def same(ours: list[Point], naive: list[Point]) -> bool:
    """The two computations agree (the bench databases do not change after --prepare)."""
    return len(ours) == len(naive) and all(
        a.key == b.key and math.isclose(a.value, b.value, abs_tol=1e-9)
        and math.isclose(a.total, b.total, abs_tol=1e-9)
        for a, b in zip(ours, naive, strict=True)
    )  # fmt: skip


# --------------------------------------------------------------------------- queries


def prepared(engine: Engine) -> str | None:
    """Why this database cannot be measured (None when it can)."""
    try:
        names = set(inspect(engine).get_table_names())
    except Exception as error:  # unreachable server, missing database
        return f"unreachable ({type(error).__name__})"
    if "community" not in names or "bot_indicator_refresh" not in names:
        return "no demo data: run `python -m bench.charts --prepare`"
    with Session(engine) as session:
        if session.execute(select(func.count()).select_from(Community)).scalar() == 0:
            return "no demo data: run `python -m bench.charts --prepare`"
        if session.get(IndicatorRefresh, 1) is None:
            return "no aggregate: run `python -m bench.charts --prepare`"
    return None


def largest_community(session: Session) -> int:
    return session.execute(
        select(CommunityUser.community_id)
        .group_by(CommunityUser.community_id)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()


def twelve_months(today: dt.date) -> tuple[dt.date, dt.date]:
    months = today.year * 12 + today.month - 1 - 11
    return dt.date(months // 12, months % 12 + 1, 1), today


def bench_queries(url: str, runs: int, live: bool) -> list[str]:
    engine = make_engine(url)
    name = make_url(url).render_as_string(hide_password=True)
    why = prepared(engine)
    if why is not None:
        engine.dispose()
        return [f"### {name}: skipped, {why}", ""]
    dialect = engine.dialect.name
    goal = GOAL_SERIES_S[dialect]
    start, end = twelve_months(dt.date.today())
    with Session(engine) as session:
        community = largest_community(session)
        state = session.get(IndicatorRefresh, 1)
        assert state is not None
        figures = [(f"{i.value}, month, platform", i, Period.MONTH, Scope()) for i in Indicator]
        figures += [
            (f"{i.value}, month, community {community}", i, Period.MONTH,
             Scope(community_ids=(community,)))
            for i in (Indicator.CO2, Indicator.USERS, Indicator.ADS)
        ]  # fmt: skip
        figures += [
            ("co2, day (365 days), platform", Indicator.CO2, Period.DAY, Scope()),
            ("users, month, territory 1", Indicator.USERS, Period.MONTH, Scope(territory_id=1)),
            ("ads, month, territory 1", Indicator.ADS, Period.MONTH, Scope(territory_id=1)),
        ]
        lines = [
            f"### {dialect} ({name}): 12-month series ({start:%d/%m/%Y} to {end:%d/%m/%Y}), "
            f"{runs} runs; aggregate as of {state.refreshed_at:%d/%m/%Y %H:%M}",
            "",
            *HEADER,
        ]
        live_lines = ["", f"Live SQL (no aggregate), {dialect}:", "", *HEADER]
        platform_baselines = 0.0  # the synthesis loads the same rows as the 5 platform series
        for label, indicator, period, scope in figures:
            median, worst = timed(
                partial(series, session, indicator, period, start, end, scope), runs
            )
            ours = series(session, indicator, period, start, end, scope)
            began = time.perf_counter()
            naive = python_series(session, indicator, period, start, end, scope)
            baseline = time.perf_counter() - began
            if not same(ours, naive):
                label += " **(differs from the baseline's numbers!)**"
            lines.append(row(label, median, worst, goal, baseline))
            if period is Period.MONTH and scope == Scope():
                platform_baselines += baseline
            if live:
                direct = basis(session, scope, live=True)
                median, worst = timed(
                    partial(series, session, indicator, period, start, end, scope, direct), runs
                )
                live_lines.append(row(label, median, worst, goal, baseline))
            session.rollback()
        today = dt.date.today()
        median, worst = timed(lambda: totals_at(session, today), runs)
        lines.append(row("synthesis (5 figures), platform; baseline: the 5 platform series'",
                         median, worst, goal, platform_baselines))  # fmt: skip
    engine.dispose()
    return lines + (live_lines if live else []) + [""]


# --------------------------------------------------------------------------- rendering


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


def pyplot_png(data: ChartData) -> bytes:
    """The baseline: the same chart as render_png, drawn the usual way with pyplot."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(figsize=(8, 5), dpi=120, layout="constrained")
    fig.suptitle(data.title, fontsize=17, fontweight="bold")
    axes.set_title(data.subtitle, fontsize=12)
    name, values = data.series[0]
    axes.bar(range(len(values)), values, label=name)
    if data.total is not None:
        twin = axes.twinx()
        twin.plot(range(len(values)), data.total, marker="o", color="C1", label=data.total_label)
    axes.set_xticks(range(len(values)), data.labels, rotation=45, ha="right")
    axes.set_ylabel(data.value_label)
    axes.legend(loc="upper left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


async def longest_stall(
    work: Callable[[asyncio.AbstractEventLoop], Awaitable[object]],
) -> tuple[float, float]:
    """(longest stall of the event loop, wall time) while `work(loop)` is awaited."""
    loop = asyncio.get_running_loop()
    stall = 0.0
    done = False

    async def ticker() -> None:
        nonlocal stall
        while not done:
            before = loop.time()
            await asyncio.sleep(0.001)
            stall = max(stall, loop.time() - before - 0.001)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    await work(loop)
    wall = time.perf_counter() - start
    done = True
    await tick
    return stall, wall


def bench_render(runs: int) -> list[str]:
    warm_up()
    pyplot_png(sample(0))

    def baseline(index: int) -> bytes:
        return pyplot_png(sample(500 + index))

    cold, cold_cpu, base = [], [], []
    for index in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        render_png(sample(index))
        cold.append(time.perf_counter() - start)
        cold_cpu.append(time.process_time() - cpu)
        base.append(once(partial(baseline, index)))
    ctx = Context(sessions=make_sessionmaker(make_engine("sqlite://")))
    cache.CACHE.clear()
    cache.draw(ctx, render_png, sample(0))
    cached = []
    for _ in range(runs):
        start = time.perf_counter()
        cache.draw(ctx, render_png, sample(0))
        cached.append(time.perf_counter() - start)
    pool = make_render_pool()
    pool.submit(warm_up).result()
    pooled = dataclasses.replace(ctx, chart_renderer=pool)
    cache.CACHE.clear()
    threads = ThreadPoolExecutor(max_workers=8)

    async def through_the_pool(loop) -> None:
        # As the bot renders: use-case threads (App.call) handing the drawing to the pool.
        drawn = [loop.run_in_executor(threads, cache.draw, pooled, render_png, sample(1000 + i))
                 for i in range(10)]  # fmt: skip
        await asyncio.gather(*drawn)

    async def pyplot_on_the_loop(loop) -> None:
        for i in range(10):
            pyplot_png(sample(2000 + i))
            await asyncio.sleep(0)

    async def nothing(loop) -> None:
        await asyncio.sleep(1.0)

    idle_stall, _ = asyncio.run(longest_stall(nothing))
    stall, wall = asyncio.run(longest_stall(through_the_pool))
    base_stall, base_wall = asyncio.run(longest_stall(pyplot_on_the_loop))
    threads.shutdown()
    pool.shutdown()
    median_base = statistics.median(base)
    return [
        f"### rendering ({runs} charts, 12 months, 960x600 PNG; baseline: pyplot, "
        "constrained layout, default PNG compression)",
        "",
        *HEADER,
        row("render cold (Figure + Agg)", statistics.median(cold), max(cold), GOAL_COLD_S,
            median_base),
        f"| render cold, CPU time of the process | {ms(statistics.median(cold_cpu))} | "
        f"{ms(max(cold_cpu))} | {ms(GOAL_COLD_S)} | "
        f"{'ok' if statistics.median(cold_cpu) <= GOAL_COLD_S else 'MISSED'} | — | — |",
        row("render cached (digest + LRU)", statistics.median(cached), max(cached),
            GOAL_CACHED_S, median_base),
        row(f"longest event-loop stall, 10 charts through the pool ({wall:.2f} s in all; "
            f"baseline: pyplot on the loop, {base_wall:.2f} s)", stall, stall, GOAL_STALL_S,
            base_stall),
        f"| longest event-loop stall with nothing to draw (1 s: the machine's own noise) | "
        f"{ms(idle_stall)} | | | | | |",
        "",
    ]  # fmt: skip


# --------------------------------------------------------------------------- preparing


def prepare_database(url: str) -> list[str]:
    """Create (if needed) and fill one scale-3 database, then build its aggregate."""
    from storage import schema
    from storage.demo import fill_demo
    from storage.indicator_days import refresh

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    else:
        ensure_server_database(url)
    engine = make_engine(url)
    lines = [f"### {parsed.render_as_string(hide_password=True)}"]
    with Session(engine) as session:
        has_data = (
            "community" in inspect(engine).get_table_names()
            and session.execute(select(func.count()).select_from(Community)).scalar()
        )
    if not has_data:
        schema.prepare(engine)
        start = time.perf_counter()
        summary = fill_demo(engine, 3, progress=lambda step: print(f"  {step}", flush=True))
        lines.append(f"- demo --scale 3: {summary} in {time.perf_counter() - start:,.0f} s")
    else:
        schema.prepare(engine)
        lines.append("- demo data already there")
    start = time.perf_counter()
    with Session(engine) as session:
        result = refresh(session, full=True)
    lines.append(f"- full aggregate build: {result.rows:,} rows in "
                 f"{time.perf_counter() - start:,.1f} s")  # fmt: skip
    start = time.perf_counter()
    with Session(engine) as session:
        result = refresh(session, full=False)
    lines.append(f"- window refresh (since {result.since:%d/%m/%Y}): {result.rows:,} rows in "
                 f"{time.perf_counter() - start:,.1f} s")  # fmt: skip
    engine.dispose()
    return lines


def ensure_server_database(url: str) -> None:
    """Create the named database on its server when missing; on MariaDB load the platform's
    real schema into it (the bot never creates platform tables there)."""
    from tests.support.databases import create_server_database

    parsed = make_url(url)
    server = parsed.set(database="mysql" if parsed.get_backend_name() == "mysql" else "postgres")
    engine = make_engine(server.render_as_string(hide_password=False))
    with engine.connect() as connection:
        if parsed.get_backend_name() == "postgresql":
            query = "SELECT 1 FROM pg_database WHERE datname = :name"
        else:
            query = "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"
        exists = connection.execute(text(query), {"name": parsed.database}).first() is not None
    engine.dispose()
    if not exists:
        create_server_database(
            server.render_as_string(hide_password=False),
            parsed.database or "",
            platform_schema=parsed.get_backend_name() == "mysql",
        )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.charts", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--db", action="append", default=[],
                        help="database URL (repeatable; default: the three cached)")  # fmt: skip
    parser.add_argument("--prepare", action="store_true",
                        help="build the scale-3 databases and their aggregate; exit")  # fmt: skip
    parser.add_argument("--runs", type=int, default=5, help="runs per query (default 5)")
    parser.add_argument("--render-runs", type=int, default=20)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--live", action="store_true",
                        help="also time the live SQL (no aggregate) for every series")  # fmt: skip
    args = parser.parse_args(argv)
    urls = args.db or default_urls()
    began = time.perf_counter()
    if args.prepare:
        for url in urls:
            started = time.perf_counter()
            print("\n".join(prepare_database(url)), flush=True)
            print(f"  ({time.perf_counter() - started:,.0f} s)\n", flush=True)
        return 0
    print(f"load average before: {os.getloadavg()[0]:.1f} (2-minute goals assume an idle "
          "machine)\n", flush=True)  # fmt: skip
    for url in [] if args.render_only else urls:
        print("\n".join(bench_queries(url, args.runs, args.live)), flush=True)
    print("\n".join(bench_render(args.render_runs)), flush=True)
    print(f"bench.charts: {time.perf_counter() - began:,.0f} s in all; load average "
          f"{os.getloadavg()[0]:.1f}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
