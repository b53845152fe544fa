"""The daily aggregate (storage.indicator_days) against the live SQL, on the three databases.

Right after a build, every scope it keeps (the platform, each community, each territory) must
give exactly the live numbers, for every indicator, by day and by month, and the synthesis too;
a platform change made afterwards must show once the refresher has run again.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import clock
from storage.bot_models import IndicatorDay, IndicatorRefresh
from storage.codes import CarpoolItemStatus, MembershipStatus, ValidationType
from storage.indicator_days import READING, WRITING, refresh
from storage.indicators import (
    Basis,
    Indicator,
    Measure,
    Period,
    Scope,
    basis,
    series,
    totals_at,
)
from storage.models import CarpoolItem, Community, CommunityUser, User
from storage.progress import Step
from tests.support.indicator_world import IndicatorWorld, build_indicator_world

RANGES = [
    (Period.MONTH, dt.date(2022, 5, 1), dt.date(2024, 7, 31)),
    (Period.DAY, dt.date(2023, 1, 1), dt.date(2024, 1, 31)),
]
DAYS = [dt.date(2023, 2, 14), dt.date(2023, 4, 30), dt.date(2024, 1, 15), dt.date(2024, 1, 17)]


@pytest.fixture
def iworld(engine) -> IndicatorWorld:
    return build_indicator_world(engine)


def scopes(iworld: IndicatorWorld) -> list[Scope]:
    return (
        [Scope()]
        + [Scope(community_ids=(c,)) for c in iworld.communities.values()]
        + [Scope(territory_id=t) for t in iworld.territories.values()]
    )


def live(session: Session) -> Basis:
    return basis(session, live=True)


def assert_same_as_live(session: Session, iworld: IndicatorWorld) -> None:
    for scope in scopes(iworld):
        daily = basis(session, scope)
        assert daily.key is not None, scope  # read from the aggregate, not live
        for indicator in Indicator:
            for period, start, end in RANGES:
                expected = series(session, indicator, period, start, end, scope, live(session))
                got = series(session, indicator, period, start, end, scope, daily)
                assert got == pytest.approx(expected, abs=1e-12), (scope, indicator, period)
        for day in DAYS:
            assert totals_at(session, day, scope, daily) == pytest.approx(
                totals_at(session, day, scope, live(session)), abs=1e-12
            ), (scope, day)


def test_the_aggregate_gives_the_live_numbers_for_every_scope(engine, iworld):
    with Session(engine) as session:
        assert basis(session).key is None  # nothing built yet: live, data as of now
        assert basis(session).until == clock.now()
        result = refresh(session)  # no build yet: a full one
        assert result.full and result.since is None and result.rows > 0
    with Session(engine) as session:
        assert basis(session).until == clock.now()
        assert_same_as_live(session, iworld)
        # Several communities together are not kept: read live.
        both = Scope(community_ids=tuple(iworld.communities.values())[:2])
        assert basis(session, both).key is None


def test_a_rebuild_reports_each_query_then_each_batch_of_rows(engine, iworld, monkeypatch):
    monkeypatch.setattr("storage.indicator_days.BATCH", 20)  # several batches of a few rows
    steps: list[Step] = []
    with Session(engine) as session:
        result = refresh(session, full=True, progress=steps.append)
    assert result.rows > 60
    queries = len(Measure) * 3  # the platform, communities, territories
    assert [s for s in steps if s.phase == READING] == [
        Step(READING, done, queries) for done in range(queries + 1)
    ]
    assert [s for s in steps if s.phase == WRITING] == [
        Step(WRITING, done, result.rows) for done in [*range(0, result.rows, 20), result.rows]
    ]
    assert [s.phase for s in steps] == [READING] * (queries + 1) + [WRITING] * (
        len(steps) - queries - 1
    )


def test_a_platform_change_shows_after_the_next_refresh(engine, iworld):
    built = clock.now()
    with Session(engine) as session:
        refresh(session, full=True)
    a = iworld.communities["A"]
    with Session(engine) as session, session.begin():
        # After the build: a carpool of m1 (A, T1) carried out yesterday, a new user living
        # nowhere yet, and an older carpool only now marked carried out.
        session.add(CarpoolItem(
            debtor_user_id=iworld.users["m1"], creditor_user_id=iworld.users["ref"], type=1,
            item_status=int(CarpoolItemStatus.CARRIED_OUT), item_date=dt.date(2024, 1, 16),
            amount=1.2, debtor_status=0, creditor_status=0,
            created_date=dt.datetime(2024, 1, 10, 7), distance=40,  # km
        ))  # fmt: skip
        session.add(User(email="late@test.fr", gender=1, status=1, phone_display=1,
                         created_date=dt.datetime(2024, 1, 17, 9, 30)))  # fmt: skip
        planned = session.execute(
            select(CarpoolItem).where(CarpoolItem.item_date == dt.date(2024, 1, 20))
        ).scalar_one()
        planned.item_status = int(CarpoolItemStatus.CARRIED_OUT)
        planned.item_date = dt.date(2024, 1, 12)
    month = (Period.MONTH, dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    with Session(engine) as session:
        old = series(session, Indicator.CO2, *month, Scope(community_ids=(a,)))
        new = series(session, Indicator.CO2, *month, Scope(community_ids=(a,)), live(session))
        # Until the refresher runs, the charts show the data as of the build, and say so.
        assert old != new and basis(session).until == built
        assert new[0].value == pytest.approx(old[0].value + 50 * 213 / 1_000_000)
    clock.set_now(built + dt.timedelta(minutes=15))
    with Session(engine) as session:
        result = refresh(session)  # the last full build is recent: a window refresh
        assert not result.full and result.since == dt.date(2023, 12, 17)
    with Session(engine) as session:
        assert basis(session).until == built + dt.timedelta(minutes=15)
        assert_same_as_live(session, iworld)


def test_new_communities_are_read_live_until_the_next_full_build(engine, iworld):
    with Session(engine) as session:
        refresh(session, full=True)
    with Session(engine) as session, session.begin():
        d = Community(name="Nouvelle", validation_type=int(ValidationType.AUTOMATIC),
                      user_id=iworld.users["m2"], description="d", full_description="d",
                      created_date=dt.datetime(2024, 1, 17, 8))  # fmt: skip
        session.add(d)
        session.flush()
        # m1 joins: A's own past figures do not change, the new community has m1's history.
        session.add(CommunityUser(community_id=d.id, user_id=iworld.users["m1"],
                                  status=int(MembershipStatus.MEMBER),
                                  created_date=dt.datetime(2024, 1, 17, 8)))  # fmt: skip
        new = d.id
    later = clock.now() + dt.timedelta(hours=1)
    clock.set_now(later)
    with Session(engine) as session:
        assert not refresh(session).full
        assert basis(session, Scope(community_ids=(new,))).key is None
        assert series(session, Indicator.CO2, Period.MONTH, dt.date(2023, 2, 1),
                      dt.date(2023, 2, 28), Scope(community_ids=(new,)))[0].value > 0  # fmt: skip
    clock.set_now(later + dt.timedelta(hours=24))
    with Session(engine) as session:
        assert refresh(session).full  # a day after the last full build
        assert basis(session, Scope(community_ids=(new,))).key == f"c{new}"
        assert_same_as_live(session, iworld)
        state = session.get(IndicatorRefresh, 1)
        assert state is not None and state.full_at == later + dt.timedelta(hours=24)
        # One state row, and no day row twice (the primary key would refuse it anyway).
        assert session.execute(select(func.count()).select_from(IndicatorRefresh)).scalar() == 1
        assert session.execute(select(func.count()).select_from(IndicatorDay)).scalar() > 0
