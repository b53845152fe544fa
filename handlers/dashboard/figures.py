"""An indicator's numbers for a chart, queried in one read transaction (storage.indicators),
and what is made of them: the chart's worded data, its caption, its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import date, datetime, join_list, number, t
from handlers.core.uow import transaction
from handlers.dashboard.render import ChartData
from handlers.dashboard.request import ChartRequest, resolve_scope
from storage import clock
from storage.indicators import Indicator, Period, Point, basis, series


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
            whole = series(session, request.indicator, request.period, start, end,
                           resolved.scope, where)  # fmt: skip
            name = t(lang, f"charts.per_{request.period.value}")
            return Figures(
                request, resolved.label, start, end, until,
                tuple(p.key for p in whole),
                ((name, tuple(p.value for p in whole)),),
                tuple(p.total for p in whole),
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
    """'2024-01' -> 'janv. 2024'; '2024-01-17' -> '17/01'; in a year view '01' -> 'janv.'."""
    if years:
        if period is Period.MONTH:
            return t(lang, f"charts.month.{int(key)}")
        return f"{key[3:]}/{key[:2]}"
    if period is Period.MONTH:
        return _period_words(lang, key, period)
    return f"{key[8:10]}/{key[5:7]}"


def partial_month(fig: Figures) -> tuple[int, int] | None:
    """(year, month) of the month still running in a year-against-year chart by month.

    Its value is marked as partial (its label "déc. (au 03/12)", a dashed line to a hollow
    point) rather than compared with the same days of the other years: the other years keep
    the whole-month figures the web admin's dashboard shows for them (and the CSV holds), and
    the label, the line and the caption say plainly why the current month's line drops."""
    request = fig.request
    if not request.years or request.period is not Period.MONTH:
        return None
    year = fig.until.year
    if str(year) not in (name for name, _ in fig.series):
        return None
    return year, fig.until.month


def _partial_words(lang: str, fig: Figures, key: str) -> str:
    month = t(lang, f"charts.month.{int(key)}")
    return t(lang, "charts.month_partial", month=month, date=f"{fig.until:%d/%m}")


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
        labels=tuple(_labels(lang, fig)),
        series=fig.series,
        value_label=t(lang, f"charts.unit.{indicator.value}"),
        kind="lines" if request.years else "bars",
        # Active ads are a stock per period, not a flow: no running total to draw.
        total=None if indicator is Indicator.ADS else fig.totals,
        total_label=t(lang, "charts.total"),
        decimals=decimals(indicator, _largest(fig)),
        language=lang,
        partial_series=str(partial[0]) if (partial := partial_month(fig)) else None,
    )


def _labels(lang: str, fig: Figures) -> list[str]:
    request = fig.request
    labels = [_label(lang, key, request.period, bool(request.years)) for key in fig.keys]
    partial = partial_month(fig)
    if partial is not None:
        labels[partial[1] - 1] = _partial_words(lang, fig, f"{partial[1]:02d}")
    return labels


def quantity(lang: str, indicator: Indicator, value: float, places: int = 0) -> str:
    """A figure with its unit, in the form its number takes: '1 utilisateur', '8 utilisateurs';
    tonnes of CO2 keep their decimals ('0,011 t de CO₂')."""
    if indicator is Indicator.CO2:
        return f"{number(lang, value, places)} {t(lang, 'charts.unit.co2')}"
    return t(lang, f"charts.quantity.{indicator.value}", count=round(value))


def caption(lang: str, fig: Figures) -> str:
    """The key numbers in words: the reply's caption and the image's alt text."""
    request = fig.request
    indicator = request.indicator
    places = decimals(indicator, _largest(fig))
    name = t(lang, f"charts.indicator.{indicator.value}")
    until = t(lang, "charts.until", date=datetime(fig.until, lang))
    counts = t(lang, f"charts.counts.{indicator.value}")  # what the figure counts

    def amount(value: float) -> str:
        return quantity(lang, indicator, value, places)

    if request.years:
        stock = indicator is Indicator.ADS  # a stock per month: each year's peak, not a sum
        key = "charts.caption_year_active" if stock else "charts.caption_year"
        shown = [(year, max(values, default=0.0) if stock else float(sum(values)))
                 for year, values in fig.series]  # fmt: skip
        # decimals for the totals said, not the months drawn: "14,0 t" as the period caption says
        totals = decimals(indicator, max((value for _, value in shown), default=0.0))
        parts = [t(lang, key, year=year, value=quantity(lang, indicator, value, totals))
                 for year, value in shown]  # fmt: skip
        partial = partial_month(fig)
        if partial is not None:  # said before what is counted: the current month is partial
            month = t(lang, f"charts.month.{partial[1]}")
            note = t(lang, "charts.caption_partial", month=month, year=str(partial[0]),
                     date=date(fig.until))  # fmt: skip
            counts = f"{note} {counts}"
        return t(lang, "charts.caption_years", indicator=name, scope=fig.scope_label,
                 years=join_list(lang, parts), counts=counts,
                 until=until)  # fmt: skip
    _, values = fig.series[0]
    best = max(range(len(values)), key=lambda i: values[i])
    assert fig.totals is not None
    if indicator is Indicator.ADS:
        return t(
            lang, "charts.caption_active", indicator=name, scope=fig.scope_label,
            start=date(fig.start), end=date(fig.end), last=amount(values[-1]),
            last_period=_period_words(lang, fig.keys[-1], request.period),
            best=amount(values[best]), best_period=_period_words(lang, fig.keys[best],
            request.period), counts=counts, until=until,
        )  # fmt: skip
    return t(
        lang, "charts.caption", indicator=name, scope=fig.scope_label,
        start=date(fig.start), end=date(fig.end), sum=amount(sum(values)),
        best=amount(values[best]), best_period=_period_words(lang, fig.keys[best],
        request.period), total=amount(fig.totals[-1]), counts=counts, until=until,
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
