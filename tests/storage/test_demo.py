"""Demo data: the guide's communities, the platform's membership rules, believable figures,
every dialect.

The scale-0 database is filled once per module on a temporary SQLite file and checked row by
row; PostgreSQL and MariaDB (the platform's real schema) get the same checks on a throwaway
database when their server URL is in the environment. The figures are read through the bot's
own indicators (storage.indicators), as a referent's charts show them.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from storage import clock
from storage.codes import (
    ACCEPTED_STATUSES,
    CarpoolItemStatus,
    CriteriaFrequency,
    Gender,
    MembershipStatus,
    PhoneDisplay,
    ProposalType,
    UserStatus,
    ValidationType,
)
from storage.demo import (
    CARPOOL_ITEM_OUTWARD,
    NAMED_COMMUNITIES,
    PAYMENT_STATUS_INITIALIZED,
    PLATFORM_COMMUNITIES,
    PLATFORM_USERS,
    SCALES,
    TERRITORY_LEVEL_DEPARTEMENT,
    DemoError,
    DemoSummary,
    demo_login_hint,
    fill_demo,
)
from storage.engine import make_engine
from storage.indicators import (
    Indicator,
    Measure,
    Period,
    Scope,
    live_source,
    series,
    totals_at,
)
from storage.models import (
    Address,
    AddressTerritory,
    Ask,
    CarpoolItem,
    Community,
    CommunitySecurity,
    CommunityUser,
    Criteria,
    Language,
    Matching,
    Proposal,
    ProposalCommunity,
    SolidaryUser,
    Territory,
    User,
    Waypoint,
)
from storage.progress import Step
from storage.schema import prepare
from tests.support.databases import create_server_database, drop_server_database
from tests.support.services import unavailable

#: The guide's dashboard shows data "jusqu'au 31/01/2024".
NOW = dt.datetime(2024, 2, 1, 9, 30)
NAMED = (
    "Arc France",
    "LeNord covoiture",
    "Communauté urbaine de Dunkerque - habitants",
    "GSK Saint Amand les Eaux",
)


def sqlite_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    prepare(engine)
    return engine


def fill_at(engine: Engine, now: dt.datetime = NOW, **kwargs) -> DemoSummary:
    """fill_demo with the platform's clock at `now`."""
    clock.set_now(now)
    try:
        return fill_demo(engine, **kwargs)
    finally:
        clock.set_now(None)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Iterator[tuple[Engine, DemoSummary, list[Step]]]:
    engine = sqlite_engine(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    steps: list[Step] = []
    summary = fill_at(engine, progress=steps.append)
    yield engine, summary, steps
    engine.dispose()


@pytest.fixture(scope="module")
def demo(demo_run) -> tuple[Engine, DemoSummary]:
    return demo_run[:2]


def count(engine: Engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


# --------------------------------------------------------------------------- checks shared by
# every dialect


def count_ads(engine: Engine) -> int:
    """Proposals other than the searches that the carpools' matchings join (not ads)."""
    with engine.connect() as connection:
        searches = connection.execute(select(func.count() * 2).select_from(Matching)).scalar_one()
    return count(engine, Proposal) - searches


def check_counts(engine: Engine, summary: DemoSummary) -> None:
    assert summary == DemoSummary(
        users=count(engine, User),
        communities=count(engine, Community),
        memberships=count(engine, CommunityUser),
        ads=count_ads(engine),
        carpool_items=count(engine, CarpoolItem),
        solidary_users=count(engine, SolidaryUser),
        territories=count(engine, Territory),
    )


def check_membership_rules(engine: Engine, now: dt.datetime = NOW) -> None:
    """The dates and admin the platform writes on every membership change, on every row."""
    with engine.connect() as connection:
        creators = dict(connection.execute(select(Community.id, Community.user_id)).all())
        rows = connection.execute(select(CommunityUser)).all()
    assert rows
    for row in rows:
        assert row.updated_date is not None, row
        assert row.created_date <= now, row
        if row.status in ACCEPTED_STATUSES:
            assert row.accepted_date is not None and row.refused_date is None, row
            assert row.created_date <= row.accepted_date <= row.updated_date <= now, row
            assert row.admin_id == creators[row.community_id], row
        elif row.status == MembershipStatus.REFUSED:
            assert row.refused_date is not None and row.accepted_date is None, row
            assert row.created_date <= row.refused_date <= now, row
            assert row.admin_id == creators[row.community_id], row
        else:
            assert row.status == MembershipStatus.PENDING, row
            assert row.accepted_date is None and row.refused_date is None, row
            assert row.admin_id is None, row
    pairs = Counter((row.community_id, row.user_id) for row in rows)
    assert max(pairs.values()) == 1, "a user holds two memberships of one community"


def check_creators_are_moderators(engine: Engine) -> None:
    with engine.connect() as connection:
        missing = connection.execute(
            select(Community.id).where(
                ~select(CommunityUser.id)
                .where(
                    CommunityUser.community_id == Community.id,
                    CommunityUser.user_id == Community.user_id,
                    CommunityUser.status == MembershipStatus.MODERATOR,
                )
                .exists()
            )
        ).all()
    assert missing == []


def check_addresses_in_territories(engine: Engine) -> None:
    """Every address (homes and communities') lies in a département; homes are one per user."""
    with engine.connect() as connection:
        unlinked = connection.execute(
            select(func.count())
            .select_from(Address)
            .where(
                ~select(AddressTerritory.address_id)
                .join(Territory, Territory.id == AddressTerritory.territory_id)
                .where(
                    AddressTerritory.address_id == Address.id,
                    Territory.admin_level == TERRITORY_LEVEL_DEPARTEMENT,
                )
                .exists()
            )
        ).scalar_one()
        homes = connection.execute(
            select(func.count(func.distinct(Address.user_id))).where(Address.home.is_(True))
        ).scalar_one()
        users = connection.execute(select(func.count()).select_from(User)).scalar_one()
    assert unlinked == 0
    assert homes == users


def check_app_can_insert(engine: Engine) -> None:
    """After explicit ids, the database still numbers the rows the application adds."""
    with engine.begin() as connection:
        top = connection.execute(select(func.max(User.id))).scalar_one()
        new_id = connection.execute(
            User.__table__.insert().returning(User.id),
            {
                "email": "nouvelle.inscrite@example.org",
                "gender": int(Gender.FEMALE),
                "status": int(UserStatus.ACTIVE),
                "created_date": NOW,
                "phone_display": int(PhoneDisplay.RESTRICTED),
            },
        ).scalar_one()
        assert new_id > top
        connection.execute(User.__table__.delete().where(User.id == new_id))


def check_ads_have_waypoints(engine: Engine) -> None:
    """Every ad has its origin (position 0) and destination waypoints, each in a territory, so
    the dashboard's territory filter finds ads; a return goes back the way its outward came;
    a community's ads lead to its town."""
    with Session(engine) as session:
        ends = session.execute(
            select(Waypoint.proposal_id, Waypoint.position, Waypoint.destination,
                   Waypoint.address_id)
        ).all()  # fmt: skip
        placed = set(session.execute(select(AddressTerritory.address_id)).scalars())
        proposals = session.execute(
            select(Proposal.id, Proposal.type, Proposal.user_id).order_by(Proposal.id)
        ).all()
        by_territory = Counter(
            session.execute(
                select(Territory.name)
                .join(AddressTerritory, AddressTerritory.territory_id == Territory.id)
                .join(Waypoint, Waypoint.address_id == AddressTerritory.address_id)
                .where(Waypoint.position == 0)
            ).scalars()
        )
    route: dict[int, dict[str, int]] = {}
    for proposal_id, position, destination, address_id in ends:
        key = "destination" if destination else "origin" if position == 0 else "via"
        assert key not in route.setdefault(proposal_id, {}), proposal_id
        route[proposal_id][key] = address_id
        assert address_id in placed
    assert set(route) == {p.id for p in proposals}
    assert all(set(r) == {"origin", "destination"} for r in route.values())
    for earlier, later in zip(proposals, proposals[1:], strict=False):
        if later.type == ProposalType.RETURN:
            assert earlier.type == ProposalType.OUTWARD and earlier.user_id == later.user_id
            assert route[later.id] == {"origin": route[earlier.id]["destination"],
                                       "destination": route[earlier.id]["origin"]}  # fmt: skip
    assert by_territory["Nord"] > len(proposals) / 10


def published_ads_ever(session: Session) -> int:
    """Every ad published over the platform's life, as the ads indicator counts them
    (storage.indicators.published_ads: public, a return not counted again)."""
    source = live_source(session.get_bind().dialect.name, Measure.ADS_FROM)
    return int(session.execute(source.base.add_columns(source.value).where(*source.where)).scalar())


def check_figures(engine: Engine) -> None:
    """Pass Pass's own proportions (the referent guide's synthesis at 31/01/2024: 14,581 users,
    6,364 ads, 30 t of CO2, 76 communities), and tonnes of CO2 a month in the two commuting
    communities of a few hundred members, as the bot's indicators compute them."""
    day = NOW.date() - dt.timedelta(days=1)  # 31/01/2024, the guide's date
    with Session(engine) as session:
        totals = totals_at(session, day)
        users = totals[Indicator.USERS]
        assert 1.5 <= totals[Indicator.CO2] * 1000 / users <= 3.0, totals
        assert 0.3 <= published_ads_ever(session) / users <= 0.6
        assert 100 <= users / totals[Indicator.COMMUNITIES] <= 400, totals
        ids = dict(session.execute(select(Community.name, Community.id)).all())
        for name, months in (("Arc France", 6), ("LeNord covoiture", 3)):
            scope = Scope(community_ids=(ids[name],))
            assert 300 <= totals_at(session, day, scope)[Indicator.USERS] <= 500, name
            index = day.year * 12 + day.month - months  # the first of the last `months`
            start = dt.date(index // 12, index % 12 + 1, 1)
            points = series(session, Indicator.CO2, Period.MONTH, start, day, scope)
            assert len(points) == months
            assert all(point.value >= 1.0 for point in points), (name, points)


def check_database(engine: Engine, summary: DemoSummary) -> None:
    check_counts(engine, summary)
    check_figures(engine)
    check_membership_rules(engine)
    check_creators_are_moderators(engine)
    check_addresses_in_territories(engine)
    check_ads_have_waypoints(engine)
    with engine.connect() as connection:
        names = set(connection.execute(select(Community.name)).scalars())
    assert set(NAMED) <= names
    check_app_can_insert(engine)


# --------------------------------------------------------------------------- SQLite, scale 0


def test_summary_matches_the_rows(demo):
    engine, summary = demo
    check_counts(engine, summary)
    assert summary.users == PLATFORM_USERS == 13_000
    assert summary.communities == PLATFORM_COMMUNITIES == 65
    assert summary.ads > summary.users / 3
    assert summary.carpool_items > 3_000
    assert summary.solidary_users > 0
    assert summary.territories == 16


def test_figures_are_believable(demo):
    """About 2 kg of CO2 and 0.4 ads per user over the platform's life, one community for about
    200 users, and at least 1 t of CO2 a month in Arc France's last six months."""
    check_figures(demo[0])


def test_most_users_never_carpool_and_many_belong_to_no_community(demo):
    engine, _ = demo
    with engine.connect() as connection:
        users = connection.execute(select(func.count()).select_from(User)).scalar_one()
        members = connection.execute(
            select(func.count(func.distinct(CommunityUser.user_id)))
        ).scalar_one()
        carpoolers = (
            connection.execute(
                select(func.count(func.distinct(CarpoolItem.creditor_user_id)))
            ).scalar_one()
            + connection.execute(
                select(func.count(func.distinct(CarpoolItem.debtor_user_id)))
            ).scalar_one()
        )
    assert members < users / 2
    assert carpoolers < users / 20


def test_the_guides_communities(demo):
    engine, _ = demo
    with Session(engine) as connection:
        rows = connection.execute(
            select(Community, User.given_name, User.family_name, Address)
            .join(User, User.id == Community.user_id)
            .join(Address, Address.id == Community.address_id)
        ).all()
    by_name = {row.Community.name: row for row in rows}
    assert set(NAMED) <= set(by_name)
    assert len(by_name) == PLATFORM_COMMUNITIES

    def referent(name: str) -> str:
        row = by_name[name]
        return f"{row.given_name} {row.family_name[0]}."

    assert referent("LeNord covoiture") == "Eddy L."
    assert referent("Communauté urbaine de Dunkerque - habitants") == "Olivier T."
    assert referent("GSK Saint Amand les Eaux") == "Cyrielle G."

    arc = by_name["Arc France"].Community
    assert arc.description.startswith("Afin de préserver la planète")
    assert "37% de ses émissions de carbone d'ici 2030" in arc.description
    assert arc.validation_type == ValidationType.MANUAL and arc.domain == "arcfrance.fr"

    lenord = by_name["LeNord covoiture"]
    assert lenord.Community.validation_type == ValidationType.AUTOMATIC
    assert "« LeNord covoiture »" in lenord.Community.description
    assert "Sambre-Avesnois" in lenord.Community.full_description
    assert (lenord.Address.street_address, lenord.Address.postal_code) == (
        "51 Rue Gustave Delory",
        "59000",
    )
    assert lenord.Address.address_locality == "Lille"

    communities = [row.Community for row in rows]
    kinds = {c.validation_type for c in communities}
    assert kinds == set(ValidationType)
    assert any(c.members_hidden for c in communities)
    assert any(c.proposals_hidden for c in communities)
    for community in communities:
        assert len(community.description) <= 255
        assert community.full_description
    assert count(engine, CommunitySecurity) == sum(
        c.validation_type == ValidationType.SECURED for c in communities
    )


def test_memberships_follow_the_platforms_rules(demo):
    engine, _ = demo
    check_membership_rules(engine)


def test_every_creator_is_a_moderator_of_their_community(demo):
    check_creators_are_moderators(demo[0])


def test_every_community_has_members_in_every_status(demo):
    engine, _ = demo
    with engine.connect() as connection:
        rows = connection.execute(
            select(CommunityUser.community_id, CommunityUser.status).distinct()
        ).all()
    with engine.connect() as connection:
        kinds = dict(connection.execute(select(Community.name, Community.validation_type)).all())
        ids = dict(connection.execute(select(Community.id, Community.name)).all())
    statuses: dict[str, set[int]] = {}
    for community_id, status in rows:
        statuses.setdefault(ids[community_id], set()).add(status)
    assert len(statuses) == PLATFORM_COMMUNITIES
    # The sample's named communities, the console's scenarios: every status.
    for spec in NAMED_COMMUNITIES:
        assert statuses[spec.name] == set(MembershipStatus), spec.name
    # The others as the platform leaves them: requests wait and are refused only where a
    # moderator validates them.
    for name, found in statuses.items():
        assert {MembershipStatus.MODERATOR, MembershipStatus.MEMBER} <= found, name
        if kinds[name] == ValidationType.MANUAL:
            assert found == set(MembershipStatus), name


def test_manual_communities_have_pending_requests_matching_their_domain_or_not(demo):
    engine, _ = demo
    with engine.connect() as connection:
        rows = connection.execute(
            select(Community.id, Community.name, Community.domain, User.email)
            .join(CommunityUser, CommunityUser.community_id == Community.id)
            .join(User, User.id == CommunityUser.user_id)
            .where(
                Community.validation_type == ValidationType.MANUAL,
                CommunityUser.status == MembershipStatus.PENDING,
            )
        ).all()
        manual = connection.execute(
            select(Community.id).where(Community.validation_type == ValidationType.MANUAL)
        ).scalars()
        manual_ids = set(manual)
    pending = Counter(row.id for row in rows)
    assert manual_ids and all(pending[cid] >= 3 for cid in manual_ids), pending
    with_domain = [row for row in rows if row.domain]
    assert {"Arc France", "Région Hauts-de-France - agents"} <= {row.name for row in with_domain}

    def matches(row) -> bool:
        domains = {d.strip().lstrip("@") for d in row.domain.split(";")}
        return row.email.split("@")[1] in domains

    assert any(matches(row) for row in with_domain)
    assert any(not matches(row) for row in with_domain)


def test_emilie_administers_two_communities_with_pending_requests(demo):
    engine, _ = demo
    with Session(engine) as connection:
        emilie = connection.execute(
            select(User).where(User.email == "emilie.fournier@arcfrance.fr")
        ).scalar_one()
        moderated = connection.execute(
            select(Community.name)
            .join(CommunityUser, CommunityUser.community_id == Community.id)
            .where(
                CommunityUser.user_id == emilie.id,
                CommunityUser.status == MembershipStatus.MODERATOR,
            )
        ).scalars()
        moderated_names = set(moderated)
        created = connection.execute(
            select(Community.id).where(Community.user_id == emilie.id)
        ).scalars()
        created_ids = list(created)
        pending = connection.execute(
            select(func.count())
            .select_from(CommunityUser)
            .join(Community, Community.id == CommunityUser.community_id)
            .where(
                CommunityUser.status == MembershipStatus.PENDING,
                Community.name.in_(moderated_names),
            )
        ).scalar_one()
    assert (emilie.given_name, emilie.family_name) == ("Emilie", "Fournier")
    assert "Arc France" in moderated_names and len(moderated_names) == 2
    assert len(created_ids) == 1
    assert pending >= 4


def test_users_look_real(demo):
    engine, _ = demo
    with Session(engine) as connection:
        users = connection.execute(select(User)).scalars().all()
        languages = dict(connection.execute(select(Language.id, Language.code)).all())
    emails = [u.email for u in users]
    assert len(set(emails)) == len(emails)
    given = {u.given_name for u in users}
    assert given & {"Hélène", "François", "Aurélien", "Adèle"}
    domains = Counter(e.split("@")[1] for e in emails)
    assert {"gmail.com", "orange.fr", "arcfrance.fr"} <= set(domains)
    assert all(u.status == UserStatus.ACTIVE for u in users)
    assert all(u.phone_display == PhoneDisplay.RESTRICTED for u in users)
    assert {u.gender for u in users} <= set(Gender)
    assert sum(u.validated_date is not None for u in users) > 0.8 * len(users)
    created = [u.created_date for u in users]
    assert min(created) < NOW - dt.timedelta(days=2 * 365) and max(created) <= NOW
    assert sorted(languages.values()) == ["en", "fr"]
    assert {languages[u.language_id] for u in users if u.language_id} == {"fr", "en"}


def test_addresses_lie_in_territories(demo):
    engine, _ = demo
    check_addresses_in_territories(engine)
    with engine.connect() as connection:
        names = set(connection.execute(select(Territory.name)).scalars())
        lille = connection.execute(
            select(Territory.name)
            .join(AddressTerritory, AddressTerritory.territory_id == Territory.id)
            .join(Community, Community.address_id == AddressTerritory.address_id)
            .where(Community.name == "LeNord covoiture")
        ).scalars()
        lille_territories = set(lille)
        coords = connection.execute(select(Address.latitude, Address.longitude)).all()
    assert {"Nord", "Pas-de-Calais", "Somme", "Oise", "Aisne"} <= names
    assert "Métropole Européenne de Lille" in names
    assert lille_territories == {"Nord", "Métropole Européenne de Lille"}
    assert all(48.8 < lat < 51.2 and 1.4 < lon < 4.3 for lat, lon in coords)


def test_ads_have_criteria_and_go_to_their_authors_communities(demo):
    engine, _ = demo
    with Session(engine) as connection:
        ads = connection.execute(
            select(Proposal, Criteria).join(Criteria, Criteria.id == Proposal.criteria_id)
        ).all()
        links = connection.execute(
            select(Proposal.user_id, ProposalCommunity.community_id, Proposal.private).join(
                Proposal, Proposal.id == ProposalCommunity.proposal_id
            )
        ).all()
        members = set(
            connection.execute(
                select(CommunityUser.user_id, CommunityUser.community_id).where(
                    CommunityUser.status.in_(ACCEPTED_STATUSES)
                )
            ).all()
        )
    assert len(ads) == count(engine, Proposal)
    types = Counter(row.Proposal.type for row in ads)
    assert set(types) == set(ProposalType)
    assert types[ProposalType.OUTWARD] == types[ProposalType.RETURN]
    assert {row.Criteria.frequency for row in ads} == set(CriteriaFrequency)
    assert 0 < sum(bool(row.Proposal.private) for row in ads) < len(ads) / 3
    # As the platform writes them: active NULL (real-time carpooling only), paused false
    # unless paused.
    assert all(row.Proposal.active is None for row in ads)
    assert all(row.Proposal.paused is not None for row in ads)
    for row in ads:
        assert NOW - dt.timedelta(days=731) <= row.Proposal.created_date <= NOW
        assert row.Criteria.driver or row.Criteria.passenger
        if row.Criteria.frequency == CriteriaFrequency.REGULAR:
            assert row.Criteria.to_date > row.Criteria.from_date
    assert len(links) > len(ads) / 3
    assert all((user_id, cid) in members and not private for user_id, cid, private in links)


def test_ads_have_an_origin_and_a_destination_in_territories(demo):
    engine, _ = demo
    check_ads_have_waypoints(engine)


def test_carpools_are_between_members_of_a_community(demo):
    engine, _ = demo
    with Session(engine) as connection:
        items = connection.execute(select(CarpoolItem)).scalars().all()
        rows = connection.execute(
            select(CommunityUser.user_id, CommunityUser.community_id).where(
                CommunityUser.status.in_(ACCEPTED_STATUSES)
            )
        ).all()
    communities: dict[int, set[int]] = {}
    for user_id, community_id in rows:
        communities.setdefault(user_id, set()).add(community_id)
    statuses = Counter(item.item_status for item in items)
    assert statuses[CarpoolItemStatus.CARRIED_OUT] > 0.75 * len(items)
    assert statuses[CarpoolItemStatus.PLANNED] > 0
    assert statuses[CarpoolItemStatus.NOT_CARRIED_OUT] > 0
    today = NOW.date()
    with Session(engine) as session:
        asks = session.execute(
            select(Ask.id, Matching.common_distance).join(Matching, Matching.id == Ask.matching_id)
        ).all()
    common: dict[int, int] = {ask_id: metres for ask_id, metres in asks}
    # Whole km from June 2023 on (PaymentManager), NULL before; the ask's matching in metres.
    assert any(item.distance is None for item in items)
    for item in items:
        metres = common[item.ask_id]
        assert 3_000 <= metres <= 60_000
        if item.item_date >= dt.date(2023, 6, 6):
            assert item.distance == int(metres / 1000 + 0.5)
        else:
            assert item.distance is None
        assert item.amount > 0
        assert item.type == CARPOOL_ITEM_OUTWARD
        assert item.debtor_status == item.creditor_status == PAYMENT_STATUS_INITIALIZED
        assert today - dt.timedelta(days=731) <= item.item_date <= today + dt.timedelta(days=14)
        assert (item.item_status == CarpoolItemStatus.PLANNED) == (item.item_date >= today)
        assert item.created_date <= NOW
        assert item.debtor_user_id != item.creditor_user_id
        shared = communities[item.debtor_user_id] & communities[item.creditor_user_id]
        assert shared, item


def test_solidarity_users_are_linked_from_users(demo):
    engine, _ = demo
    with Session(engine) as connection:
        linked = connection.execute(
            select(SolidaryUser).join(User, User.solidary_user_id == SolidaryUser.id)
        ).scalars()
        rows = list(linked)
    assert len(rows) == count(engine, SolidaryUser) > 0
    assert all(row.beneficiary != row.volunteer for row in rows)


def test_login_hints_start_with_the_referents_of_the_guide(demo):
    engine, _ = demo
    hints = demo_login_hint(engine)
    assert 3 <= len(hints) <= 8
    email, label = hints[0]
    assert email == "emilie.fournier@arcfrance.fr"
    assert label.startswith("Emilie F. — ")
    assert "Arc France" in label and "pending" in label
    assert "jean-marc.mercier@arcfrance.fr" in dict(hints)


def check_progress(steps: list[Step], phases: list[str]) -> dict[str, list[int]]:
    """Each phase reported in order, from 0 to its total without going back (the CLI's bar
    and its time left); returns the `done` values reported per sized phase."""
    assert list(dict.fromkeys(step.phase for step in steps)) == phases
    done: dict[str, list[int]] = {}
    for step in steps:
        if step.total is None:
            assert step.done == 0
            continue
        assert 0 <= step.done <= step.total
        done.setdefault(step.phase, []).append(step.done)
    for phase, values in done.items():
        total = next(s.total for s in steps if s.phase == phase)
        assert {s.total for s in steps if s.phase == phase} == {total}
        assert values[0] == 0 and values[-1] == total, (phase, values)
        assert values == sorted(values) and len(set(values)) == len(values), (phase, values)
    return done


def test_progress_reports_each_phase_from_start_to_end(demo_run):
    _, summary, steps = demo_run
    phases = ["sample", "users", "ads", "carpools", "roles", "statistics"]
    done = check_progress(steps, phases)
    users = next(s.total for s in steps if s.phase == "users")
    assert users == PLATFORM_USERS - 231  # after the sample's 231 people
    assert summary.users == PLATFORM_USERS
    assert len(done["users"]) > 2  # moved between start and end: a batch was reported


def test_a_second_fill_is_refused(demo):
    engine, _ = demo
    before = count(engine, User)
    with pytest.raises(DemoError, match="community table already holds rows"):
        fill_demo(engine)
    assert count(engine, User) == before


def test_an_unknown_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        fill_demo(sqlite_engine(tmp_path / "x.sqlite3"), scale=4)


def test_the_same_seed_gives_the_same_data(demo, tmp_path):
    def snapshot(engine: Engine) -> tuple[list, list, list]:
        with engine.connect() as connection:
            emails = connection.execute(select(User.email).order_by(User.id)).scalars().all()
            memberships = connection.execute(
                select(CommunityUser.__table__).order_by(CommunityUser.id)
            ).all()
            items = connection.execute(select(CarpoolItem.__table__).order_by(CarpoolItem.id)).all()
        return emails, memberships, items

    def filled(seed: int, name: str) -> tuple[list, list, list]:
        engine = sqlite_engine(tmp_path / name)
        fill_at(engine, seed=seed)
        try:
            return snapshot(engine)
        finally:
            engine.dispose()

    first = snapshot(demo[0])  # the default seed, 2024
    assert filled(2024, "a.sqlite3") == first
    assert filled(8, "b.sqlite3")[0] != first[0]


# --------------------------------------------------------------------------- SQLite, scale 1


def test_scale_1_adds_large_data(tmp_path):
    """Scales 1-3 are the named sample plus the large data, without scale 0's platform layer:
    the benchmarks' data keep their sizes (these are seed 2024's, before and after the scale-0
    demo grew)."""
    engine = sqlite_engine(tmp_path / "large.sqlite3")
    steps: list[Step] = []
    summary = fill_at(engine, scale=1, progress=steps.append)
    check_counts(engine, summary)
    users, ads, items = SCALES[1]
    assert summary == DemoSummary(
        users=231 + users,
        communities=80,
        memberships=7615,
        ads=150 + ads,
        carpool_items=90 + items,
        solidary_users=46,
        territories=16,
    )
    assert summary.communities == 80
    assert summary.memberships > users / 2
    done = check_progress(steps, ["sample", "users", "ads", "carpool items", "roles", "statistics"])
    totals = {s.phase: s.total for s in steps if s.total is not None}
    assert totals == {"users": users, "ads": ads, "carpool items": items}
    # A step after each batch in between: 10,000 rows a batch for 35,000 users, ads and items.
    assert sum(len(values) - 2 for values in done.values()) >= 3
    check_membership_rules(engine)
    check_creators_are_moderators(engine)
    check_addresses_in_territories(engine)
    check_ads_have_waypoints(engine)
    with engine.connect() as connection:
        pending = connection.execute(
            select(func.count())
            .select_from(CommunityUser)
            .where(CommunityUser.status == MembershipStatus.PENDING)
        ).scalar_one()
    assert pending > 100
    check_app_can_insert(engine)


# --------------------------------------------------------------------------- servers


def server_url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        unavailable(f"needs {variable} (a SQLAlchemy URL of a server database)")
    return url


def fill_throwaway_database(variable: str, platform_schema: bool) -> None:
    """Create rb_demo_<random> on the server, fill it at scale 0, check it, drop it."""
    url = server_url(variable)
    name = f"rb_demo_{uuid.uuid4().hex[:10]}"
    db_url = create_server_database(url, name, platform_schema=platform_schema)
    engine = make_engine(db_url)
    try:
        prepare(engine)
        summary = fill_at(engine)
        check_database(engine, summary)
        if engine.dialect.name == "mysql":
            with engine.connect() as connection:
                shapes = connection.execute(
                    text("SELECT ST_AsText(geo_json_detail) FROM territory")
                ).scalars()
                assert all(shape.startswith("MULTIPOLYGON") for shape in shapes)
        with pytest.raises(DemoError):
            fill_demo(engine)
    finally:
        engine.dispose()
        drop_server_database(url, name)


@pytest.mark.postgres
def test_postgresql_scale_0():
    fill_throwaway_database("REFERENT_BOT_TEST_POSTGRES", platform_schema=False)


@pytest.mark.mariadb
def test_mariadb_with_the_platforms_schema_scale_0():
    fill_throwaway_database("REFERENT_BOT_TEST_MARIADB", platform_schema=True)
