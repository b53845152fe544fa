"""Parity of the dashboard's indicators with the platform's own rules, one test per rule.

Rows are written as the platform writes them (Covivo/mobicoop 43afc69e2131, under api/src/):
carpool_item.distance in whole km since June 2023 with the ask and matching behind it,
proposal.active left NULL by an ordinary ad, paused false unless paused, solidary_user with
beneficiary/volunteer. Each figure is checked twice: from the live tables and from the daily
aggregate (bot_indicator_day) right after a full build. Runs on SQLite, PostgreSQL and the
platform's real schema on MariaDB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from storage import schema
from storage.bot_models import IndicatorDay, IndicatorRefresh
from storage.codes import (
    CarpoolItemStatus,
    CriteriaFrequency,
    Gender,
    PhoneDisplay,
    ProposalType,
    UserStatus,
    ValidationType,
)
from storage.indicator_days import refresh
from storage.indicators import Indicator, basis, totals_at
from storage.models import CarpoolItem, Community, Criteria, Proposal, SolidaryUser, User
from tests.support.indicator_world import carpool_ask

TODAY = dt.date(2024, 1, 17)  # the frozen clock (tests/conftest.py)


def tonnes(km: float) -> float:
    return km * 213 / 1_000_000


class Rows:
    """Platform rows, as the platform writes them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.n = 0

    def user(self, status: UserStatus = UserStatus.ACTIVE, solidary: int | None = None) -> int:
        self.n += 1
        row = User(
            given_name="U", family_name=str(self.n), email=f"u{self.n}@test.fr",
            gender=int(Gender.FEMALE), status=int(status), phone_display=int(PhoneDisplay.ALL),
            created_date=dt.datetime(2023, 1, 2, 9), solidary_user_id=solidary,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def item(self, debtor: int, creditor: int, day: dt.date, km: int | None, ask: int | None):
        self.session.add(
            CarpoolItem(
                ask_id=ask, debtor_user_id=debtor, creditor_user_id=creditor, type=1,
                item_status=int(CarpoolItemStatus.CARRIED_OUT), item_date=day, amount=1.5,
                debtor_status=0, creditor_status=0,
                created_date=dt.datetime.combine(day, dt.time(7)), distance=km,
            )
        )  # fmt: skip

    def ad(
        self, user: int, frequency: CriteriaFrequency, from_date: dt.date,
        to_date: dt.date | None = None, type_: ProposalType = ProposalType.ONE_WAY,
        private: bool | None = False, paused: bool | None = False, active: bool | None = None,
    ) -> None:  # fmt: skip
        criteria = Criteria(
            frequency=int(frequency), seats_driver=3, seats_passenger=1, from_date=from_date,
            to_date=to_date, created_date=dt.datetime(2024, 1, 2, 8),
        )  # fmt: skip
        self.session.add(criteria)
        self.session.flush()
        self.session.add(
            Proposal(
                user_id=user, created_date=dt.datetime(2024, 1, 2, 8), type=int(type_),
                criteria_id=criteria.id, private=private, paused=paused, active=active,
            )
        )  # fmt: skip
        self.session.flush()


@pytest.fixture
def rows(engine: Engine) -> Iterator[Rows]:
    with Session(engine) as session, session.begin():
        yield Rows(session)


def figure(engine: Engine, indicator: Indicator, day: dt.date = TODAY) -> tuple[float, float]:
    """(live, aggregate): the synthesis' figure at the end of `day`, read both ways."""
    with Session(engine) as session:
        live = totals_at(session, day, where=basis(session, live=True))[indicator]
        refresh(session, full=True)
    with Session(engine) as session:
        where = basis(session)
        assert where.key == "a"  # read from the aggregate
        return live, totals_at(session, day, where=where)[indicator]


def test_co2_distance_is_whole_kilometres(engine, rows):
    """Payment/Service/PaymentManager.php: carpool_item.distance =
    round(matching.common_distance / 1000), whole km; 213 g per km (GeoTools::getCO2)."""
    driver, passenger = rows.user(), rows.user()
    ask = carpool_ask(rows.session, driver, passenger, dt.date(2024, 1, 8), 24_700)
    rows.item(passenger, driver, dt.date(2024, 1, 8), 25, ask)
    rows.item(passenger, driver, dt.date(2024, 1, 9), 25, ask)
    rows.session.commit()
    assert figure(engine, Indicator.CO2) == pytest.approx((tonnes(50), tonnes(50)))


def test_co2_null_distance_falls_back_to_the_matching(engine, rows):
    """Carpool/Service/CarpoolExportManager.php: an item from before June 2023 (distance NULL,
    migration Version20230606134709) is worth ask -> matching.common_distance / 1000 km, not
    rounded; an item whose ask is gone (ON DELETE SET NULL) has no distance."""
    driver, passenger = rows.user(), rows.user()
    ask = carpool_ask(rows.session, driver, passenger, dt.date(2023, 3, 6), 10_450)
    rows.item(passenger, driver, dt.date(2023, 3, 6), None, ask)
    rows.item(passenger, driver, dt.date(2023, 3, 7), None, ask)
    rows.item(passenger, driver, dt.date(2023, 3, 8), None, None)
    rows.session.commit()
    assert figure(engine, Indicator.CO2) == pytest.approx((tonnes(20.9), tonnes(20.9)))


def test_ads_with_active_null_are_published_ads(engine, rows):
    """Carpool/Service/DynamicManager.php writes proposal.active for real-time carpooling only;
    ProposalRepository::countAvailableAds does not read it: an ordinary ad (active NULL)
    counts, and so does a real-time one, active or not."""
    author = rows.user()
    for active in (None, True, False):
        rows.ad(author, CriteriaFrequency.PUNCTUAL, TODAY, active=active)
    rows.session.commit()
    assert figure(engine, Indicator.ADS) == (3, 3)


def test_private_ads_are_not_counted_paused_ones_are(engine, rows):
    """ProposalRepository::countAvailableAds: private = 0 OR private IS NULL (a private proposal
    is a search); it does not read `paused` (AdManager::updateAd sets it on the ad and its
    return), nor does findCommunityAds: a paused ad counts (our choice, AdsRules)."""
    author = rows.user()
    rows.ad(author, CriteriaFrequency.PUNCTUAL, TODAY, private=False)
    rows.ad(author, CriteriaFrequency.PUNCTUAL, TODAY, private=None)
    rows.ad(author, CriteriaFrequency.PUNCTUAL, TODAY, private=True)
    rows.ad(author, CriteriaFrequency.PUNCTUAL, TODAY, paused=True)
    rows.session.commit()
    assert figure(engine, Indicator.ADS) == (3, 3)


def test_ads_valid_on_the_day_and_returns_counted_once(engine, rows):
    """ProposalRepository::countAvailableAds: a punctual ad on its from_date, a regular one
    until its to_date; findCommunityAds and countProposalsBetweenCreateDate count types 1 and 2
    only: the return trip of an outward ad is not counted again."""
    author = rows.user()
    week = TODAY + dt.timedelta(days=7)
    rows.ad(author, CriteriaFrequency.PUNCTUAL, TODAY)
    rows.ad(author, CriteriaFrequency.PUNCTUAL, week)  # not on TODAY
    rows.ad(author, CriteriaFrequency.REGULAR, dt.date(2024, 1, 2), week,
            type_=ProposalType.OUTWARD)  # fmt: skip
    rows.ad(author, CriteriaFrequency.REGULAR, dt.date(2024, 1, 2), week,
            type_=ProposalType.RETURN)  # fmt: skip
    rows.ad(author, CriteriaFrequency.REGULAR, dt.date(2024, 1, 2), dt.date(2024, 1, 16))
    rows.session.commit()
    assert figure(engine, Indicator.ADS) == (2, 2)


def test_solidarity_users_are_the_beneficiaries(engine, rows):
    """The referent guide's lexicon: "Utilisateurs solidaires : nombre total de passagers
    solidaires"; Solidary/Entity/SolidaryUser.php: beneficiary (passenger) or volunteer
    (driver). A volunteer is not counted; a row linked to no user is not either."""
    # (beneficiary, volunteer, linked to a user): counted are the first and the third.
    for beneficiary, volunteer, linked in [(True, False, True), (False, True, True),
                                           (True, True, True), (None, True, True),
                                           (True, False, False)]:  # fmt: skip
        solidary = SolidaryUser(beneficiary=beneficiary, volunteer=volunteer,
                                created_date=dt.datetime(2023, 5, 2, 9))  # fmt: skip
        rows.session.add(solidary)
        rows.session.flush()
        if linked:
            rows.user(solidary=solidary.id)
    rows.session.commit()
    assert figure(engine, Indicator.SOLIDARITY) == (2, 2)


def test_users_are_every_user_row(engine, rows):
    """User/Repository/UserRepository.php::countUsers counts every user row; the guide:
    "nombre total d'utilisateurs (validés ou non)". Disabled, anonymised and pseudonymised
    accounts are rows too."""
    for status in UserStatus:
        rows.user(status)
    rows.session.commit()
    assert figure(engine, Indicator.USERS) == (len(UserStatus), len(UserStatus))


def test_communities_are_every_community_row(engine, rows):
    """Community/Repository/CommunityRepository.php::countCommunities counts every community
    row, whatever its validation type or status; the guide: "communautés présentes"."""
    creator = rows.user()
    for validation in ValidationType:
        rows.session.add(
            Community(
                name=f"C{int(validation)}", validation_type=int(validation), user_id=creator,
                description="d", full_description="d", created_date=dt.datetime(2023, 4, 1),
            )
        )  # fmt: skip
    rows.session.commit()
    assert figure(engine, Indicator.COMMUNITIES) == (len(ValidationType), len(ValidationType))


def test_the_upgrade_clears_the_aggregate_built_with_the_old_rules(engine):
    """Migration 0005: the aggregate's rows were computed with the old rules (km read as
    metres), so the upgrade empties it; charts read the live tables until a full rebuild."""
    cfg = schema.alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004_seen_update")
    with engine.begin() as connection:
        connection.execute(
            insert(IndicatorDay), [{"scope": "a", "measure": "co2", "day": TODAY, "value": 25}]
        )
        connection.execute(
            insert(IndicatorRefresh),
            [
                {
                    "id": 1,
                    "refreshed_at": dt.datetime(2024, 1, 17),
                    "full_at": dt.datetime(2024, 1, 17),
                }
            ],
        )
    schema.upgrade(engine)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(IndicatorDay)).scalar() == 0
        assert session.get(IndicatorRefresh, 1) is None
        assert basis(session).key is None  # live until the next (full) refresh
        assert refresh(session).full
