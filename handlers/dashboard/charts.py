"""The dashboard in chat: the menus, one indicator as a chart, and its numbers as CSV.

Rights: a referent (creator or moderator) sees the indicators of the communities they administer,
one or all of them together; operators see the whole platform, any community, and may filter by
territory. Checked on every call, button presses included: a button's scope is only a pointer.

What to draw and whose data it is: request.py. The figures (figures.py) come from
storage.indicators (aggregated by the database: the bot's daily aggregate where it holds the
scope, else the platform's tables), and every chart says the moment its data runs to (the
aggregate's last refresh, or now). Drawing happens outside the transaction (cache.py, then
render.py). The synthesis card is synthesis.py.
"""

from __future__ import annotations

from sqlalchemy import select

from handlers.core.context import Actor, Context
from handlers.core.i18n import date, t
from handlers.core.markup import escape
from handlers.core.reply import Button, Image, Reply
from handlers.core.rights import administered
from handlers.core.uow import transaction, use_case
from handlers.dashboard.cache import draw
from handlers.dashboard.figures import Figures, caption, chart_data, csv_bytes, figures, file_stem
from handlers.dashboard.render import render_png
from handlers.dashboard.request import ChartRequest, default_years, resolve_scope
from storage.indicators import Indicator, Period
from storage.models import Territory

#: Territories offered on an operator's menu (the largest first); others by `graphique t<id>`.
TERRITORY_BUTTONS = 24


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
