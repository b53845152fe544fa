"""The dashboard in chat: indicator charts, the synthesis card and their numbers as CSV.

Rights: a referent (creator or moderator) sees the indicators of the communities they administer,
one or all of them together; operators see the whole platform, any community, and may filter by
territory. Checked on every call, button presses included: a button's scope is only a pointer.

The figures come from storage.indicators (aggregated by the database: the bot's daily aggregate
where it holds the scope, else the platform's tables), and every chart says the moment its data
runs to (the aggregate's last refresh, or now). Drawing happens outside
the transaction, through `ctx.chart_renderer` (the bot's process pool) when there is one, and a
chart whose data has not changed comes from a cache keyed by the digest of everything drawn.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from handlers.core import limits
from handlers.core.actions import Action, Codec, Command, Parsed, Word, is_id
from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import date, datetime, number, t
from handlers.core.markup import escape
from handlers.core.reply import Button, Image, InputRequest, Reply
from handlers.core.rights import administered, administered_community
from handlers.core.uow import transaction, use_case
from handlers.dashboard.render import CardData, ChartData, render_card_png, render_png
from storage import clock
from storage.indicators import Indicator, Period, Point, Scope, basis, series, totals_at
from storage.models import Territory

#: Button code of each period (callback data is short).
PERIOD_CODES = {"d": Period.DAY, "m": Period.MONTH}
#: How far back a chart goes when no range is given.
DEFAULT_DAYS = 31
DEFAULT_MONTHS = 12
#: Territories offered on an operator's menu (the largest first); others by `graphique t<id>`.
TERRITORY_BUTTONS = 24
RENDER_TIMEOUT_S = 60
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True)
class ChartRequest:
    """What to draw. `scope` is 'a' (all the actor may see), 'c<id>' or 't<id>'.

    `years` set: the year-against-year view, one series per year; otherwise start..end.
    """

    indicator: Indicator
    period: Period = Period.MONTH
    scope: str = "a"
    start: dt.date | None = None
    end: dt.date | None = None
    years: tuple[int, ...] | None = None

    def ref(self) -> str:
        """Compact button reference: indicator:period:mode:scope (well within 64 bytes)."""
        mode = "y" if self.years else "r"
        return f"{self.indicator.value}:{self.period.value[0]}:{mode}:{self.scope}"

    @classmethod
    def from_ref(cls, ref: str) -> ChartRequest:
        parts = ref.split(":")
        if len(parts) != 4 or parts[1] not in PERIOD_CODES or parts[2] not in ("r", "y"):
            raise ValueError(ref)
        indicator = Indicator(parts[0])
        parse_scope(parts[3])
        years = default_years() if parts[2] == "y" else None
        return cls(indicator, PERIOD_CODES[parts[1]], parts[3], years=years)

    def bounds(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The range drawn: given, else the last 12 months / 31 days; years: Jan 1 to Dec 31."""
        if self.years:
            return dt.date(min(self.years), 1, 1), dt.date(max(self.years), 12, 31)
        end = self.end or today
        if self.start:
            return self.start, end
        if self.period is Period.DAY:
            return end - dt.timedelta(days=DEFAULT_DAYS - 1), end
        months = end.year * 12 + end.month - 1 - (DEFAULT_MONTHS - 1)
        return dt.date(months // 12, months % 12 + 1, 1), end


def default_years() -> tuple[int, ...]:
    year = clock.today().year
    return (year - 1, year)


def parse_scope(scope: str) -> tuple[str, int | None]:
    """'a' -> ('a', None); 'c12' -> ('c', 12); 't3' -> ('t', 3); anything else is refused."""
    if scope == "a":
        return "a", None
    kind, digits = scope[:1], scope[1:]
    if kind in ("c", "t") and digits.isascii() and digits.isdigit() and 0 < len(digits) <= 10:
        value = int(digits)
        if value <= 2**31 - 1:
            return kind, value
    raise ValueError(scope)


@dataclass(frozen=True)
class ResolvedScope:
    scope: Scope
    #: The community's or territory's name, escaped for reply texts (handlers.core.markup).
    label: str


def resolve_scope(session, actor: Actor, scope: str) -> ResolvedScope:
    """Check the actor's rights on `scope` now, and say whose data it is."""
    lang = actor.language
    kind, value = parse_scope(scope)
    if kind == "c":
        assert value is not None
        community = administered_community(session, actor, value)
        return ResolvedScope(Scope(community_ids=(community.id,)), escape(community.name))
    if kind == "t":
        # Operators and platform admins everywhere: any territory; a territory admin: theirs
        # (the dashboard's territories of the admin's assignments, AnalyticManager).
        if not (actor.is_operator or value in actor.territories):
            raise Refusal("charts.territory_operators")
        territory = session.get(Territory, value)
        if territory is None:
            raise Refusal("charts.unknown_territory", id=value)
        return ResolvedScope(Scope(territory_id=territory.id), escape(territory.name))
    if actor.is_operator:
        return ResolvedScope(Scope(), t(lang, "charts.platform"))
    rows = administered(session, actor)
    if not rows:
        raise Refusal("charts.no_rights")
    if len(rows) == 1:
        return ResolvedScope(
            Scope(community_ids=(rows[0].community.id,)), escape(rows[0].community.name)
        )
    ids = tuple(sorted(row.community.id for row in rows))
    return ResolvedScope(Scope(community_ids=ids), t(lang, "charts.all_mine", count=len(ids)))


# --------------------------------------------------------------------------- rendering + cache


class RenderCache:
    """Recently drawn PNGs by digest of what they show (spec + data): a thread-safe LRU."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(function: Callable[[Any], bytes], data: object) -> str:
        return hashlib.sha256(pickle.dumps((function.__name__, data))).hexdigest()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return png

    def put(self, key: str, png: bytes) -> None:
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


CACHE = RenderCache()


def draw(ctx: Context, function: Callable[[Any], bytes], data: object) -> bytes:
    """The PNG of `data`: from the cache, else from the process pool (or in-process)."""
    key = CACHE.key(function, data)
    png = CACHE.get(key)
    if png is not None:
        return png
    png = None
    if ctx.chart_renderer is not None:
        try:
            png = ctx.chart_renderer.submit(function, data).result(timeout=RENDER_TIMEOUT_S)
        except (BrokenExecutor, FutureTimeout, RuntimeError) as error:
            # A dead or shut-down pool must not cost the referent their chart: this thread
            # (a use-case thread, never the event loop) draws it instead.
            log.warning("chart pool unavailable (%s): drawing in-process", type(error).__name__)
    if png is None:
        png = function(data)
    CACHE.put(key, png)
    return png


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Figures:
    """An indicator's numbers as drawn: one or more series over labelled periods."""

    request: ChartRequest
    scope_label: str
    start: dt.date
    end: dt.date
    until: dt.datetime  # the moment the data runs to
    keys: tuple[str, ...]
    #: (series name, values); for a range, one series and its running total in `totals`.
    series: tuple[tuple[str, tuple[float, ...]], ...]
    totals: tuple[float, ...] | None

    @property
    def empty(self) -> bool:
        """Nothing to draw: no value in the range and, for the counts, no running total above
        zero either (a community's member count is worth a chart even in a month nobody
        joined; CO2 saved is a quantity per period, so no carpool in the range is no data)."""
        if any(value for _, values in self.series for value in values):
            return False
        if self.request.indicator is Indicator.CO2:
            return True
        return not (self.totals and any(self.totals))


def decimals(indicator: Indicator, largest: float = 0.0) -> int:
    """Counts are whole; tonnes of CO2 get enough decimals to say something (0,011 t for a
    small community rather than 0,0 t)."""
    if indicator is not Indicator.CO2:
        return 0
    return 1 if largest >= 10 else 2 if largest >= 1 else 3


def _largest(fig: Figures) -> float:
    numbers = [value for _, values in fig.series for value in values]
    return max(numbers + list(fig.totals or ()), default=0.0)


def figures(ctx: Context, actor: Actor, request: ChartRequest) -> Figures:
    """Query the numbers behind a chart, rights checked, in one read transaction."""
    lang = actor.language
    today = clock.today()
    start, end = request.bounds(today)
    if end < start:
        raise Refusal("charts.bad_range")
    if request.period is Period.DAY and (end - start).days > 731:
        raise Refusal("charts.range_too_long")
    with transaction(ctx) as session:
        resolved = resolve_scope(session, actor, request.scope)
        where = basis(session, resolved.scope)
        until = where.until
        if not request.years:
            points = series(session, request.indicator, request.period, start, end,
                            resolved.scope, where)  # fmt: skip
            name = t(lang, f"charts.per_{request.period.value}")
            return Figures(
                request, resolved.label, start, end, until,
                tuple(p.key for p in points),
                ((name, tuple(p.value for p in points)),),
                tuple(p.total for p in points),
            )  # fmt: skip
        by_year: list[tuple[str, tuple[float, ...]]] = []
        keys: tuple[str, ...] = ()
        for year in sorted(set(request.years)):
            year_end = min(dt.date(year, 12, 31), until.date())
            points: list[Point] = []
            if year_end >= dt.date(year, 1, 1):
                points = series(
                    session, request.indicator, request.period, dt.date(year, 1, 1), year_end,
                    resolved.scope, where,
                )  # fmt: skip
            values = tuple(p.value for p in points)
            if request.period is Period.DAY:
                # Day of the year: leap days would shift every later day, so key by MM-DD.
                keyed = {p.key[5:]: p.value for p in points}
                full = _year_day_keys()
                values = tuple(keyed.get(k, 0.0) for k in full[: len(points)])
                keys = tuple(full)
            else:
                keys = tuple(f"{m:02d}" for m in range(1, 13))
            by_year.append((str(year), values))
        return Figures(request, resolved.label, start, end, until, keys, tuple(by_year), None)


def _year_day_keys() -> list[str]:
    day, keys = dt.date(2024, 1, 1), []  # a leap year: every MM-DD
    while day.year == 2024:
        keys.append(day.strftime("%m-%d"))
        day += dt.timedelta(days=1)
    return keys


def _label(lang: str, key: str, period: Period, years: bool) -> str:
    """'2024-01' -> '01/2024'; '2024-01-17' -> '17/01'; in a year view '01' -> 'janv.'."""
    if years:
        if period is Period.MONTH:
            return t(lang, f"charts.month.{int(key)}")
        return f"{key[3:]}/{key[:2]}"
    if period is Period.MONTH:
        return f"{key[5:7]}/{key[:4]}"
    return f"{key[8:10]}/{key[5:7]}"


def _period_words(lang: str, key: str, period: Period) -> str:
    if period is Period.MONTH:
        return f"{t(lang, f'charts.month.{int(key[5:7])}')} {key[:4]}"
    return date(dt.date.fromisoformat(key))


def chart_data(lang: str, fig: Figures) -> ChartData:
    request = fig.request
    indicator = request.indicator
    name = t(lang, f"charts.indicator.{indicator.value}")
    if request.years:
        subtitle = t(lang, "charts.subtitle_years", scope=fig.scope_label,
                     years=" / ".join(s for s, _ in fig.series), until=date(fig.until))  # fmt: skip
    else:
        subtitle = t(lang, "charts.subtitle", scope=fig.scope_label, start=date(fig.start),
                     end=date(fig.end), until=datetime(fig.until, lang))  # fmt: skip
    return ChartData(
        title=name,
        subtitle=subtitle,
        labels=tuple(_label(lang, k, request.period, bool(request.years)) for k in fig.keys),
        series=fig.series,
        value_label=t(lang, f"charts.unit.{indicator.value}"),
        kind="lines" if request.years else "bars",
        # Active ads are a stock per period, not a flow: no running total to draw.
        total=None if indicator is Indicator.ADS else fig.totals,
        total_label=t(lang, "charts.total"),
        decimals=decimals(indicator, _largest(fig)),
    )


def caption(lang: str, fig: Figures) -> str:
    """The key numbers in words: the reply's caption and the image's alt text."""
    request = fig.request
    indicator = request.indicator
    places = decimals(indicator, _largest(fig))
    unit = t(lang, f"charts.unit.{indicator.value}")
    name = t(lang, f"charts.indicator.{indicator.value}")
    until = t(lang, "charts.until", date=datetime(fig.until, lang))
    counts = t(lang, f"charts.counts.{indicator.value}")  # what the figure counts
    if request.years:
        if indicator is Indicator.ADS:  # a stock per month: its peak, not a sum
            parts = [t(lang, "charts.caption_year_active", year=year,
                       value=number(max(values, default=0)), unit=unit)
                     for year, values in fig.series]  # fmt: skip
        else:
            parts = [t(lang, "charts.caption_year", year=year, value=number(sum(values), places),
                       unit=unit) for year, values in fig.series]  # fmt: skip
        return t(lang, "charts.caption_years", indicator=name, scope=fig.scope_label,
                 years="; ".join(parts), counts=counts, until=until)  # fmt: skip
    _, values = fig.series[0]
    best = max(range(len(values)), key=lambda i: values[i])
    assert fig.totals is not None
    if indicator is Indicator.ADS:
        return t(
            lang, "charts.caption_active", indicator=name, scope=fig.scope_label,
            start=date(fig.start), end=date(fig.end), last=number(values[-1]), unit=unit,
            last_period=_period_words(lang, fig.keys[-1], request.period),
            best=number(values[best]), best_period=_period_words(lang, fig.keys[best],
            request.period), counts=counts, until=until,
        )  # fmt: skip
    return t(
        lang, "charts.caption", indicator=name, scope=fig.scope_label,
        start=date(fig.start), end=date(fig.end), sum=number(sum(values), places), unit=unit,
        best=number(values[best], places), best_period=_period_words(lang, fig.keys[best],
        request.period), total=number(fig.totals[-1], places), counts=counts, until=until,
    )  # fmt: skip


def csv_bytes(lang: str, fig: Figures) -> bytes:
    """The numbers behind the chart: period, series, value (machine-readable: ISO periods)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "series", "value"])
    indicator = fig.request.indicator
    places = 6 if indicator is Indicator.CO2 else 0
    for name, values in fig.series:
        for key, value in zip(fig.keys, values, strict=False):
            period = f"{name}-{key}" if fig.request.years else key
            writer.writerow([period, name, f"{value:.{places}f}"])
    if fig.totals is not None and indicator is not Indicator.ADS:
        for key, value in zip(fig.keys, fig.totals, strict=True):
            writer.writerow([key, t(lang, "charts.total"), f"{value:.{places}f}"])
    return out.getvalue().encode("utf-8")


def file_stem(fig: Figures) -> str:
    mode = "annees" if fig.request.years else f"{fig.start:%Y%m%d}-{fig.end:%Y%m%d}"
    return f"{fig.request.indicator.value}-{fig.request.period.value}-{mode}"


# --------------------------------------------------------------------------- use cases


def _nav_buttons(lang: str, request: ChartRequest) -> tuple[tuple[Button, ...], ...]:
    other_period = Period.DAY if request.period is Period.MONTH else Period.MONTH
    toggle = ChartRequest(request.indicator, other_period, request.scope, years=request.years)
    if request.years:
        view = Button(
            t(lang, "charts.button.recent"),
            "chart",
            ChartRequest(request.indicator, request.period, request.scope).ref(),
        )
    else:
        view = Button(t(lang, "charts.button.years", years=" / ".join(map(str, default_years()))),
                      "chart", ChartRequest(request.indicator, request.period, request.scope,
                                            years=default_years()).ref())  # fmt: skip
    return (
        (Button(t(lang, f"charts.button.{other_period.value}"), "chart", toggle.ref()), view),
        (
            Button(t(lang, "charts.button.csv"), "chart_csv", request.ref()),
            Button(t(lang, "charts.button.menu"), "chart_menu", request.scope),
        ),
    )


def render_chart(ctx: Context, actor: Actor, request: ChartRequest) -> tuple[Figures, Image | None]:
    """The figures and their image (None when there is nothing to draw). Raises Refusal."""
    lang = actor.language
    fig = figures(ctx, actor, request)
    if fig.empty:
        return fig, None
    text = caption(lang, fig)
    png = draw(ctx, render_png, chart_data(lang, fig))
    return fig, Image(png=png, caption=text, alt=text, filename=f"{file_stem(fig)}.png")


def no_data_text(lang: str, fig: Figures) -> str:
    name = t(lang, f"charts.indicator.{fig.request.indicator.value}")
    return t(lang, "charts.no_data", indicator=name, scope=fig.scope_label,
             start=date(fig.start), end=date(min(fig.end, fig.until.date())))  # fmt: skip


@use_case
def chart(ctx: Context, actor: Actor, request: ChartRequest) -> Reply:
    """One indicator as a chart, with buttons to change the period and the view."""
    lang = actor.language
    fig, image = render_chart(ctx, actor, request)
    buttons = _nav_buttons(lang, request)
    if image is None:
        return Reply(no_data_text(lang, fig), buttons)
    return Reply(image.caption, buttons, images=(image,))


@use_case
def chart_csv(ctx: Context, actor: Actor, request: ChartRequest) -> Reply:
    """The numbers behind a chart as a CSV file (period, series, value)."""
    lang = actor.language
    fig = figures(ctx, actor, request)
    name = f"{file_stem(fig)}.csv"
    unit = t(lang, f"charts.unit.{request.indicator.value}")
    return Reply(
        t(lang, "charts.csv_sent", name=name, unit=unit), files=((name, csv_bytes(lang, fig)),)
    )


#: Month ends offered on the synthesis card (besides today and a typed date).
SYNTHESIS_MONTH_ENDS = 3


def synthesis_ref(scope: str, day: dt.date | None = None) -> str:
    """'c12' (today) or 'c12:20240131' (the end of that day)."""
    return scope if day is None else f"{scope}:{day:%Y%m%d}"


def parse_synthesis_ref(ref: str) -> tuple[str, dt.date | None]:
    """The inverse of synthesis_ref; anything else raises ValueError."""
    scope, _, day = ref.partition(":")
    parse_scope(scope)
    if not day:
        return scope, None
    if len(day) != 8 or not day.isascii() or not day.isdigit():
        raise ValueError(ref)
    return scope, dt.datetime.strptime(day, "%Y%m%d").date()


def parse_typed_date(text: str) -> dt.date | None:
    """'31/01/2024' (or 31/1/2024, 31-01-2024, 31.01.2024) -> a date; None if not one."""
    parts = text.strip().replace("-", "/").replace(".", "/").split("/")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    day, month, year = (int(p) for p in parts)
    if len(parts[2]) != 4:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_ends(today: dt.date, count: int) -> list[dt.date]:
    """The last days of the `count` months before today's."""
    ends, day = [], today.replace(day=1)
    for _ in range(count):
        day -= dt.timedelta(days=1)
        ends.append(day)
        day = day.replace(day=1)
    return ends


def synthesis_buttons(lang: str, scope: str) -> tuple[tuple[Button, ...], ...]:
    """Another date: today, the ends of the last months, or one typed (jj/mm/aaaa)."""
    today = clock.today()
    days = [Button(t(lang, "charts.button.today"), "chart_sum", synthesis_ref(scope))]
    days += [Button(date(day), "chart_sum", synthesis_ref(scope, day))
             for day in _month_ends(today, SYNTHESIS_MONTH_ENDS)]  # fmt: skip
    prompt = t(lang, "charts.date_prompt")
    typed = Button(t(lang, "charts.button.other_date"), "chart_sum", scope,
                   input=InputRequest(prompt))  # fmt: skip
    return (tuple(days[:2]), tuple(days[2:]),
            (typed, Button(t(lang, "charts.button.menu"), "chart_menu", scope)))  # fmt: skip


@use_case
def synthesis(
    ctx: Context, actor: Actor, scope: str, at: dt.date | None = None, typed: str | None = None
) -> Reply:
    """The dashboard's summary: the five figures at the end of a day (today unless `at`, or a
    date the referent typed), as text and as a card, with buttons for other dates."""
    lang = actor.language
    today = clock.today()
    if typed is not None:
        limits.check(typed, limits.DATE)
        at = parse_typed_date(typed)
        if at is None:
            return Reply(t(lang, "charts.bad_date", text=typed.strip()[:40]),
                         synthesis_buttons(lang, scope), ok=False)  # fmt: skip
    if at is not None and at > today:
        return Reply(t(lang, "charts.future_date", date=date(at)),
                     synthesis_buttons(lang, scope), ok=False)  # fmt: skip
    day = at or today
    with transaction(ctx) as session:
        resolved = resolve_scope(session, actor, scope)
        where = basis(session, resolved.scope)
        values = totals_at(session, day, resolved.scope, where)
    rows = tuple(
        (
            t(lang, f"charts.indicator.{indicator.value}"),
            number(values[indicator], decimals(indicator, values[indicator]))
            + (" t" if indicator is Indicator.CO2 else ""),
        )
        for indicator in Indicator
    )
    title = t(lang, "charts.synthesis_title", scope=resolved.label, date=date(day))
    until = t(lang, "charts.until", date=datetime(where.until, lang))
    lines = [f"**{title}**", until] + [f"• {label} : {value}" for label, value in rows]
    text = "\n".join([*lines, t(lang, "charts.synthesis_counts")])
    png = draw(ctx, render_card_png, CardData(t(lang, "charts.synthesis_at", date=date(day)),
                                              f"{resolved.label} · {until}", rows))  # fmt: skip
    alt = "; ".join(f"{label} : {value}" for label, value in rows) + f". {until}"
    image = Image(png=png, caption=f"{title}. {alt}", alt=alt, filename="synthese.png")
    return Reply(text, synthesis_buttons(lang, scope), images=(image,))


@use_case
def menu(ctx: Context, actor: Actor, scope: str) -> Reply:
    """The indicators of one scope, as the dashboard's tabs."""
    lang = actor.language
    with transaction(ctx) as session:
        resolved = resolve_scope(session, actor, scope)

    def button(indicator: Indicator) -> Button:
        return Button(t(lang, f"charts.indicator.{indicator.value}"), "chart",
                      ChartRequest(indicator, Period.MONTH, scope).ref())  # fmt: skip

    rows = (
        (button(Indicator.CO2), button(Indicator.ADS)),
        (button(Indicator.USERS), button(Indicator.SOLIDARITY)),
        (button(Indicator.COMMUNITIES), Button(t(lang, "charts.button.synthesis"), "chart_sum",
                                                scope)),
    )  # fmt: skip
    return Reply(t(lang, "charts.menu", scope=resolved.label), rows)


@use_case
def open_charts(ctx: Context, actor: Actor, community_id: int | None = None) -> Reply:
    """`graphique [n°]`: a community's menu, else pick whose indicators (or territory)."""
    lang = actor.language
    if community_id is not None:
        return menu(ctx, actor, f"c{community_id}")
    if actor.is_operator:
        with transaction(ctx) as session:
            territories = territory_choices(session)
        rows: list[tuple[Button, ...]] = [(Button(t(lang, "charts.platform"), "chart_menu", "a"),)]
        pairs = [Button(escape(name), "chart_menu", f"t{tid}") for tid, name in territories]
        rows += [tuple(pairs[i : i + 2]) for i in range(0, len(pairs), 2)]
        return Reply(t(lang, "charts.pick_operator"), tuple(rows))
    with transaction(ctx) as session:
        rows_ = administered(session, actor)
        mine = territory_names(session, actor.territories)
    if mine:  # a territory admin: their territories first, then their communities
        buttons_ = [(Button(escape(name), "chart_menu", f"t{tid}"),) for tid, name in mine]
        if rows_:
            buttons_.append(
                (Button(t(lang, "charts.all_mine", count=len(rows_)), "chart_menu", "a"),)
            )
        buttons_ += [
            (Button(escape(row.community.name), "chart_menu", f"c{row.community.id}"),)
            for row in rows_[:40]
        ]
        return Reply(t(lang, "charts.pick_territory"), tuple(buttons_))
    if not rows_:
        return Reply(t(lang, "charts.no_rights"), ok=False)
    if len(rows_) == 1:
        return menu(ctx, actor, f"c{rows_[0].community.id}")
    buttons = [(Button(t(lang, "charts.all_mine", count=len(rows_)), "chart_menu", "a"),)]
    buttons += [
        (Button(escape(row.community.name), "chart_menu", f"c{row.community.id}"),)
        for row in rows_[:40]
    ]
    return Reply(t(lang, "charts.pick"), tuple(buttons))


def territory_names(session, territory_ids: frozenset[int]) -> list[tuple[int, str]]:
    """(id, name) of these territories, by name (a territory admin's)."""
    if not territory_ids:
        return []
    rows = session.execute(
        select(Territory.id, Territory.name)
        .where(Territory.id.in_(sorted(territory_ids)))
        .order_by(Territory.name, Territory.id)
    ).all()
    return [(row.id, row.name) for row in rows]


def territory_choices(session) -> list[tuple[int, str]]:
    """Territories for an operator's menu: the broadest levels first, then by name."""
    rows = session.execute(
        select(Territory.id, Territory.name)
        .order_by(Territory.admin_level, Territory.name)
        .limit(TERRITORY_BUTTONS)
    ).all()
    return [(row.id, row.name) for row in rows]


# --------------------------------------------------------------------------- declarations


def _open_command(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    """`graphique [n°]`: the dashboard's menu."""
    if args and args[0].isascii() and args[0].isdigit():
        if not is_id(args[0]):
            return Reply(t(actor.language, "error.unknown_community", id=args[0]), ok=False)
        return open_charts(ctx, actor, int(args[0]))
    return open_charts(ctx, actor)


def _synthesis(
    ctx: Context, actor: Actor, scope: str, at: dt.date | None, typed: str | None
) -> Reply:
    return synthesis(ctx, actor, scope, at, typed=typed)


CHART_MENU = Action("chart_menu", Word(parse_scope), menu)
CHART = Action("chart", Codec(ChartRequest), chart)
CHART_CSV = Action("chart_csv", Codec(ChartRequest), chart_csv)
CHART_SUM = Action(
    "chart_sum",
    Parsed(synthesis_ref, parse_synthesis_ref),
    _synthesis,
    takes="text",
    limit=limits.DATE,
)
ACTIONS = (CHART_MENU, CHART, CHART_CSV, CHART_SUM)
COMMAND = Command("graphique", "chart", _open_command)
