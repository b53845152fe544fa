"""The dashboard's indicators, aggregated by the database: one GROUP BY query per series.

Why in SQL: at the platform's size (a million users, millions of carpool items) loading rows into
Python would take seconds and memory; the database returns one row per period instead. The
period key is a string ('2024-01' or '2024-01-17') built with each dialect's own functions
(a prefix of SQLite's ISO text, date_trunc then to_char on PostgreSQL, EXTRACT/TO_DAYS then
DATE_FORMAT on MariaDB/MySQL), so every backend returns the same keys. The running total is a window
function over the periods plus the total before the range, also computed by the database.

Definitions follow the referent guide's "Lexique des indicateurs" and, where the guide says no
more, the platform's own counts (docs/platform.md, "Indicators", cites each platform file):

- co2: 213 g of CO2 per km (GeoTools::getCO2) of the carpools carried out
  (carpool_item.item_status = 1, by item_date). carpool_item.distance is in whole kilometres
  (PaymentManager writes round(common_distance / 1000)); it is NULL for items before June 2023,
  whose distance is then the matching's common_distance / 1000 through carpool_item.ask_id ->
  ask.matching_id (CarpoolExportManager). Summed in metres (exact integers); values in tonnes.
- ads: the guide's "nombre d'annonces actives par mois": the ads valid in the period
  (ADS_RULES below: not private, a return trip not counted again, paused ads counted),
  i.e. published by its end and valid in it (a punctual ad on its from_date, a regular one from
  from_date to to_date, as ProposalRepository::countAvailableAds reads them). Counted as ads
  starting (the later of publication and from_date) up to the period's end minus ads whose last
  valid day is before its start: two sums of daily counts, so the daily aggregate serves it too.
- users: every user row, validated or not (UserRepository::countUsers), by user.created_date.
- solidarity: the guide's "passagers solidaires": users whose solidary_user is a beneficiary
  (volunteers are drivers), by solidary_user.created_date (the user's when it is empty).
- communities: every community row (CommunityRepository::countCommunities), by created_date.

Where the numbers come from: the daily aggregate (bot_indicator_day, kept by
storage.indicator_days) for the whole platform, one community or one territory once it has been
built; the live platform tables otherwise (several communities together, before the first build,
or with `live=True`). Both go through the same GROUP BY code and give the same numbers.

Filters: a set of communities (their accepted members; their ads through proposal_community;
their members' carpools, as driver or passenger; the communities themselves) and a territory
(through address_territory: users' homes, ads' origin or destination waypoints, carpools whose
driver or passenger lives there, communities' addresses).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    SQLColumnExpression,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage import clock
from storage.bot_models import IndicatorDay, IndicatorRefresh
from storage.codes import (
    ACCEPTED_STATUSES,
    CO2_GRAMS_PER_KM,
    CarpoolItemStatus,
    CriteriaFrequency,
    ProposalType,
)
from storage.models import (
    Address,
    AddressTerritory,
    Ask,
    CarpoolItem,
    Community,
    CommunityUser,
    Criteria,
    Matching,
    Proposal,
    ProposalCommunity,
    SolidaryUser,
    User,
    Waypoint,
)


@dataclass(frozen=True)
class AdsRules:
    """Which ads the "Annonces publiées" figure counts, where the platform leaves it to us.

    Fixed by the platform: private ads (searches, private = 1) are never published ads
    (ProposalRepository::countAvailableAds: private = 0 OR NULL); `active` is not read (only
    real-time carpooling writes it, DynamicManager; an ordinary ad keeps it NULL).
    Our choices, changed here only:
    - paused: counted. countAvailableAds and findCommunityAds count paused ads, and `paused` is a
      current flag with no date: leaving them out would also remove them from past months.
    - return trips: not counted again. An outward + return ad is one ad to its author, and the
      platform's counts of ads (countProposalsBetweenCreateDate, findCommunityAds) keep types 1
      and 2 only.
    """

    count_paused: bool = True
    count_returns: bool = False


ADS_RULES = AdsRules()


class Indicator(StrEnum):
    CO2 = "co2"
    ADS = "ads"
    USERS = "users"
    SOLIDARITY = "solidarity"
    COMMUNITIES = "communities"


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class Scope:
    """Whose data: None = the whole platform; otherwise these communities and/or a territory."""

    community_ids: tuple[int, ...] | None = None
    territory_id: int | None = None


@dataclass(frozen=True)
class Point:
    """One period: its key ('2024-01' or '2024-01-17'), the value in it, the total at its end."""

    key: str
    value: float
    total: float


# --------------------------------------------------------------------------- period keys

_FORMATS = {
    "postgresql": {Period.MONTH: "YYYY-MM", Period.DAY: "YYYY-MM-DD"},
    "mysql": {Period.MONTH: "%Y-%m", Period.DAY: "%Y-%m-%d"},
}
_SQLITE_LENGTH = {Period.MONTH: 7, Period.DAY: 10}


def _dialect(name: str) -> str:
    if name in ("mysql", "mariadb"):
        return "mysql"
    if name in ("sqlite", "postgresql"):
        return name
    raise ValueError(f"no period expression for the {name} dialect")


def period_group(
    dialect: str, column: SQLColumnExpression[Any], period: Period
) -> ColumnElement[Any]:
    """What rows are grouped by: the cheapest per-row expression each database offers.

    SQLite stores dates as ISO text ('2024-01-17 08:00:00'), so the period is a prefix
    (substr, several times faster per row than strftime); PostgreSQL truncates natively
    (date_trunc; formatting every row with to_char costs twice as much); MariaDB groups by
    integers (EXTRACT(YEAR_MONTH), TO_DAYS), twice as fast as DATE_FORMAT per row.
    """
    name = _dialect(dialect)
    if name == "sqlite":
        return func.substr(column, 1, _SQLITE_LENGTH[period])
    if name == "postgresql":
        return func.date_trunc(period.value, column)
    # MariaDB: integers (202401, or TO_DAYS) group twice as fast as DATE_FORMAT's strings.
    if period is Period.MONTH:
        return extract("year_month", column)
    return func.to_days(column)


def period_label(dialect: str, group: ColumnElement[Any], period: Period) -> ColumnElement[str]:
    """The grouped value as a 'YYYY-MM' or 'YYYY-MM-DD' key, applied once per period."""
    name = _dialect(dialect)
    if name == "postgresql":
        return func.to_char(group, _FORMATS["postgresql"][period])
    if name == "mysql":
        if period is Period.MONTH:
            return func.concat(
                func.floor(group / 100), "-", func.lpad(func.mod(group, 100), 2, "0")
            )
        return func.date_format(func.from_days(group), _FORMATS["mysql"][period])
    return group


def period_key(
    dialect: str, column: SQLColumnExpression[Any], period: Period
) -> ColumnElement[str]:
    """The period of `column` as a 'YYYY-MM' or 'YYYY-MM-DD' string, in the dialect's SQL."""
    return period_label(dialect, period_group(dialect, column, period), period)


def period_keys(start: dt.date, end: dt.date, period: Period) -> list[str]:
    """Every period key from start to end included, so that empty periods show as zero."""
    keys: list[str] = []
    if period is Period.DAY:
        day = start
        while day <= end:
            keys.append(day.isoformat())
            day += dt.timedelta(days=1)
        return keys
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


# --------------------------------------------------------------------------- filters


def _member_ids(community_ids: Sequence[int]) -> Select[int]:
    return select(CommunityUser.user_id).where(
        CommunityUser.community_id.in_(community_ids),
        CommunityUser.status.in_([int(s) for s in ACCEPTED_STATUSES]),
    )


def _home_user_ids(territory_id: int) -> Select[int | None]:
    return (
        select(Address.user_id)
        .join(AddressTerritory, AddressTerritory.address_id == Address.id)
        .where(AddressTerritory.territory_id == territory_id, Address.home.is_(True))
    )


def _users_filter(user_id: SQLColumnExpression[Any], scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.community_ids is not None:
        where.append(user_id.in_(_member_ids(scope.community_ids)))
    if scope.territory_id is not None:
        where.append(user_id.in_(_home_user_ids(scope.territory_id)))
    return where


def _carpool_filter(scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for users in (
        _member_ids(scope.community_ids) if scope.community_ids is not None else None,
        _home_user_ids(scope.territory_id) if scope.territory_id is not None else None,
    ):
        if users is not None:
            where.append(
                or_(CarpoolItem.debtor_user_id.in_(users), CarpoolItem.creditor_user_id.in_(users))
            )
    return where


def _ads_filter(scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.community_ids is not None:
        where.append(
            Proposal.id.in_(
                select(ProposalCommunity.proposal_id).where(
                    ProposalCommunity.community_id.in_(scope.community_ids)
                )
            )
        )
    if scope.territory_id is not None:
        ends = (
            select(Waypoint.proposal_id)
            .join(AddressTerritory, AddressTerritory.address_id == Waypoint.address_id)
            .where(
                AddressTerritory.territory_id == scope.territory_id,
                or_(Waypoint.position == 0, Waypoint.destination.is_(True)),
            )
        )
        where.append(Proposal.id.in_(ends))
    return where


def _communities_filter(scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.community_ids is not None:
        where.append(Community.id.in_(scope.community_ids))
    if scope.territory_id is not None:
        where.append(
            Community.address_id.in_(
                select(AddressTerritory.address_id).where(
                    AddressTerritory.territory_id == scope.territory_id
                )
            )
        )
    return where


# --------------------------------------------------------------------------- the measures


class Measure(StrEnum):
    """What is summed per day; an indicator is one measure, or two for the ads."""

    CO2 = "co2"  # metres of carpools carried out, by item_date (carpool_metres)
    USERS = "users"  # users registered, by created_date
    SOLIDARITY = "solidarity"  # solidarity users, by their creation
    COMMUNITIES = "communities"  # communities created
    ADS_FROM = "ads_from"  # ads becoming active: the later of publication and from_date
    ADS_TO = "ads_to"  # ads by their last valid day (to_date, or from_date for a one-off trip)


MEASURES: dict[Indicator, tuple[Measure, ...]] = {
    Indicator.CO2: (Measure.CO2,),
    Indicator.ADS: (Measure.ADS_FROM, Measure.ADS_TO),
    Indicator.USERS: (Measure.USERS,),
    Indicator.SOLIDARITY: (Measure.SOLIDARITY,),
    Indicator.COMMUNITIES: (Measure.COMMUNITIES,),
}


def day_of(dialect: str, column: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """The calendar day of a DATETIME column, as each database compares it with a DATE."""
    name = _dialect(dialect)
    if name == "sqlite":
        return func.substr(column, 1, 10, type_=Date)
    if name == "postgresql":
        return cast(column, Date)
    return func.date(column, type_=Date)


def _later(
    dialect: str, a: SQLColumnExpression[Any], b: SQLColumnExpression[Any]
) -> ColumnElement[Any]:
    if _dialect(dialect) == "sqlite":
        return func.max(a, b, type_=Date)
    return func.greatest(a, b, type_=Date)


@dataclass(frozen=True)
class _Source:
    """What one measure aggregates: a dated column, the aggregate, the rows it applies to."""

    date: SQLColumnExpression[Any]
    is_date: bool  # a DATE column (compared with dates) rather than a DATETIME
    value: ColumnElement[Any]
    # SELECT ... FROM ... JOIN ... with no column yet: where() is added to it
    base: Select[*tuple[Any, ...]]
    where: list[ColumnElement[bool]]


def published_ads(dialect: str, rules: AdsRules = ADS_RULES) -> list[ColumnElement[bool]]:
    """Ads that count (AdsRules): public, valid at some point after their publication (an ad
    put online after its last trip day was never active)."""
    where: list[ColumnElement[bool]] = [
        or_(Proposal.private.is_(None), Proposal.private.is_(False)),
        ad_last_day() >= day_of(dialect, Proposal.created_date),
    ]
    if not rules.count_returns:
        where.append(Proposal.type != int(ProposalType.RETURN))
    if not rules.count_paused:
        where.append(or_(Proposal.paused.is_(None), Proposal.paused.is_(False)))
    return where


def ad_first_day(dialect: str) -> ColumnElement[Any]:
    return _later(dialect, day_of(dialect, Proposal.created_date), Criteria.from_date)


def ad_last_day() -> ColumnElement[Any]:
    """A punctual ad's one day (from_date), a regular ad's to_date, as countAvailableAds reads
    them (a regular ad without to_date is never valid there)."""
    return case(
        (Criteria.frequency == int(CriteriaFrequency.PUNCTUAL), Criteria.from_date),
        else_=Criteria.to_date,
    )


def carpool_metres(
    distance: SQLColumnExpression[Any] | None = None, ask_id: SQLColumnExpression[Any] | None = None
) -> ColumnElement[Any]:
    """The metres of one carpool item: distance (whole km) * 1000, or for items written before
    June 2023 (distance NULL) the matching's common_distance through the ask, as
    CarpoolExportManager does. The correlated subquery sits inside COALESCE, which every
    database evaluates lazily: it runs for the old items only.

    `distance` and `ask_id`: the item's columns as a derived table exposes them (default: the
    table's own). A query that first picks items (joins, DISTINCT) should carry the two plain
    columns and apply this outside: MariaDB computed the subquery for every joined row inside
    a DISTINCT derived table (the window refresh by territory took 23 s instead of 5)."""
    distance = CarpoolItem.distance if distance is None else distance
    ask_id = CarpoolItem.ask_id if ask_id is None else ask_id
    common = (
        select(Matching.common_distance)
        .join(Ask, Ask.matching_id == Matching.id)
        .where(Ask.id == ask_id)
        .scalar_subquery()
    )
    return func.coalesce(distance * 1000, common)


def beneficiary() -> ColumnElement[bool]:
    """A solidarity passenger (the guide's "passagers solidaires"), not a volunteer driver."""
    return SolidaryUser.beneficiary.is_(True)


def live_source(dialect: str, measure: Measure, scope: Scope = Scope()) -> _Source:
    """A measure computed from the platform's own tables."""
    if measure is Measure.CO2:
        return _Source(
            CarpoolItem.item_date,
            True,
            func.coalesce(func.sum(carpool_metres()), 0),
            select().select_from(CarpoolItem),
            [
                CarpoolItem.item_status == int(CarpoolItemStatus.CARRIED_OUT),
                *_carpool_filter(scope),
            ],
        )
    if measure in (Measure.ADS_FROM, Measure.ADS_TO):
        return _Source(
            ad_first_day(dialect) if measure is Measure.ADS_FROM else ad_last_day(),
            True,
            func.count(),
            select().select_from(Proposal).join(Criteria, Criteria.id == Proposal.criteria_id),
            [*published_ads(dialect), *_ads_filter(scope)],
        )
    if measure is Measure.USERS:
        return _Source(
            User.created_date,
            False,
            func.count(),
            select().select_from(User),
            _users_filter(User.id, scope),
        )
    if measure is Measure.SOLIDARITY:
        return _Source(
            func.coalesce(SolidaryUser.created_date, User.created_date),
            False,
            func.count(),
            select().select_from(User).join(SolidaryUser, SolidaryUser.id == User.solidary_user_id),
            [beneficiary(), *_users_filter(User.id, scope)],
        )
    if measure is Measure.COMMUNITIES:
        return _Source(
            Community.created_date,
            False,
            func.count(),
            select().select_from(Community),
            _communities_filter(scope),
        )
    raise ValueError(measure)


def daily_source(measure: Measure, scope_key: str) -> _Source:
    """A measure read from the daily aggregate (bot_indicator_day) of one scope."""
    return _Source(
        IndicatorDay.day,
        True,
        func.coalesce(func.sum(IndicatorDay.value), 0),
        select().select_from(IndicatorDay),
        [IndicatorDay.scope == scope_key, IndicatorDay.measure == measure.value],
    )


# --------------------------------------------------------------------------- where from


def scope_key(scope: Scope) -> str | None:
    """The aggregate's key of a scope ('a', 'c12', 't3'); None when it keeps no such scope
    (several communities together, or a community within a territory)."""
    communities, territory = scope.community_ids, scope.territory_id
    if communities is None and territory is None:
        return "a"
    if communities is not None and len(communities) == 1 and territory is None:
        return f"c{communities[0]}"
    if communities is None and territory is not None:
        return f"t{territory}"
    return None


#: Marks a scope whose whole history the last full build computed (day = this date).
KNOWN = "known"
KNOWN_DAY = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Basis:
    """Where a scope's numbers come from: the aggregate `key` (None = the live tables), and
    the moment the data runs to (the aggregate's refresh, or now for the live tables)."""

    key: str | None
    until: dt.datetime


def basis(session: Session, scope: Scope = Scope(), live: bool = False) -> Basis:
    """The aggregate when it holds this scope's whole history, else the live tables."""
    key = None if live else scope_key(scope)
    if key is not None:
        refresh = session.get(IndicatorRefresh, 1)
        known = session.execute(
            select(IndicatorDay.value).where(
                IndicatorDay.scope == key,
                IndicatorDay.measure == KNOWN,
                IndicatorDay.day == KNOWN_DAY,
            )
        ).first()
        if refresh is not None and known is not None:
            return Basis(key, refresh.refreshed_at)
    return Basis(None, clock.now())


def _source(session: Session, where: Basis, measure: Measure, scope: Scope) -> _Source:
    if where.key is not None:
        return daily_source(measure, where.key)
    return live_source(session.get_bind().dialect.name, measure, scope)


# --------------------------------------------------------------------------- the queries


def _bound(source: _Source, day: dt.date) -> dt.date | dt.datetime:
    """`day` at midnight, as the column compares (dates for DATE, datetimes for DATETIME)."""
    return day if source.is_date else dt.datetime.combine(day, dt.time())


def to_display(indicator: Indicator, raw: float) -> float:
    """Metres carpooled -> tonnes of CO2; counts stay counts."""
    if indicator is Indicator.CO2:
        return float(raw) / 1000 * CO2_GRAMS_PER_KM / 1_000_000
    return float(raw)


def _raw_series(
    session: Session, source: _Source, period: Period, start: dt.date, end: dt.date
) -> list[Point]:
    """One point per period of the raw sums (metres, counts), empty periods as zero.

    One query: the GROUP BY per period, the window function for the running total, and the
    total before `start` as a scalar subquery.
    """
    dialect = session.get_bind().dialect.name
    lo, hi = _bound(source, start), _bound(source, end + dt.timedelta(days=1))
    group = period_group(dialect, source.date, period).label("bucket")
    grouped = (
        source.base.add_columns(group, source.value.label("value"))
        .where(*source.where, source.date >= lo, source.date < hi)
        .group_by(literal_column("bucket"))
        .subquery()
    )
    before = (
        source.base.add_columns(source.value)
        .where(*source.where, source.date < lo)
        .scalar_subquery()
    )
    running = func.sum(grouped.c.value).over(order_by=grouped.c.bucket) + before
    query = select(
        period_label(dialect, grouped.c.bucket, period).label("bucket"),
        grouped.c.value,
        running.label("total"),
    ).order_by(grouped.c.bucket)
    rows = session.execute(query).all()
    found = {row.bucket: (float(row.value), float(row.total)) for row in rows}
    if not rows:
        base_total = float(session.execute(select(before)).scalar() or 0)
    else:
        first = rows[0]
        base_total = float(first.total) - float(first.value)
    points: list[Point] = []
    total = base_total
    for bucket in period_keys(start, end, period):
        value, total = found.get(bucket, (0.0, total))
        points.append(Point(bucket, value, total))
    return points


def series(
    session: Session,
    indicator: Indicator,
    period: Period,
    start: dt.date,
    end: dt.date,
    scope: Scope = Scope(),
    where: Basis | None = None,
) -> list[Point]:
    """One point per period from start to end (both included), empty periods as zero.

    For the ads, a point's value and total are both the ads active in that period.
    """
    where = where or basis(session, scope)
    measures = MEASURES[indicator]
    raw = [_raw_series(session, _source(session, where, m, scope), period, start, end)
           for m in measures]  # fmt: skip
    if indicator is Indicator.ADS:
        starts, ends = raw
        points = []
        for begun, over in zip(starts, ends, strict=True):
            # Begun by the period's end, minus those whose last day came before its start.
            active = begun.total - (over.total - over.value)
            points.append(Point(begun.key, active, active))
        return points
    return [
        Point(p.key, to_display(indicator, p.value), to_display(indicator, p.total)) for p in raw[0]
    ]


def totals_at(
    session: Session, day: dt.date, scope: Scope = Scope(), where: Basis | None = None
) -> dict[Indicator, float]:
    """The five figures of the dashboard's synthesis, as they stood at the end of `day`: the
    totals, and the ads active that day. One round trip: one scalar subquery per measure."""
    where = where or basis(session, scope)
    columns = []
    for measure in Measure:
        source = _source(session, where, measure, scope)
        # ads_to: the ads whose last day is before `day` are no longer active on it
        last = day if measure is Measure.ADS_TO else day + dt.timedelta(days=1)
        columns.append(
            source.base.add_columns(source.value)
            .where(*source.where, source.date < _bound(source, last))
            .scalar_subquery()
            .label(measure.value)
        )
    row = session.execute(select(*columns)).one()
    raw = {measure: float(getattr(row, measure.value) or 0) for measure in Measure}
    return {
        Indicator.CO2: to_display(Indicator.CO2, raw[Measure.CO2]),
        Indicator.ADS: raw[Measure.ADS_FROM] - raw[Measure.ADS_TO],
        Indicator.USERS: raw[Measure.USERS],
        Indicator.SOLIDARITY: raw[Measure.SOLIDARITY],
        Indicator.COMMUNITIES: raw[Measure.COMMUNITIES],
    }


def has_any(values: Sequence[Point]) -> bool:
    return any(point.value for point in values)
