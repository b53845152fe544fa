"""The dashboard's daily aggregate: every measure per day, for the whole platform, each community
and each territory, kept in bot_indicator_day by the bot.

Why: a 12-month series over millions of carpool items costs a second or more on the platform's
MariaDB (no index on the dates, and the bot never adds one to a platform table); the same series
over this table reads a few hundred rows. The aggregate is computed by the database (GROUP BY per
scope and day, the same filters as the live queries) and only the grouped rows travel.

Freshness: platform rows change outside the bot, so `refresh` recomputes a recent window (every
day from `window_days` ago on, where new users, ads and carpools carried out land) and, once the
last full build is older than `full_every`, rebuilds everything: a member who joins or leaves a
community changes that community's past figures, which only a full build sees. Charts say the
moment their data runs to (bot_indicator_refresh.refreshed_at). Scopes that appeared since the
last full build (a new community) are read live until the next one.

Concurrency: the refresh runs in one transaction that first locks the bot_indicator_refresh row,
so two replicas never interleave their deletes and inserts. Reads of the platform tables are
plain SELECTs (no INSERT ... SELECT, which would lock platform rows on MariaDB).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    Table,
    and_,
    case,
    delete,
    func,
    join,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from storage import clock
from storage.bot_models import IndicatorDay, IndicatorRefresh
from storage.codes import ACCEPTED_STATUSES, CarpoolItemStatus
from storage.indicators import (
    KNOWN,
    KNOWN_DAY,
    Measure,
    ad_first_day,
    ad_last_day,
    beneficiary,
    carpool_metres,
    day_of,
    published_ads,
)
from storage.models import (
    Address,
    AddressTerritory,
    CarpoolItem,
    Community,
    CommunityUser,
    Criteria,
    Proposal,
    ProposalCommunity,
    SolidaryUser,
    Territory,
    User,
    Waypoint,
)
from storage.progress import Progress, Step

#: Days recomputed by a window refresh: carpools are marked carried out some days after.
WINDOW_DAYS = 31
#: A full rebuild at least this often (memberships and homes change the past).
FULL_EVERY = dt.timedelta(hours=24)
BATCH = 5_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshResult:
    full: bool
    since: dt.date | None  # first day recomputed (None: everything)
    rows: int
    refreshed_at: dt.datetime


# --------------------------------------------------------------------------- scopes

# Rows reach their scopes by plain joins (a user's accepted memberships or home territories, an
# ad's communities or end points, a community's address), so that the database can start from
# the few rows of a window refresh and look their scopes up by index. A thing is counted once
# per scope (SELECT DISTINCT scope, thing), exactly as the live queries' IN (...) filters do.

_ACCEPTED = [int(s) for s in ACCEPTED_STATUSES]


def _by_user(
    kind: str, base: Select[*tuple[Any, ...]], user_id: SQLColumnExpression[Any]
) -> tuple[Select[*tuple[Any, ...]], InstrumentedAttribute[int]]:
    if kind == "c":
        return (
            base.join(
                CommunityUser,
                and_(CommunityUser.user_id == user_id, CommunityUser.status.in_(_ACCEPTED)),
            ),
            CommunityUser.community_id,
        )
    return (
        base.join(Address, and_(Address.user_id == user_id, Address.home.is_(True))).join(
            AddressTerritory, AddressTerritory.address_id == Address.id
        ),
        AddressTerritory.territory_id,
    )


def _by_ad(
    kind: str, base: Select[*tuple[Any, ...]]
) -> tuple[Select[*tuple[Any, ...]], InstrumentedAttribute[int]]:
    if kind == "c":
        return (
            base.join(ProposalCommunity, ProposalCommunity.proposal_id == Proposal.id),
            ProposalCommunity.community_id,
        )
    end = or_(Waypoint.position == 0, Waypoint.destination.is_(True))
    return (
        base.join(Waypoint, and_(Waypoint.proposal_id == Proposal.id, end)).join(
            AddressTerritory, AddressTerritory.address_id == Waypoint.address_id
        ),
        AddressTerritory.territory_id,
    )


def _by_community(
    kind: str, base: Select[*tuple[Any, ...]]
) -> tuple[Select[*tuple[Any, ...]], InstrumentedAttribute[int]]:
    if kind == "c":
        return base, Community.id
    return (
        base.join(AddressTerritory, AddressTerritory.address_id == Community.address_id),
        AddressTerritory.territory_id,
    )


def _unless_also(
    kind: str,
    query: Select[*tuple[Any, ...]],
    sid: SQLColumnExpression[Any],
    user_id: SQLColumnExpression[Any],
) -> Select[*tuple[Any, ...]]:
    """`query` without its rows where `user_id` also belongs to scope `sid` (accepted member,
    or lives there): an anti-join written as LEFT JOIN ... IS NULL, which every database runs
    as index lookups (MariaDB materializes a NOT EXISTS over every home instead)."""
    if kind == "c":
        member = aliased(CommunityUser)
        return query.outerjoin(
            member,
            and_(member.community_id == sid, member.user_id == user_id,
                 member.status.in_(_ACCEPTED)),
        ).where(member.id.is_(None))  # fmt: skip
    home, link = aliased(Address), aliased(AddressTerritory)
    return query.outerjoin(
        join(home, link, link.address_id == home.id),
        and_(home.user_id == user_id, home.home.is_(True), link.territory_id == sid),
    ).where(link.address_id.is_(None))


# --------------------------------------------------------------------------- grouped queries


def _grouped(
    dialect: str, measure: Measure, kind: str, since: dt.date | None, fallback: bool = True
) -> Select[*tuple[Any, ...]]:
    """(sid, day, value) per scope of `kind` ('a', 'c', 't') and day, from day `since` on.

    CO2 of the whole platform also gives, per day, how many items have no distance (written
    before June 2023): `fallback` False (none in the range) lets the community and territory
    queries sum the distances alone, as cheap as before the fallback existed; the window
    refresh, once June 2023 is a month past, never needs it."""
    if measure is Measure.CO2:
        carried = [CarpoolItem.item_status == int(CarpoolItemStatus.CARRIED_OUT)]
        if since is not None:
            carried.append(CarpoolItem.item_date >= since)
        if kind == "a":
            without_distance = case((CarpoolItem.distance.is_(None), 1), else_=0)
            return (
                select(
                    literal(0).label("sid"),
                    CarpoolItem.item_date.label("day"),
                    func.sum(carpool_metres()).label("value"),
                    func.sum(without_distance).label("fallbacks"),
                )
                .where(*carried)
                .group_by(CarpoolItem.item_date)
            )
        # An item counts once per scope even when driver and passenger both belong: the
        # passenger's scopes, plus the driver's where the passenger is not (UNION ALL of two
        # joins: a UNION would sort millions of rows to remove duplicates).
        items = select().select_from(CarpoolItem)
        by_passenger, sid_p = _by_user(kind, items, CarpoolItem.debtor_user_id)
        by_driver, sid_d = _by_user(kind, items, CarpoolItem.creditor_user_id)
        columns: tuple[SQLColumnExpression[Any], ...] = (
            CarpoolItem.id, CarpoolItem.item_date, CarpoolItem.distance,
        )  # fmt: skip
        if fallback:
            columns += (CarpoolItem.ask_id,)
        driver_only = _unless_also(
            kind, by_driver.add_columns(sid_d.label("sid"), *columns), sid_d,
            CarpoolItem.debtor_user_id,
        )  # fmt: skip
        sides = union_all(
            by_passenger.add_columns(sid_p.label("sid"), *columns).where(*carried).distinct(),
            driver_only.where(*carried).distinct(),
        ).subquery()
        metres = (
            carpool_metres(sides.c.distance, sides.c.ask_id)
            if fallback
            else sides.c.distance * 1000
        )
        return select(
            sides.c.sid, sides.c.item_date.label("day"), func.sum(metres).label("value")
        ).group_by(sides.c.sid, sides.c.item_date)

    sid: InstrumentedAttribute[int] | None
    if measure in (Measure.USERS, Measure.SOLIDARITY):
        if measure is Measure.USERS:
            created: SQLColumnExpression[Any] = User.created_date
            base = select().select_from(User)
        else:
            created = func.coalesce(SolidaryUser.created_date, User.created_date)
            base = (
                select()
                .select_from(User)
                .join(SolidaryUser, SolidaryUser.id == User.solidary_user_id)
            )
        where = [] if measure is Measure.USERS else [beneficiary()]
        if kind != "a":
            base, sid = _by_user(kind, base, User.id)
            return _count(base, sid, User.id, day_of(dialect, created), since, where)
        return _count(base, None, User.id, day_of(dialect, created), since, where)

    if measure in (Measure.ADS_FROM, Measure.ADS_TO):
        key = ad_first_day(dialect) if measure is Measure.ADS_FROM else ad_last_day()
        base = select().select_from(Proposal).join(Criteria, Criteria.id == Proposal.criteria_id)
        sid = None
        if kind != "a":
            base, sid = _by_ad(kind, base)
        return _count(base, sid, Proposal.id, key, since, published_ads(dialect))

    if measure is Measure.COMMUNITIES:
        base = select().select_from(Community)
        sid = None
        if kind != "a":
            base, sid = _by_community(kind, base)
        return _count(base, sid, Community.id, day_of(dialect, Community.created_date), since, [])
    raise ValueError(measure)


def _count(
    base: Select[*tuple[Any, ...]],
    sid: SQLColumnExpression[Any] | None,
    thing: SQLColumnExpression[Any],
    day: ColumnElement[Any],
    since: dt.date | None,
    where: list[ColumnElement[bool]],
) -> Select[*tuple[Any, ...]]:
    """How many distinct things per (scope, day) in `base` (a thing reached twice, an ad
    starting and ending in the same territory, counts once). COUNT(DISTINCT) rather than an
    inner SELECT DISTINCT: PostgreSQL 15's parallel two-level hash DISTINCT took 3 minutes on
    357,000 rows (rows arriving in hash order), the sort per group takes a second."""
    where = list(where)
    if since is not None:
        where.append(day >= since)
    if sid is None:  # the whole platform: one row per thing already
        rows = base.add_columns(literal(0).label("sid"), day.label("day")).where(*where)
        inner = rows.subquery()
        value = func.count()
    else:
        rows = base.add_columns(sid.label("sid"), thing.label("tid"), day.label("day"))
        inner = rows.where(*where).subquery()
        value = func.count(inner.c.tid.distinct())
    return select(inner.c.sid, inner.c.day, value.label("value")).group_by(inner.c.sid, inner.c.day)


# --------------------------------------------------------------------------- refresh


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


_KINDS = ("a", "c", "t")
#: The phases `refresh` reports: the grouped reads (one query per measure and kind of scope,
#: most of the time), then the inserts (BATCH rows each).
READING, WRITING = "grouped queries", "rows written"


def _rows(
    session: Session, since: dt.date | None, progress: Progress | None = None
) -> Iterator[dict[str, object]]:
    dialect = session.get_bind().dialect.name
    fallback = True
    queries = len(Measure) * len(_KINDS)
    done = 0
    for measure in Measure:
        for kind in _KINDS:
            if progress is not None:
                progress(Step(READING, done, queries))
            query = _grouped(dialect, measure, kind, since, fallback)
            grouped = session.execute(query).all()
            done += 1
            if measure is Measure.CO2 and kind == "a":
                fallback = any(row.fallbacks for row in grouped)
            for sid, day, value, *_ in grouped:
                if not value:
                    continue
                yield {
                    "scope": "a" if kind == "a" else f"{kind}{sid}",
                    "measure": measure.value,
                    "day": _as_date(day),
                    "value": int(value),
                }
    if progress is not None:
        progress(Step(READING, queries, queries))


def _known_scopes(session: Session) -> list[str]:
    communities = session.execute(select(Community.id)).scalars()
    territories = session.execute(select(Territory.id)).scalars()
    return ["a", *(f"c{c}" for c in communities), *(f"t{t}" for t in territories)]


def refresh(
    session: Session,
    full: bool | None = None,
    window_days: int = WINDOW_DAYS,
    full_every: dt.timedelta = FULL_EVERY,
    progress: Progress | None = None,
) -> RefreshResult:
    """Recompute the aggregate: everything when `full` (or, when None, when the last full
    build is older than `full_every` or there is none), else the last `window_days` days and
    every later day (ads valid in the future).

    The grouped rows are computed first, with plain reads (minutes at the platform's size, and
    no write lock held meanwhile: on SQLite a write transaction would block the bot's own
    writes); then one short transaction locks the state row, replaces the rows and commits. A
    replica that finds a fresher refresh already written drops its own. `progress` receives
    a `Step` before and after each grouped query, then after each batch of inserts.
    """
    now = clock.now()
    state = session.get(IndicatorRefresh, 1)
    if full is None:
        full = state is None or now - state.full_at >= full_every
    since = None if full else now.date() - dt.timedelta(days=window_days)
    rows = list(_rows(session, since, progress))
    if full:
        rows += [{"scope": s, "measure": KNOWN, "day": KNOWN_DAY, "value": 1}
                 for s in _known_scopes(session)]  # fmt: skip
    session.rollback()  # end the read transaction; the write one starts now
    state = session.execute(
        select(IndicatorRefresh).where(IndicatorRefresh.id == 1).with_for_update()
    ).scalar_one_or_none()
    if state is not None and state.refreshed_at > now:
        session.rollback()
        log.info("indicator aggregate: a fresher refresh is already written")
        return RefreshResult(full, since, 0, state.refreshed_at)
    if full:
        session.execute(delete(IndicatorDay))
    else:
        session.execute(
            delete(IndicatorDay).where(IndicatorDay.day >= since, IndicatorDay.measure != KNOWN)
        )
    for start in range(0, len(rows), BATCH):
        if progress is not None:
            progress(Step(WRITING, start, len(rows)))
        # Declarative types __table__ as any FromClause; a mapped class's is its Table.
        table = cast(Table, IndicatorDay.__table__)
        session.execute(table.insert(), rows[start : start + BATCH])
    if progress is not None:
        progress(Step(WRITING, len(rows), len(rows)))
    if state is None:
        session.add(IndicatorRefresh(id=1, refreshed_at=now, full_at=now))
    else:
        state.refreshed_at = now
        if full:
            state.full_at = now
    session.commit()
    return RefreshResult(full, since, len(rows), now)
