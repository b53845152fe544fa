"""What a chart shows: the request (indicator, period, range or years, scope), its compact
button reference, and the scope resolved against the actor's rights."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers.core.context import Actor
from handlers.core.errors import Refusal
from handlers.core.i18n import t
from handlers.core.markup import escape
from handlers.core.rights import administered, administered_community
from storage import clock
from storage.indicators import Indicator, Period, Scope
from storage.models import Territory

#: Button code of each period (callback data is short).
PERIOD_CODES = {"d": Period.DAY, "m": Period.MONTH}
#: How far back a chart goes when no range is given.
DEFAULT_DAYS = 31
DEFAULT_MONTHS = 12


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
