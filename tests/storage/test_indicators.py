"""The indicators' numbers, computed by the database, against the fixture's hand count.

Runs on SQLite, PostgreSQL and MariaDB (the platform's real schema) through `engine`.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from storage.indicator_days import refresh
from storage.indicators import Indicator, Period, Scope, period_keys, series, totals_at
from tests.support.indicator_world import IndicatorWorld, build_indicator_world

JAN, DEC = dt.date(2023, 1, 1), dt.date(2023, 12, 31)


def tonnes(km: float) -> float:
    """213 g of CO2 per km, in tonnes."""
    return km * 213 / 1_000_000


@pytest.fixture(params=["live", "daily"])
def iworld(request, engine) -> IndicatorWorld:
    """The world, read from the live tables or (where it keeps the scope) the daily aggregate:
    every hand count below must hold for both."""
    world = build_indicator_world(engine)
    if request.param == "daily":
        with Session(engine) as session:
            refresh(session, full=True)
    return world


EVERYTHING = Scope()


def values(session, indicator, period, start, end, scope=EVERYTHING) -> dict[str, tuple]:
    """{period: (value, total)} for the periods with a value, and the last total."""
    points = series(session, indicator, period, start, end, scope)
    assert [p.key for p in points] == period_keys(start, end, period)  # every period, in order
    found = {p.key: (p.value, p.total) for p in points if p.value}
    return {**found, "last": points[-1].total}


def approx(mapping: dict) -> dict:
    return {k: pytest.approx(v, abs=1e-9) for k, v in mapping.items()}


def test_users_by_month_with_running_total(engine, iworld):
    with Session(engine) as session:
        # The operator (2022) is counted in the totals before the range, not in a month.
        got = values(session, Indicator.USERS, Period.MONTH, JAN, DEC)
        assert got == {"2023-01": (2, 3), "2023-02": (1, 4), "2023-03": (2, 6), "last": 6}
        # The end day is included; a user at 23:59 on the last day counts, one at 00:00 too.
        got = values(
            session, Indicator.USERS, Period.DAY, dt.date(2023, 1, 20), dt.date(2023, 2, 10)
        )
        assert got == {"2023-01-20": (1, 3), "2023-02-10": (1, 4), "last": 4}


def test_users_filtered_by_community_and_territory(engine, iworld):
    a, b = iworld.communities["A"], iworld.communities["B"]
    t1, t2 = iworld.territories["T1"], iworld.territories["T2"]
    with Session(engine) as session:
        # A's accepted members: ref, m1, m2 (pend is pending).
        got = values(session, Indicator.USERS, Period.MONTH, JAN, DEC, Scope((a,)))
        assert got == {"2023-01": (1, 1), "2023-02": (1, 2), "2023-03": (1, 3), "last": 3}
        # A and B together: + mod2 (January 2023) and b1 (January 2024, after the range).
        got = values(session, Indicator.USERS, Period.MONTH, JAN, DEC, Scope((a, b)))
        assert got == {"2023-01": (2, 2), "2023-02": (1, 3), "2023-03": (1, 4), "last": 4}
        # Homes in T1: ref, m1, b1 (x's address in T1 is not a home).
        got = values(session, Indicator.USERS, Period.MONTH, JAN, dt.date(2024, 1, 31),
                     Scope(territory_id=t1))  # fmt: skip
        assert got == {"2023-01": (1, 1), "2023-02": (1, 2), "2024-01": (1, 3), "last": 3}
        got = values(session, Indicator.USERS, Period.MONTH, JAN, dt.date(2024, 1, 31),
                     Scope(territory_id=t2))  # fmt: skip
        assert got == {"2023-01": (1, 1), "2023-03": (1, 2), "2024-01": (1, 3), "last": 3}
        # Both filters: A's members living in T2: m2.
        got = values(session, Indicator.USERS, Period.MONTH, JAN, DEC, Scope((a,), t2))
        assert got == {"2023-03": (1, 1), "last": 1}


def test_co2_of_carpools_carried_out(engine, iworld):
    a, b = iworld.communities["A"], iworld.communities["B"]
    t1, t2 = iworld.territories["T1"], iworld.territories["T2"]
    start, end = dt.date(2023, 2, 1), dt.date(2024, 1, 31)
    with Session(engine) as session:
        # I1 + I2 (2 x 10.4 km: NULL distance, the matching's 10 400 m) in February 2023;
        # I3 + I6 (25 + 5 km; I7 has neither distance nor ask) in January 2024.
        # The planned I4 and the not-carried-out I5 do not count.
        got = values(session, Indicator.CO2, Period.MONTH, start, end)
        assert got == approx({"2023-02": (tonnes(20.8), tonnes(20.8)),
                              "2024-01": (tonnes(30), tonnes(50.8)),
                              "last": tonnes(50.8)})  # fmt: skip
        got = values(session, Indicator.CO2, Period.DAY, dt.date(2024, 1, 1), dt.date(2024, 1, 17))
        assert got == approx({"2024-01-04": (tonnes(25), tonnes(45.8)),
                              "2024-01-10": (tonnes(5), tonnes(50.8)),
                              "last": tonnes(50.8)})  # fmt: skip
        # A's members' carpools: I1, I2 (m1 and ref), I3 (m2 drives b1).
        got = values(session, Indicator.CO2, Period.MONTH, start, end, Scope((a,)))
        assert got == approx({"2023-02": (tonnes(20.8), tonnes(20.8)),
                              "2024-01": (tonnes(25), tonnes(45.8)),
                              "last": tonnes(45.8)})  # fmt: skip
        # B's: I3 only (b1). A and B: I3 counted once.
        got = values(session, Indicator.CO2, Period.MONTH, start, end, Scope((b,)))
        assert got == approx({"2024-01": (tonnes(25), tonnes(25)), "last": tonnes(25)})
        got = values(session, Indicator.CO2, Period.MONTH, start, end, Scope((a, b)))
        assert got["last"] == pytest.approx(tonnes(45.8))
        # Homes in T1 (ref, m1, b1): I1, I2, I3; in T2 (mod2, m2, x): I3, I6.
        got = values(session, Indicator.CO2, Period.MONTH, start, end, Scope(territory_id=t1))
        assert got["last"] == pytest.approx(tonnes(45.8))
        got = values(session, Indicator.CO2, Period.MONTH, start, end, Scope(territory_id=t2))
        assert got == approx({"2024-01": (tonnes(30), tonnes(30)), "last": tonnes(30)})


def test_published_ads_are_the_ads_active_in_each_period(engine, iworld):
    a, b = iworld.communities["A"], iworld.communities["B"]
    t1, t2 = iworld.territories["T1"], iworld.territories["T2"]
    start, end = dt.date(2023, 1, 1), dt.date(2024, 1, 31)
    with Session(engine) as session:
        # P1 (one trip, 20/02) and P2 (valid 20/02 to 30/04, so in March and April too); the
        # paused P5 from 05/03 to 31/12; P6 and P7 in January 2024. Not P3 (return), P4
        # (private), P8 (published after its only trip). No ad has `active` set: it is not
        # read. An ad's value and total are both the active ads.
        rest_of_2023 = {f"2023-{m:02d}": (1, 1) for m in range(5, 13)}
        got = values(session, Indicator.ADS, Period.MONTH, start, end)
        assert got == {"2023-02": (2, 2), "2023-03": (2, 2), "2023-04": (2, 2),
                       **rest_of_2023, "2024-01": (2, 2), "last": 2}  # fmt: skip
        assert values(session, Indicator.ADS, Period.MONTH, start, end, Scope((a,))) == {
            "2023-02": (2, 2), "2023-03": (2, 2), "2023-04": (2, 2), **rest_of_2023,
            "last": 0}  # fmt: skip
        assert values(session, Indicator.ADS, Period.MONTH, start, end, Scope((b,))) == {
            "2024-01": (1, 1), "last": 1}  # fmt: skip
        # Origin or destination in T1: P1 on its trip day, P5 every day from 05/03 to 31/12,
        # P6 from its first valid day (08/01, published on 05/01); P7 only passes through T1,
        # P8 was never active.
        p5_days = period_keys(dt.date(2023, 3, 5), dt.date(2023, 12, 31), Period.DAY)
        got = values(session, Indicator.ADS, Period.DAY, dt.date(2023, 2, 15),
                     dt.date(2024, 1, 12), Scope(territory_id=t1))  # fmt: skip
        assert got == {"2023-02-20": (1, 1), **{day: (1, 1) for day in p5_days},
                       **{f"2024-01-{n:02d}": (1, 1) for n in range(8, 13)},
                       "last": 1}  # fmt: skip
        # In T2: P1 (destination), P2 (origin), P7 (destination, position 2).
        got = values(session, Indicator.ADS, Period.MONTH, start, end, Scope(territory_id=t2))
        assert got == {"2023-02": (2, 2), "2023-03": (1, 1), "2023-04": (1, 1),
                       "2024-01": (1, 1), "last": 1}  # fmt: skip


def test_solidarity_users(engine, iworld):
    a, b = iworld.communities["A"], iworld.communities["B"]
    t1, t2 = iworld.territories["T1"], iworld.territories["T2"]
    start, end = dt.date(2023, 1, 1), dt.date(2024, 1, 31)
    with Session(engine) as session:
        # The beneficiaries m1 (2023-02-11) and b1 (no date: the user's, 2024-01-03); the
        # orphan row has no user; mod2 is a volunteer (a driver), not a solidarity passenger.
        got = values(session, Indicator.SOLIDARITY, Period.MONTH, start, end)
        assert got == {"2023-02": (1, 1), "2024-01": (1, 2), "last": 2}
        assert values(session, Indicator.SOLIDARITY, Period.MONTH, start, end, Scope((a,))) == {
            "2023-02": (1, 1), "last": 1}  # fmt: skip
        assert values(session, Indicator.SOLIDARITY, Period.MONTH, start, end, Scope((b,))) == {
            "2024-01": (1, 1), "last": 1}  # fmt: skip
        got = values(
            session, Indicator.SOLIDARITY, Period.MONTH, start, end, Scope(territory_id=t1)
        )
        assert got["last"] == 2
        got = values(
            session, Indicator.SOLIDARITY, Period.MONTH, start, end, Scope(territory_id=t2)
        )
        assert got == {"last": 0}


def test_communities(engine, iworld):
    a = iworld.communities["A"]
    t1, t2 = iworld.territories["T1"], iworld.territories["T2"]
    start, end = dt.date(2023, 1, 1), dt.date(2024, 1, 31)
    with Session(engine) as session:
        got = values(session, Indicator.COMMUNITIES, Period.MONTH, start, end)
        assert got == {"2023-01": (1, 1), "2023-06": (1, 2), "2024-01": (1, 3), "last": 3}
        # A month with no new community keeps the running total.
        points = series(session, Indicator.COMMUNITIES, Period.MONTH, dt.date(2023, 7, 1),
                        dt.date(2023, 8, 31))  # fmt: skip
        assert [(p.key, p.value, p.total) for p in points] == [("2023-07", 0, 2), ("2023-08", 0, 2)]
        assert values(session, Indicator.COMMUNITIES, Period.MONTH, start, end, Scope((a,))) == {
            "2023-01": (1, 1), "last": 1}  # fmt: skip
        got = values(
            session, Indicator.COMMUNITIES, Period.MONTH, start, end, Scope(territory_id=t1)
        )
        assert got == {"2023-01": (1, 1), "last": 1}
        got = values(session, Indicator.COMMUNITIES, Period.DAY, dt.date(2023, 6, 1),
                     dt.date(2023, 6, 1), Scope(territory_id=t2))  # fmt: skip
        assert got == {"2023-06-01": (1, 1), "last": 1}


def test_synthesis_totals_at_a_date(engine, iworld):
    a = iworld.communities["A"]
    with Session(engine) as session:
        assert totals_at(session, dt.date(2024, 1, 17)) == approx({
            Indicator.CO2: tonnes(50.8), Indicator.ADS: 1, Indicator.USERS: 8,
            Indicator.SOLIDARITY: 2, Indicator.COMMUNITIES: 3,
        })  # fmt: skip
        # Ads active on the day: on 17/01/2024 only P6 (P7's one trip was on the 15th, P5
        # ended on 31/12).
        # At the end of 2023-02-14: I1 + I2, no ad yet, 4 users, no solidarity user... m1's
        # solidarity record dates from 2023-02-11.
        assert totals_at(session, dt.date(2023, 2, 14)) == approx({
            Indicator.CO2: tonnes(20.8), Indicator.ADS: 0, Indicator.USERS: 4,
            Indicator.SOLIDARITY: 1, Indicator.COMMUNITIES: 1,
        })  # fmt: skip
        assert totals_at(session, dt.date(2024, 1, 17), Scope((a,))) == approx({
            Indicator.CO2: tonnes(45.8), Indicator.ADS: 0, Indicator.USERS: 3,
            Indicator.SOLIDARITY: 1, Indicator.COMMUNITIES: 1,
        })  # fmt: skip


def test_empty_range_gives_zeros_and_the_total_before(engine, iworld):
    with Session(engine) as session:
        points = series(session, Indicator.USERS, Period.MONTH, dt.date(2023, 4, 1),
                        dt.date(2023, 5, 31))  # fmt: skip
        assert [(p.key, p.value, p.total) for p in points] == [
            ("2023-04", 0, 6), ("2023-05", 0, 6)]  # fmt: skip
        points = series(session, Indicator.CO2, Period.MONTH, dt.date(2020, 1, 1),
                        dt.date(2020, 2, 29))  # fmt: skip
        assert [(p.value, p.total) for p in points] == [(0, 0), (0, 0)]
