"""The generator's core: ids, random draws and dates, the reference rows, and the rows both
layers (scale 0's platform, scales 1-3's large data) write.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text

from storage import clock
from storage.codes import (
    AskStatus,
    CriteriaFrequency,
    PhoneDisplay,
    ProposalType,
    UserStatus,
    ValidationType,
)
from storage.demo.constants import (
    _CARRIED_OUT,
    _MANUAL,
    _MODERATOR,
    _NOT_CARRIED_OUT,
    _PENDING,
    _PLANNED,
    _REFUSED,
    ACTIVITY_DAYS,
    CARPOOL_ITEM_OUTWARD,
    DISTANCE_SINCE,
    ONE_DAY,
    PAYMENT_STATUS_INITIALIZED,
    PRICE_PER_METRE,
    TERRITORY_LEVEL_DEPARTEMENT,
    TERRITORY_LEVEL_EPCI,
    USER_HISTORY_DAYS,
)
from storage.demo.helpers import _ascii, _Comm, _first_domain, _of, _rect_wkt, _Writer
from storage.demo.reference import DEPARTEMENTS, EPCIS, MAIL_DOMAINS, STREETS, TOWNS
from storage.demo.sample import _TEMPLATES
from storage.models import Language, PlatformBase
from storage.progress import Progress


class _Generator:
    def __init__(self, connection: Connection, seed: int, progress: Progress | None):
        self.rng = random.Random(seed)
        self.now = clock.now()
        self.today = self.now.date()
        self.origin = self.now - dt.timedelta(days=USER_HISTORY_DAYS)
        self.activity_start = self.now - dt.timedelta(days=ACTIVITY_DAYS)
        self.connection = connection
        self.dialect = connection.dialect.name
        self.writer = _Writer(connection, progress)
        self.next_id = {t: self._max_id(t) + 1 for t in self._id_tables()}
        self.emails: set[str] = set()
        self.searches = 0  # private proposals of the carpools' matchings (not ads)
        self.ad_calls = 0  # ads written (an outward/return pair is one)
        self.comms: dict[int, _Comm] = {}
        #: Identifier files of the secured communities: stored name -> content.
        self.security_files: dict[str, bytes] = {}
        self.territories = 0
        self.town_territories: list[tuple[int, ...]] = []
        self.language_ids: tuple[int, int] = (0, 0)
        self.town_cum = self._cumulative([t.weight for t in TOWNS])
        self.mail_domains = [d for d, _ in MAIL_DOMAINS]
        self.mail_cum = self._cumulative([w for _, w in MAIL_DOMAINS])
        self.ascii_cache: dict[str, str] = {}
        # The sample's people, kept in memory (a few hundred).
        self.created_of: dict[int, dt.datetime] = {}
        self.accepted: list[tuple[int, int, dt.datetime]] = []  # (community, user, accepted)
        self.pool: list[int] = []  # members who may join one more open community
        self.cast_ids: dict[str, int] = {}

    # ---- ids and small helpers

    @staticmethod
    def _id_tables() -> list[str]:
        return [t.name for t in PlatformBase.metadata.sorted_tables if "id" in t.c]

    def _max_id(self, table: str) -> int:
        column = PlatformBase.metadata.tables[table].c.id
        return self.connection.execute(select(func.max(column))).scalar() or 0

    def take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    @staticmethod
    def _cumulative(weights: Sequence[float]) -> list[float]:
        out, total = [], 0.0
        for w in weights:
            total += w
            out.append(total)
        return out

    def pick(self, cum: list[float]) -> int:
        return bisect(cum, self.rng.random() * cum[-1])

    def asc(self, value: str) -> str:
        cached = self.ascii_cache.get(value)
        if cached is None:
            cached = self.ascii_cache[value] = _ascii(value)
        return cached

    def between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A second between lo and hi (lo when the range is empty)."""
        span = int((hi - lo).total_seconds())
        if span <= 0:
            return lo
        return lo + dt.timedelta(seconds=self.rng.randrange(span))

    def activity_moment(self) -> dt.datetime:
        """When an ad is published or a carpool starts: over two years, growing over time."""
        r = self.rng.random()
        share = r if self.rng.random() < 0.5 else math.sqrt(r)  # density 1/2 + t
        seconds = int((self.now - self.activity_start).total_seconds() * share)
        return self.activity_start + dt.timedelta(seconds=seconds)

    def crew_start(self) -> dt.date:
        return min(self.activity_moment().date(), self.today - dt.timedelta(days=3))

    def soon_after(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A second between lo and hi, nearer lo: people join soon after they register."""
        span = int((hi - lo).total_seconds())
        if span <= 0:
            return lo
        return lo + dt.timedelta(seconds=int(span * self.rng.random() ** 2))

    def personal_domain(self) -> str:
        return self.mail_domains[self.pick(self.mail_cum)]

    # ---- reference rows

    def write_reference(self) -> None:
        """Languages and territories, shared by every scale."""
        existing = dict(
            self.connection.execute(
                select(Language.code, Language.id).where(Language.code.in_(("fr", "en")))
            ).all()
        )
        ids = []
        for code in ("fr", "en"):
            if code not in existing:
                existing[code] = self.take_id("language")
                self.writer.add("language", {"id": existing[code], "code": code})
            ids.append(existing[code])
        self.language_ids = (ids[0], ids[1])

        rows: list[dict[str, Any]] = []
        dep_ids: dict[str, int] = {}
        for code, (name, box) in DEPARTEMENTS.items():
            dep_ids[code] = self.take_id("territory")
            rows.append(self._territory_row(dep_ids[code], name, TERRITORY_LEVEL_DEPARTEMENT, box))
        epci_ids: dict[str, int] = {}
        for key, name in EPCIS.items():
            towns = [t for t in TOWNS if t.epci == key]
            box = (
                min(t.latitude for t in towns) - 0.07,
                max(t.latitude for t in towns) + 0.07,
                min(t.longitude for t in towns) - 0.09,
                max(t.longitude for t in towns) + 0.09,
            )
            epci_ids[key] = self.take_id("territory")
            rows.append(self._territory_row(epci_ids[key], name, TERRITORY_LEVEL_EPCI, box))
        self._insert_territories(rows)
        self.territories = len(rows)
        self.departement_ids = dep_ids
        for town in TOWNS:
            links: tuple[int, ...] = (dep_ids[town.departement],)
            if town.epci:
                links += (epci_ids[town.epci],)
            self.town_territories.append(links)

    def _territory_row(
        self, id_: int, name: str, level: int, box: tuple[float, float, float, float]
    ) -> dict[str, Any]:
        created = self.origin - dt.timedelta(days=200)
        return {
            "id": id_,
            "name": name,
            "admin_level": level,
            "created_date": created,
            "wkt": _rect_wkt(box),
            "min_lat": box[0],
            "max_lat": box[1],
            "min_lon": box[2],
            "max_lon": box[3],
        }

    def _insert_territories(self, rows: list[dict[str, Any]]) -> None:
        """On the platform's MariaDB the NOT NULL geometry needs a dialect-specific INSERT."""
        if self.dialect == "mysql":
            self.connection.execute(
                text(
                    "INSERT INTO territory (id, name, geo_json_detail, admin_level, created_date,"
                    " updated_date, min_latitude, max_latitude, min_longitude, max_longitude)"
                    " VALUES (:id, :name, ST_GeomFromText(:wkt), :admin_level, :created_date,"
                    " :created_date, :min_lat, :max_lat, :min_lon, :max_lon)"
                ),
                rows,
            )
        else:
            table = PlatformBase.metadata.tables["territory"]
            self.connection.execute(
                table.insert(),
                [{k: r[k] for k in ("id", "name", "admin_level", "created_date")} for r in rows],
            )

    # ---- rows shared by both layers

    def add_user(
        self,
        given: str,
        family: str,
        gender: int,
        email: str,
        created: dt.datetime,
        town: int,
        uid: int | None = None,
        solidary: bool = False,
    ) -> int:
        """A user, their home address and its territories."""
        rng = self.rng
        now = self.now
        if uid is None:
            uid = self.take_id("user")
        solidary_id = None
        if solidary:
            solidary_id = self.take_id("solidary_user")
            beneficiary = rng.random() < 0.7
            self.writer.add(
                "solidary_user",
                {
                    "id": solidary_id,
                    "beneficiary": beneficiary,
                    "volunteer": not beneficiary,
                    "created_date": created,
                },
            )
        validated = None
        if rng.random() < 0.92:
            validated = min(created + dt.timedelta(seconds=rng.randrange(120, 259_200)), now)
        r = rng.random()
        language = self.language_ids[0] if r < 0.7 else self.language_ids[1] if r < 0.74 else None
        self.writer.add(
            "user",
            {
                "id": uid,
                "given_name": given,
                "family_name": family,
                "email": email,
                "gender": gender,
                "status": int(UserStatus.ACTIVE),
                "created_date": created,
                "validated_date": validated,
                "phone_display": int(PhoneDisplay.RESTRICTED),
                "solidary_user_id": solidary_id,
                "last_activity_date": created
                + dt.timedelta(seconds=int((now - created).total_seconds() * rng.random() ** 0.3)),
                "language_id": language,
            },
        )
        street = f"{rng.randint(1, 180)} {STREETS[rng.randrange(len(STREETS))]}"
        self.add_place(town, created, street=street, home_of=uid)
        return uid

    def town_communities(
        self, count: int
    ) -> Iterator[tuple[int, str, str, str | None, ValidationType, bool]]:
        """`count` distinct (town, template) pairs drawn at once, each as (town, town name, name,
        domain, validation, hidden): the generic communities of scale 0's platform and of
        scales 1-3."""
        combos = [(t, i) for t in range(len(TOWNS)) for i in range(len(_TEMPLATES))]
        for town, template in self.rng.sample(combos, count):
            pattern, validation, domain_pattern, hidden = _TEMPLATES[template]
            town_name = TOWNS[town].name
            name = pattern.format(town=town_name, of_town=_of(town_name))
            domain = domain_pattern.format(slug=self.asc(town_name)) if domain_pattern else None
            yield town, town_name, name, domain, validation, hidden

    def add_town_community(
        self,
        name: str,
        town: int,
        town_name: str,
        validation: ValidationType,
        domain: str | None,
        creator: int,
        created: dt.datetime,
        hidden: bool,
        weight: float | None,
    ) -> _Comm:
        """A generic community of a town (scale 0's platform, scales 1-3): its texts, a street
        drawn, then its weight (None: drawn from a Pareto law, after the street)."""
        rng = self.rng
        street = f"{rng.randint(1, 120)} {STREETS[rng.randrange(len(STREETS))]}"
        return self.add_community(
            name,
            f"Communauté « {name} » : partagez vos trajets du quotidien.",
            f"Bienvenue dans la communauté « {name} ». Publiez vos annonces, trouvez des "
            f"covoitureurs autour {_of(town_name)} et réduisez ensemble vos émissions de CO2.",
            validation,
            domain,
            street,
            TOWNS[town].postal_code,
            town,
            creator,
            created,
            hidden,
            hidden,
            min(rng.paretovariate(1.1), 25.0) if weight is None else weight,
        )

    def add_community(
        self,
        name: str,
        description: str,
        full_description: str,
        validation: ValidationType,
        domain: str | None,
        street: str,
        postal_code: str,
        town: int,
        creator: int,
        created: dt.datetime,
        members_hidden: bool,
        proposals_hidden: bool,
        weight: float,
    ) -> _Comm:
        rng = self.rng
        t = TOWNS[town]
        address_id = self.take_id("address")
        self.writer.add(
            "address",
            {
                "id": address_id,
                "street_address": street,
                "postal_code": postal_code,
                "address_locality": t.name,
                "address_country": "France",
                "latitude": round(t.latitude + rng.uniform(-0.01, 0.01), 6),
                "longitude": round(t.longitude + rng.uniform(-0.01, 0.01), 6),
                "user_id": None,
                "home": False,
                "created_date": created,
            },
        )
        for territory_id in self.town_territories[town]:
            self.writer.add(
                "address_territory", {"address_id": address_id, "territory_id": territory_id}
            )
        cid = self.take_id("community")
        updated = self.between(created, self.now - dt.timedelta(days=30))
        self.writer.add(
            "community",
            {
                "id": cid,
                "user_id": creator,
                "name": name,
                "members_hidden": members_hidden,
                "description": description,
                "full_description": full_description,
                "created_date": created,
                "proposals_hidden": proposals_hidden,
                "updated_date": updated,
                "address_id": address_id,
                "validation_type": int(validation),
                "domain": domain,
                "status": None,
            },
        )
        if validation == ValidationType.SECURED:
            # Named as the platform names an upload: time()-communityId, plus the original
            # name's extension (CommunitySecurityManager::createSecurity, Vich's PropertyNamer).
            rng.getrandbits(64)  # the draw the former random name took: the figures stay the same
            filename = f"{int(updated.replace(tzinfo=dt.UTC).timestamp())}-{cid}.csv"
            pairs = random.Random(cid)
            self.writer.add(
                "community_security",
                {
                    "id": self.take_id("community_security"),
                    "community_id": cid,
                    "filename": filename,
                    "original_name": f"identifiants_{self.asc(t.name)}.csv",
                },
            )
            self.security_files[filename] = "".join(
                f"{pairs.randrange(100000, 999999)};{pairs.randrange(1, 29):02d}/"
                f"{pairs.randrange(1, 13):02d}/{pairs.randrange(1950, 2005)}\n"
                for _ in range(20)
            ).encode()
        comm = _Comm(cid, creator, created, int(validation), _first_domain(domain), town, weight)
        self.comms[cid] = comm
        return comm

    def add_membership(
        self, comm: _Comm, uid: int, status: int, joined: dt.datetime
    ) -> dt.datetime | None:
        """A community_user row with the dates the platform keeps; returns accepted_date."""
        rng = self.rng
        now = self.now
        accepted = refused = None
        if status == _PENDING:
            updated = joined
            admin = None
        else:
            admin = comm.creator
            decided = joined
            if uid != comm.creator and (comm.validation == _MANUAL or status == _REFUSED):
                decided = min(joined + dt.timedelta(seconds=rng.randrange(600, 432_000)), now)
            if status == _REFUSED:
                refused = updated = decided
            else:
                accepted = updated = decided
                if status == _MODERATOR and uid != comm.creator:
                    updated = min(decided + dt.timedelta(days=rng.randint(0, 60)), now)
        self.writer.add(
            "community_user",
            {
                "id": self.take_id("community_user"),
                "community_id": comm.id,
                "user_id": uid,
                "admin_id": admin,
                "status": status,
                "created_date": joined,
                "accepted_date": accepted,
                "refused_date": refused,
                "updated_date": updated,
            },
        )
        return accepted

    def add_place(
        self,
        town: int,
        created: dt.datetime,
        street: str | None = None,
        home_of: int | None = None,
    ) -> int:
        """An address in `town` with its territories (a user's home with `home_of`, else an
        ad's origin or destination); returns its id."""
        rng = self.rng
        t = TOWNS[town]
        address_id = self.take_id("address")
        self.writer.add(
            "address",
            {
                "id": address_id,
                "street_address": street,
                "postal_code": t.postal_code,
                "address_locality": t.name,
                "address_country": "France",
                "latitude": round(t.latitude + rng.uniform(-0.02, 0.02), 6),
                "longitude": round(t.longitude + rng.uniform(-0.03, 0.03), 6),
                "user_id": home_of,
                "home": home_of is not None,
                "created_date": created,
            },
        )
        for territory_id in self.town_territories[town]:
            self.writer.add(
                "address_territory", {"address_id": address_id, "territory_id": territory_id}
            )
        return address_id

    def add_ad(self, uid: int, cid: int | None, created: dt.datetime) -> int:
        """One ad (one-way) or an outward/return pair; returns the number of proposals.

        Each proposal has its origin (position 0) and destination waypoints, as the platform
        writes them: from a town drawn by population to the community's town (a community ad)
        or another town; the return trip goes back between the same two addresses.
        """
        rng = self.rng
        self.ad_calls += 1
        origin = self.add_place(self.pick(self.town_cum), created)
        target = self.comms[cid].town if cid is not None else self.pick(self.town_cum)
        ends = (origin, self.add_place(target, created))
        regular = rng.random() < 0.6
        role = rng.random()
        driver, passenger = role < 0.65, role >= 0.45
        private = rng.random() < 0.06
        # proposal.active stays NULL (only real-time carpooling writes it); paused is false
        # unless the author paused the ad (Proposal's constructor, AdManager::updateAd).
        paused = rng.random() < 0.04
        if regular:
            frequency = int(CriteriaFrequency.REGULAR)
            from_date = created.date()
            to_date: dt.date | None = from_date + dt.timedelta(days=365)
        else:
            frequency = int(CriteriaFrequency.PUNCTUAL)
            from_date = created.date() + dt.timedelta(days=rng.randint(0, 30))
            to_date = None
        updated = self.between(created, self.now) if rng.random() < 0.3 else created
        seats_driver = (1, 2, 3, 3, 3, 4)[rng.randrange(6)]
        seats_passenger = 1 if rng.random() < 0.9 else 2
        if rng.random() < 0.55:
            types: tuple[int, ...] = (int(ProposalType.OUTWARD), int(ProposalType.RETURN))
        else:
            types = (int(ProposalType.ONE_WAY),)
        for type_ in types:
            criteria_id = self.take_id("criteria")
            self.writer.add(
                "criteria",
                {
                    "id": criteria_id,
                    "frequency": frequency,
                    "seats_driver": seats_driver,
                    "seats_passenger": seats_passenger,
                    "from_date": from_date,
                    "to_date": to_date,
                    "driver": driver,
                    "passenger": passenger,
                    "created_date": created,
                },
            )
            pid = self.take_id("proposal")
            self.writer.add(
                "proposal",
                {
                    "id": pid,
                    "user_id": uid,
                    "created_date": created,
                    "type": type_,
                    "criteria_id": criteria_id,
                    "private": private,
                    "paused": paused,
                    "active": None,
                    "updated_date": updated,
                },
            )
            if cid is not None and not private:
                self.writer.add("proposal_community", {"proposal_id": pid, "community_id": cid})
            start, finish = ends if type_ != int(ProposalType.RETURN) else ends[::-1]
            for position, address_id in enumerate((start, finish)):
                self.writer.add(
                    "waypoint",
                    {
                        "id": self.take_id("waypoint"),
                        "proposal_id": pid,
                        "address_id": address_id,
                        "position": position,
                        "destination": position == 1,
                    },
                )
        return len(types)

    def add_search(self, uid: int, created: dt.datetime, day: dt.date, driver: bool) -> int:
        """A search as the platform records it: a private one-way proposal with its criteria
        and waypoints (a matching joins two of them); returns its id."""
        criteria_id = self.take_id("criteria")
        self.writer.add(
            "criteria",
            {
                "id": criteria_id,
                "frequency": int(CriteriaFrequency.PUNCTUAL),
                "seats_driver": 3,
                "seats_passenger": 1,
                "from_date": day,
                "to_date": None,
                "driver": driver,
                "passenger": not driver,
                "created_date": created,
            },
        )
        pid = self.take_id("proposal")
        self.searches += 1
        self.writer.add(
            "proposal",
            {
                "id": pid,
                "user_id": uid,
                "created_date": created,
                "type": int(ProposalType.ONE_WAY),
                "criteria_id": criteria_id,
                "private": True,
                "paused": False,
                "active": None,
                "updated_date": created,
            },
        )
        for position in (0, 1):
            self.writer.add(
                "waypoint",
                {
                    "id": self.take_id("waypoint"),
                    "proposal_id": pid,
                    "address_id": self.add_place(self.pick(self.town_cum), created),
                    "position": position,
                    "destination": position == 1,
                },
            )
        return pid

    def add_ask(
        self, driver: int, passenger: int, created: dt.datetime, day: dt.date, common: int
    ) -> int:
        """The matching (common_distance in metres) and the accepted ask behind a carpool."""
        offer = self.add_search(driver, created, day, driver=True)
        request = self.add_search(passenger, created, day, driver=False)
        ids = {}
        for table in ("matching", "ask"):
            criteria_id = self.take_id("criteria")
            self.writer.add(
                "criteria",
                {
                    "id": criteria_id,
                    "frequency": int(CriteriaFrequency.REGULAR),
                    "seats_driver": 3,
                    "seats_passenger": 1,
                    "from_date": day,
                    "to_date": day + dt.timedelta(days=365),
                    "driver": True,
                    "passenger": True,
                    "created_date": created,
                },
            )
            ids[table] = (self.take_id(table), criteria_id)
        matching_id, criteria_id = ids["matching"]
        self.writer.add(
            "matching",
            {
                "id": matching_id,
                "proposal_offer_id": offer,
                "proposal_request_id": request,
                "criteria_id": criteria_id,
                "created_date": created,
                "common_distance": common,
            },
        )
        ask_id, criteria_id = ids["ask"]
        self.writer.add(
            "ask",
            {
                "id": ask_id,
                "user_id": passenger,
                "matching_id": matching_id,
                "criteria_id": criteria_id,
                "status": int(AskStatus.ACCEPTED_AS_DRIVER),
                "type": int(ProposalType.ONE_WAY),
                "created_date": created,
            },
        )
        return ask_id

    def add_crew(self, driver: int, passenger: int, day: dt.date, limit: int) -> int:
        """A driver and a passenger sharing some working days for a few weeks or months.

        Starts on `day`; returns the items written (at most `limit`). Only the crews still
        running today have planned items, in the next two weeks.
        """
        rng = self.rng
        today = self.today
        last = min(day + dt.timedelta(days=rng.randint(15, 270)), today + dt.timedelta(days=14))
        created = dt.datetime.combine(
            day - dt.timedelta(days=rng.randint(1, 4)),
            dt.time(rng.randint(7, 21), rng.randrange(60)),
        )
        common = int(rng.triangular(3_000, 60_000, 15_000))  # metres, as the matching has it
        ask_id = self.add_ask(driver, passenger, created, day, common)
        share = rng.uniform(0.4, 0.95)  # of the working days they carpool
        reliability = rng.uniform(0.8, 0.98)
        return self.add_items(
            driver, passenger, ask_id, common, created, day, last, share, reliability, limit
        )

    def add_commute(
        self, driver: int, passenger: int, day: dt.date, last: dt.date, common: int
    ) -> int:
        """Colleagues commuting together from `day` to `last`: most working days, reliably;
        returns the items written."""
        rng = self.rng
        created = dt.datetime.combine(
            day - dt.timedelta(days=rng.randint(1, 10)),
            dt.time(rng.randint(7, 21), rng.randrange(60)),
        )
        ask_id = self.add_ask(driver, passenger, created, day, common)
        share = rng.uniform(0.65, 0.95)
        reliability = rng.uniform(0.88, 0.98)
        last = min(last, self.today + dt.timedelta(days=14))
        return self.add_items(
            driver, passenger, ask_id, common, created, day, last, share, reliability, 10**9
        )

    def add_items(
        self,
        driver: int,
        passenger: int,
        ask_id: int,
        common: int,
        created: dt.datetime,
        day: dt.date,
        last: dt.date,
        share: float,
        reliability: float,
        limit: int,
    ) -> int:
        """The carpool items of one ask, one outward trip per carpooled working day."""
        rng = self.rng
        today = self.today
        # PaymentManager: round(common_distance / 1000), whole km (PHP rounds half up here).
        km = int(common / 1000 + 0.5)
        amount = round(common * PRICE_PER_METRE, 2)
        written = 0
        while written < limit and day <= last:
            if day.weekday() < 5 and rng.random() < share:
                if day >= today:
                    status = _PLANNED
                elif rng.random() < reliability:
                    status = _CARRIED_OUT
                else:
                    status = _NOT_CARRIED_OUT
                self.writer.add(
                    "carpool_item",
                    {
                        "id": self.take_id("carpool_item"),
                        "debtor_user_id": passenger,
                        "creditor_user_id": driver,
                        "type": CARPOOL_ITEM_OUTWARD,
                        "item_status": status,
                        "item_date": day,
                        "amount": amount,
                        "debtor_status": PAYMENT_STATUS_INITIALIZED,
                        "creditor_status": PAYMENT_STATUS_INITIALIZED,
                        "created_date": created,
                        "ask_id": ask_id,
                        "distance": km if day >= DISTANCE_SINCE else None,
                    },
                )
                written += 1
            day += ONE_DAY
        return written
