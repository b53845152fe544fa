"""The dashboard in chat: the menus, one indicator as a chart, its numbers as CSV, and the
synthesis card (the five figures at the end of a day).

Rights: a referent (creator or moderator) sees the indicators of the communities they administer,
one or all of them together; operators see the whole platform, any community, and may filter by
territory. Checked on every call, button presses included: a button's scope is only a pointer.

What to draw and whose data it is: request.py. The figures (figures.py) come from
storage.indicators (aggregated by the database: the bot's daily aggregate where it holds the
scope, else the platform's tables), and every chart says the moment its data runs to (the
aggregate's last refresh, or now). Drawing happens outside the transaction (cache.py, then
render.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from handlers.core import limits
from handlers.core.actions import Action, Codec, Command, Parsed, Word, is_id
from handlers.core.context import Actor, Context
from handlers.core.i18n import date, datetime, join_list, number, t
from handlers.core.markup import escape
from handlers.core.reply import Button, Image, InputRequest, Reply
from handlers.core.rights import administered
from handlers.core.uow import transaction, use_case
from handlers.dashboard.cache import draw
from handlers.dashboard.figures import (
    Figures,
    caption,
    chart_data,
    csv_bytes,
    decimals,
    figures,
    file_stem,
)
from handlers.dashboard.render import CardData, render_card_png, render_png
from handlers.dashboard.request import (
    ChartRequest,
    default_years,
    parse_scope,
    parse_synthesis_ref,
    parse_typed_date,
    resolve_scope,
    synthesis_ref,
)
from storage import clock
from storage.indicators import Indicator, Period, basis, totals_at
from storage.models import Territory

#: Month ends offered on the synthesis card (besides today and a typed date).
SYNTHESIS_MONTH_ENDS = 3
#: Territories offered on an operator's menu (the largest first); others by `graphique t<id>`.
TERRITORY_BUTTONS = 24


def _nav_buttons(lang: str, request: ChartRequest) -> tuple[tuple[Button, ...], ...]:
    other_period = Period.DAY if request.period is Period.MONTH else Period.MONTH
    toggle = ChartRequest(request.indicator, other_period, request.scope, years=request.years)
    if request.years:
        view = CHART.button(
            t(lang, "charts.button.recent"),
            ChartRequest(request.indicator, request.period, request.scope),
        )
    else:
        view = CHART.button(t(lang, "charts.button.years",
                              years=" / ".join(map(str, default_years()))),
                            ChartRequest(request.indicator, request.period, request.scope,
                                         years=default_years()))  # fmt: skip
    return (
        (CHART.button(t(lang, f"charts.button.{other_period.value}"), toggle), view),
        (
            CHART_CSV.button(t(lang, "charts.button.csv"), request),
            CHART_MENU.button(t(lang, "charts.button.menu"), request.scope),
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


@use_case
def menu(ctx: Context, actor: Actor, scope: str) -> Reply:
    """The indicators of one scope, as the dashboard's tabs."""
    lang = actor.language
    with transaction(ctx) as session:
        resolved = resolve_scope(session, actor, scope)

    def button(indicator: Indicator) -> Button:
        return CHART.button(t(lang, f"charts.indicator.{indicator.value}"),
                            ChartRequest(indicator, Period.MONTH, scope))  # fmt: skip

    rows = (
        (button(Indicator.CO2), button(Indicator.ADS)),
        (button(Indicator.USERS), button(Indicator.SOLIDARITY)),
        (button(Indicator.COMMUNITIES), CHART_SUM.button(t(lang, "charts.button.synthesis"),
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
        rows: list[tuple[Button, ...]] = [(CHART_MENU.button(t(lang, "charts.platform"), "a"),)]
        pairs = [CHART_MENU.button(escape(name), f"t{tid}") for tid, name in territories]
        rows += [tuple(pairs[i : i + 2]) for i in range(0, len(pairs), 2)]
        return Reply(t(lang, "charts.pick_operator"), tuple(rows))
    with transaction(ctx) as session:
        rows_ = administered(session, actor)
        mine = territory_names(session, actor.territories)
    if mine:  # a territory admin: their territories first, then their communities
        buttons_ = [(CHART_MENU.button(escape(name), f"t{tid}"),) for tid, name in mine]
        if rows_:
            buttons_.append(
                (Button(t(lang, "charts.all_mine", count=len(rows_)), "chart_menu", "a"),)
            )
        buttons_ += [
            (CHART_MENU.button(escape(row.community.name), f"c{row.community.id}"),)
            for row in rows_[:40]
        ]
        return Reply(t(lang, "charts.pick_territory"), tuple(buttons_))
    if not rows_:
        return Reply(t(lang, "charts.no_rights"), ok=False)
    if len(rows_) == 1:
        return menu(ctx, actor, f"c{rows_[0].community.id}")
    buttons = [(Button(t(lang, "charts.all_mine", count=len(rows_)), "chart_menu", "a"),)]
    buttons += [
        (CHART_MENU.button(escape(row.community.name), f"c{row.community.id}"),)
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


# --------------------------------------------------------------------------- the synthesis card


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
    days = [CHART_SUM.button(t(lang, "charts.button.today"), scope)]
    days += [CHART_SUM.button(date(day), scope, day)
             for day in _month_ends(today, SYNTHESIS_MONTH_ENDS)]  # fmt: skip
    prompt = t(lang, "charts.date_prompt")
    typed = CHART_SUM.button(t(lang, "charts.button.other_date"), scope,
                             input=InputRequest(prompt))  # fmt: skip
    return (tuple(days[:2]), tuple(days[2:]),
            (typed, CHART_MENU.button(t(lang, "charts.button.menu"), scope)))  # fmt: skip


def year_before(day: dt.date) -> dt.date:
    """The same date a year before; 29 February gives 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def change(lang: str, now: float, before: float) -> str:
    """'+12 %', '−3 %' (a minus sign, not a hyphen), or '—' when there is nothing to compare
    with (zero the year before: no percentage of nothing)."""
    if before <= 0:
        return "—"
    percent = round((now - before) / before * 100)
    sign = "+" if percent > 0 else "\u2212" if percent < 0 else ""
    return t(lang, "charts.percent", sign=sign, value=number(lang, abs(percent)))


def figure_rows(lang: str, values: dict[Indicator, float]) -> tuple[tuple[str, str], ...]:
    """(label, value) of the five figures, as the synthesis card and the Slack Home show them."""
    return tuple(
        (
            t(lang, f"charts.indicator.{indicator.value}"),
            number(lang, values[indicator], decimals(indicator, values[indicator]))
            + (" t" if indicator is Indicator.CO2 else ""),
        )
        for indicator in Indicator
    )


def figure_line(lang: str, label: str, value: str) -> str:
    """A figure and its name: French puts a space before the colon, English does not."""
    return t(lang, "charts.figure_line", label=label, value=value)


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
        before = totals_at(session, year_before(day), resolved.scope, where)
    rows = figure_rows(lang, values)
    changes = tuple(
        t(lang, "charts.synthesis_change", change=change(lang, values[i], before[i]))
        for i in Indicator
    )
    title = t(lang, "charts.synthesis_title", scope=resolved.label, date=date(day))
    until = t(lang, "charts.until", date=datetime(where.until, lang))
    shown = [
        f"{figure_line(lang, label, value)} ({more})"
        for (label, value), more in zip(rows, changes, strict=True)
    ]
    lines = [f"**{title}**", until] + [f"• {line}" for line in shown]
    text = "\n".join([*lines, t(lang, "charts.synthesis_counts")])
    png = draw(ctx, render_card_png, CardData(t(lang, "charts.synthesis_at", date=date(day)),
                                              f"{resolved.label} · {until}", rows,
                                              changes))  # fmt: skip
    alt = join_list(lang, shown) + f". {until}"
    image = Image(png=png, caption=f"{title}. {alt}", alt=alt, filename="synthese.png")
    return Reply(text, synthesis_buttons(lang, scope), images=(image,))


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
