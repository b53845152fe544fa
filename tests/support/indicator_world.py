"""A small world for the indicators, every number of which is computed by hand in the tests.

Dates: users, ads and carpools between June 2022 and January 2024; the clock is frozen at
17/01/2024 10:02 (tests/conftest.py). Territories: T1 "Nord", T2 "Somme".

users (created)            home  communities                      solidarity
  operator  2022-06-01     -     -                                -
  ref       2023-01-05     T1    A moderator (creator of A)       -
  mod2      2023-01-20     T2    B moderator (creator of B)       volunteer (not counted)
  m1        2023-02-10     T1    A member                         beneficiary, 2023-02-11
  m2        2023-03-15     T2    A member                         -
  pend      2023-03-20     -     A pending                        -
  b1        2024-01-03     T1    B member                         beneficiary, date empty
                                                                    (-> 2024-01-03)
  x         2024-01-10     T2    C moderator (creator of C)       -
  (x also has a non-home address in T1; an orphan solidary_user row, 2023-05-05, has no user)

communities: A 2023-01-05 (address T1), B 2023-06-01 (address T2), C 2024-01-02 (no address)

ads (proposal), as the platform writes them: active NULL (only real-time carpooling writes it),
paused 0 unless the author paused it; punctual (frequency 1) ads valid on their from_date,
regular ones from from_date to to_date
  ad  user  created     type     priv.  paused  comm.  valid          waypoints
  P1  m1    2023-02-15  one-way  0      0       A      02-20 (once)   origin T1, dest. T2
  P2  m1    2023-02-20  outward  NULL   0       A      02-20..04-30   origin T2
  P3  m1    2023-02-20  return   0      0       A      02-20..04-30   (return: not counted)
  P4  m2    2023-03-01  one-way  1      0       -      03-01..12-31   (private: not counted)
  P5  m2    2023-03-05  one-way  0      1       A      03-05..12-31   origin T1 (paused: counted)
  P6  b1    2024-01-05  one-way  0      0       B      01-08..06-30   destination T1
  P7  x     2024-01-12  one-way  0      0       -      01-15 (once)   via T1, dest. T2
  P8  m2    2023-06-10  one-way  0      0       -      06-01 (once)   origin T1 (published
                                                                   after its trip: never)

carpool items, as the platform writes them: distance in whole km from June 2023 on
(PaymentManager), NULL before (the matching's common_distance, in metres, through the ask)
  item  debtor  creditor  status        date        distance  ask -> matching.common_distance
  I1    m1      ref       carried out   2023-02-13  NULL      K1    10 400 m
  I2    m1      ref       carried out   2023-02-14  NULL      K1    (the same ask: 10.4 km)
  I3    b1      m2        carried out   2024-01-04  25 km     K2    24 700 m (rounded: 25)
  I4    m1      ref       planned       2024-01-20  10 km     K1
  I5    m1      ref       not carried   2023-03-01  NULL      K1
  I6    x       -         carried out   2024-01-10  5 km      -     (ask deleted: SET NULL)
  I7    x       -         carried out   2024-01-11  NULL      -     (ask deleted: no distance)
So: 20.8 km in February 2023, 30 km in January 2024.
The asks' matchings join private proposals (the searches the platform records), which are
not published ads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from storage.codes import (
    AskStatus,
    CriteriaFrequency,
    Gender,
    MembershipStatus,
    PhoneDisplay,
    ProposalType,
    UserStatus,
    ValidationType,
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
    PlatformBase,
    Proposal,
    ProposalCommunity,
    SolidaryUser,
    User,
    Waypoint,
)

OPERATOR_EMAIL = "operateur@hautsdefrance-mobilites.fr"


d = dt.date


def D(year: int, month: int, day: int) -> dt.datetime:
    """An ad's creation time (8 a.m.)."""
    return dt.datetime(year, month, day, 8)


def carpool_ask(
    session: Session, driver: int, passenger: int, day: dt.date, common_distance: int | None
) -> int:
    """An accepted ask on a matching, as the platform leaves them behind a carpool: the
    driver's offer and the passenger's request (private proposals: a search), the matching
    (common_distance in metres) and the passenger's ask, each with its own criteria."""
    created = dt.datetime.combine(day - dt.timedelta(days=3), dt.time(18))

    def criteria() -> int:
        row = Criteria(
            frequency=int(CriteriaFrequency.PUNCTUAL), seats_driver=3, seats_passenger=1,
            from_date=day, created_date=created,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id

    offer, request = (
        Proposal(user_id=user, created_date=created, type=int(ProposalType.ONE_WAY),
                 private=True, paused=False, criteria_id=criteria())
        for user in (driver, passenger)
    )  # fmt: skip
    session.add_all([offer, request])
    session.flush()
    matching = Matching(
        proposal_offer_id=offer.id, proposal_request_id=request.id, criteria_id=criteria(),
        created_date=created, common_distance=common_distance,
    )  # fmt: skip
    session.add(matching)
    session.flush()
    ask = Ask(
        user_id=passenger, matching_id=matching.id, criteria_id=criteria(),
        status=int(AskStatus.ACCEPTED_AS_DRIVER), type=int(ProposalType.ONE_WAY),
        created_date=created,
    )  # fmt: skip
    session.add(ask)
    session.flush()
    return ask.id


@dataclass
class IndicatorWorld:
    users: dict[str, int] = field(default_factory=dict)
    communities: dict[str, int] = field(default_factory=dict)
    territories: dict[str, int] = field(default_factory=dict)


def _territories(engine: Engine, names: dict[str, int]) -> None:
    with engine.begin() as connection:
        for key, (tid, name) in {"T1": (101, "Nord"), "T2": (102, "Somme")}.items():
            if engine.dialect.name == "mysql":
                connection.execute(
                    text(
                        "INSERT INTO territory (id, name, geo_json_detail, admin_level) VALUES "
                        "(:id, :name, ST_GeomFromText('MULTIPOLYGON(((0 0,0 1,1 1,1 0,0 0)))'), 6)"
                    ),
                    {"id": tid, "name": name},
                )
            else:
                connection.execute(
                    insert(PlatformBase.metadata.tables["territory"]),
                    {"id": tid, "name": name, "admin_level": 6},
                )
            names[key] = tid


def build_indicator_world(engine: Engine) -> IndicatorWorld:
    world = IndicatorWorld()
    _territories(engine, world.territories)
    t1, t2 = world.territories["T1"], world.territories["T2"]
    with Session(engine) as session, session.begin():

        def address(territory: int | None, user: User | None = None, home: bool = False) -> int:
            row = Address(address_locality="Lille", user_id=user.id if user else None, home=home)
            session.add(row)
            session.flush()
            if territory is not None:
                session.add(AddressTerritory(address_id=row.id, territory_id=territory))
            return row.id

        solidary_m1 = SolidaryUser(
            beneficiary=True, volunteer=False, created_date=dt.datetime(2023, 2, 11, 9)
        )
        solidary_b1 = SolidaryUser(beneficiary=True, volunteer=False, created_date=None)
        volunteer_mod2 = SolidaryUser(
            beneficiary=False, volunteer=True, created_date=dt.datetime(2023, 7, 1, 9)
        )
        orphan = SolidaryUser(
            beneficiary=True, volunteer=False, created_date=dt.datetime(2023, 5, 5, 9)
        )
        session.add_all([solidary_m1, solidary_b1, volunteer_mod2, orphan])
        session.flush()
        people = {
            "operator": (dt.datetime(2022, 6, 1, 8), None, None, OPERATOR_EMAIL),
            "ref": (dt.datetime(2023, 1, 5, 8), t1, None, None),
            "mod2": (dt.datetime(2023, 1, 20, 23, 59), t2, volunteer_mod2.id, None),
            "m1": (dt.datetime(2023, 2, 10, 0, 0), t1, solidary_m1.id, None),
            "m2": (dt.datetime(2023, 3, 15, 12), t2, None, None),
            "pend": (dt.datetime(2023, 3, 20, 12), None, None, None),
            "b1": (dt.datetime(2024, 1, 3, 7), t1, solidary_b1.id, None),
            "x": (dt.datetime(2024, 1, 10, 18), t2, None, None),
        }
        users: dict[str, User] = {}
        for key, (created, _, solidary, email) in people.items():
            users[key] = User(
                given_name=key.capitalize(), family_name="Test", email=email or f"{key}@test.fr",
                gender=int(Gender.FEMALE), status=int(UserStatus.ACTIVE), created_date=created,
                phone_display=int(PhoneDisplay.RESTRICTED), solidary_user_id=solidary,
            )  # fmt: skip
        session.add_all(users.values())
        session.flush()
        for key, (_, home, _, _) in people.items():
            if home is not None:
                address(home, users[key], home=True)
        address(t1, users["x"], home=False)  # not a home: x does not live in T1

        communities = {
            "A": ("Arc France", dt.datetime(2023, 1, 5, 9), address(t1), "ref"),
            "B": ("LeNord covoiture", dt.datetime(2023, 6, 1, 9), address(t2), "mod2"),
            "C": ("GSK Saint Amand les Eaux", dt.datetime(2024, 1, 2, 9), None, "x"),
        }
        rows: dict[str, Community] = {}
        for key, (name, created, address_id, creator) in communities.items():
            rows[key] = Community(
                name=name, validation_type=int(ValidationType.MANUAL), user_id=users[creator].id,
                description=name, full_description=name, created_date=created,
                address_id=address_id,
            )  # fmt: skip
        session.add_all(rows.values())
        session.flush()
        memberships = [
            ("A", "ref", MembershipStatus.MODERATOR),
            ("A", "m1", MembershipStatus.MEMBER),
            ("A", "m2", MembershipStatus.MEMBER),
            ("A", "pend", MembershipStatus.PENDING),
            ("B", "mod2", MembershipStatus.MODERATOR),
            ("B", "b1", MembershipStatus.MEMBER),
            ("C", "x", MembershipStatus.MODERATOR),
        ]
        for community, person, status in memberships:
            session.add(
                CommunityUser(
                    community_id=rows[community].id, user_id=users[person].id, status=int(status),
                    created_date=dt.datetime(2023, 6, 1),
                )
            )  # fmt: skip
        ads = [
            # (user, created, type, paused, private, community, (from, to),
            #  [(territory, position, dest)])
            ("m1", D(2023, 2, 15), 1, False, False, "A", (d(2023, 2, 20), None),
             [(t1, 0, False), (t2, 1, True)]),
            ("m1", D(2023, 2, 20), 2, False, None, "A", (d(2023, 2, 20), d(2023, 4, 30)),
             [(t2, 0, False), (None, 1, True)]),
            ("m1", D(2023, 2, 20), 3, False, False, "A", (d(2023, 2, 20), d(2023, 4, 30)),
             [(t1, 0, False)]),
            ("m2", D(2023, 3, 1), 1, False, True, None, (d(2023, 3, 1), d(2023, 12, 31)),
             [(t1, 0, False)]),
            ("m2", D(2023, 3, 5), 1, True, False, "A", (d(2023, 3, 5), d(2023, 12, 31)),
             [(t1, 0, False)]),
            ("b1", D(2024, 1, 5), 1, False, False, "B", (d(2024, 1, 8), d(2024, 6, 30)),
             [(None, 0, False), (t1, 1, True)]),
            ("x", D(2024, 1, 12), 1, False, False, None, (d(2024, 1, 15), None),
             [(None, 0, False), (t1, 1, False), (t2, 2, True)]),
            ("m2", D(2023, 6, 10), 1, False, False, None, (d(2023, 6, 1), None),
             [(t1, 0, False)]),
        ]  # fmt: skip
        for user, created, type_, paused, private, community, valid, points in ads:
            criteria = Criteria(
                frequency=1 if valid[1] is None else 2, seats_driver=3, seats_passenger=1,
                from_date=valid[0], to_date=valid[1], created_date=created,
            )  # fmt: skip
            session.add(criteria)
            session.flush()
            ad = Proposal(user_id=users[user].id, created_date=created, type=type_,
                          paused=paused, private=private, criteria_id=criteria.id)  # fmt: skip
            session.add(ad)
            session.flush()
            if community:
                session.add(ProposalCommunity(proposal_id=ad.id, community_id=rows[community].id))
            for territory, position, destination in points:
                session.add(Waypoint(proposal_id=ad.id, address_id=address(territory),
                                     position=position, destination=destination))  # fmt: skip
        k1 = carpool_ask(session, users["ref"].id, users["m1"].id, dt.date(2023, 2, 13), 10_400)
        k2 = carpool_ask(session, users["m2"].id, users["b1"].id, dt.date(2024, 1, 4), 24_700)
        items = [
            ("m1", "ref", 1, dt.date(2023, 2, 13), None, k1),
            ("m1", "ref", 1, dt.date(2023, 2, 14), None, k1),
            ("b1", "m2", 1, dt.date(2024, 1, 4), 25, k2),
            ("m1", "ref", 0, dt.date(2024, 1, 20), 10, k1),
            ("m1", "ref", 2, dt.date(2023, 3, 1), None, k1),
            ("x", None, 1, dt.date(2024, 1, 10), 5, None),
            ("x", None, 1, dt.date(2024, 1, 11), None, None),
        ]
        for debtor, creditor, status, day, distance, ask_id in items:
            session.add(
                CarpoolItem(
                    ask_id=ask_id, debtor_user_id=users[debtor].id,
                    creditor_user_id=users[creditor].id if creditor else None,
                    type=1, item_status=status, item_date=day, amount=0.6, debtor_status=0,
                    creditor_status=0, created_date=dt.datetime.combine(day, dt.time(7)),
                    distance=distance,
                )
            )  # fmt: skip
        session.flush()
        world.users = {k: u.id for k, u in users.items()}
        world.communities = {k: c.id for k, c in rows.items()}
    return world
