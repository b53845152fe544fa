"""The synthesis card: the dashboard's five figures at the end of a day, as text and as an
image, with buttons for other dates (the ends of the last months, or one typed)."""

from __future__ import annotations

import datetime as dt

from handlers.core import limits
from handlers.core.context import Actor, Context
from handlers.core.i18n import date, datetime, number, t
from handlers.core.reply import Button, Image, InputRequest, Reply
from handlers.core.uow import transaction, use_case
from handlers.dashboard.cache import draw
from handlers.dashboard.figures import decimals
from handlers.dashboard.render import CardData, render_card_png
from handlers.dashboard.request import parse_scope, resolve_scope
from storage import clock
from storage.indicators import Indicator, basis, totals_at

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
