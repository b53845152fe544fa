"""Scale 0: the named sample, then the platform around it (Pass Pass's proportions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage.codes import Gender, ValidationType
from storage.demo.constants import (
    _ACCEPTED,
    _DOMAIN,
    _MANUAL,
    _MEMBER,
    _MODERATOR,
    _PENDING,
    _REFUSED,
    _RETRIES,
    ONE_DAY,
    PENDING_WINDOW_DAYS,
    PLATFORM_ADOPTION,
    PLATFORM_ADS_PER_USER,
    PLATFORM_COMMUNITIES,
    PLATFORM_COMMUTERS,
    PLATFORM_USERS,
    SAMPLE_CREW_ITEMS,
    SAMPLE_ITEMS,
    SAMPLE_PROPOSALS,
)
from storage.demo.generator import _Generator
from storage.demo.reference import _TOWN_INDEX, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES
from storage.demo.sample import _CAST_NAMES, CAST, NAMED_COMMUNITIES, _NamedCommunity


class _Scale0(_Generator):
    """The named sample (every scale), and scale 0's platform around it."""

    # ---- scale 0: the named sample

    def new_email(self, given: str, family: str, domain: str) -> str:
        rng = self.rng
        g, f = self.asc(given), self.asc(family).replace("-", "")
        r = rng.random()
        if r < 0.6:
            local = f"{g}.{f}"
        elif r < 0.7:
            local = f"{g}_{f}"
        elif r < 0.85:
            local = f"{g[0]}{f}"
        else:
            local = f"{g}.{f}{rng.choice((59, 62, 80, 76, 84, 91, 95))}"
        email, n = f"{local}@{domain}", 2
        while email in self.emails:
            email, n = f"{local}{n}@{domain}", n + 1
        self.emails.add(email)
        return email

    def random_person(self) -> tuple[str, str, int]:
        """Given name, family name and gender of a sample user, never a named person's."""
        rng = self.rng
        while True:
            female = rng.random() < 0.5
            given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            family = rng.choice(FAMILY_NAMES)
            if (given, family) not in _CAST_NAMES:
                break
        gender = Gender.FEMALE if female else Gender.MALE
        if rng.random() < 0.01:
            gender = Gender.OTHER
        return given, family, int(gender)

    def build_sample(self) -> None:
        """The referent guide's communities and people, about 230 users (every scale)."""
        rng = self.rng
        now = self.now

        for person in CAST:
            # Who runs a community registered before creating or moderating it.
            ages = [
                c.age_days
                for c in NAMED_COMMUNITIES
                if person.email == c.referent or person.email in c.moderators
            ]
            if ages:
                created = now - dt.timedelta(
                    days=max(ages) + rng.randint(3, 120), seconds=rng.randrange(86_400)
                )
            else:
                created = self.between(self.origin, now - dt.timedelta(days=90))
            self.emails.add(person.email)
            uid = self.add_user(
                person.given,
                person.family,
                int(person.gender),
                person.email,
                created,
                _TOWN_INDEX[person.town],
            )
            self.cast_ids[person.email] = uid
            self.created_of[uid] = created

        for spec in NAMED_COMMUNITIES:
            self._sample_community(spec)

        # People who joined no community, some of them solidarity users.
        for i in range(24):
            given, family, gender = self.random_person()
            email = self.new_email(given, family, self.personal_domain())
            created = self.between(self.origin, now - dt.timedelta(days=1))
            uid = self.add_user(
                given, family, gender, email, created, self.pick(self.town_cum), solidary=i < 6
            )
            self.created_of[uid] = created
        all_users = list(self.created_of)

        # Ads: mostly by members, in their community; authors registered (joined) before.
        # (Authors are drawn again for the same moment, so the moments keep their spread.)
        proposals = 0
        while proposals < SAMPLE_PROPOSALS:
            moment = self.activity_moment()
            for _ in range(_RETRIES):
                if rng.random() < 0.75:
                    cid, uid, when = self.accepted[rng.randrange(len(self.accepted))]
                    link = cid if rng.random() < 0.8 else None
                    if when < moment:
                        proposals += self.add_ad(uid, link, moment)
                        break
                else:
                    uid = all_users[rng.randrange(len(all_users))]
                    if self.created_of[uid] < moment:
                        proposals += self.add_ad(uid, None, moment)
                        break

        # Carpools between members of the same community.
        by_comm: dict[int, list[tuple[int, dt.datetime]]] = {}
        for cid, uid, when in self.accepted:
            by_comm.setdefault(cid, []).append((uid, when))
        cids = list(by_comm)
        cum = self._cumulative([len(by_comm[c]) for c in cids])
        items = 0
        while items < SAMPLE_ITEMS:
            start = self.crew_start()
            for _ in range(_RETRIES):
                crew = [u for u, when in by_comm[cids[self.pick(cum)]] if when.date() < start]
                if len(crew) >= 2:
                    driver, passenger = rng.sample(crew, 2)
                    limit = min(SAMPLE_CREW_ITEMS, SAMPLE_ITEMS - items)
                    items += self.add_crew(driver, passenger, start, limit)
                    break

    def _sample_community(self, spec: _NamedCommunity) -> None:
        """One named community: its creator, moderators and members in every status."""
        rng = self.rng
        now = self.now
        created = now - dt.timedelta(days=spec.age_days, seconds=rng.randrange(86_400))
        creator = self.cast_ids[spec.referent]
        comm = self.add_community(
            spec.name,
            spec.description,
            spec.full_description,
            spec.validation,
            spec.domain,
            spec.street,
            spec.postal_code,
            _TOWN_INDEX[spec.town],
            creator,
            created,
            spec.members_hidden,
            spec.proposals_hidden,
            spec.weight,
        )
        plan: list[tuple[int, int]] = [(creator, _MODERATOR)]
        plan += [(self.cast_ids[e], _MODERATOR) for e in spec.moderators]
        plan += [(self.cast_ids[e], _MEMBER) for e in spec.members]
        wanted = (
            [_MODERATOR] * spec.n_extra_moderators
            + [_MEMBER] * (spec.n_members - len(spec.members))
            + [_REFUSED] * spec.n_refused
            + [_PENDING] * spec.n_pending
        )
        pending_seen = 0
        for status in wanted:
            use_domain = False
            if comm.domain and status in _ACCEPTED:
                use_domain = spec.validation == ValidationType.DOMAIN or rng.random() < 0.85
            elif comm.domain and status == _PENDING:
                use_domain = pending_seen % 2 == 0  # half match the domain, half do not
                pending_seen += 1
            uid = None
            # Members of open communities sometimes already belong to another one.
            if not comm.domain and self.pool and rng.random() < 0.25:
                candidate = self.pool[rng.randrange(len(self.pool))]
                if all(candidate != u for u, _ in plan):
                    uid = candidate
            if uid is None:
                lo = created - dt.timedelta(days=200)
                if status == _PENDING:
                    lo = now - dt.timedelta(days=PENDING_WINDOW_DAYS * 3)
                uid = self._sample_user(spec, comm.domain if use_domain else None, lo)
            plan.append((uid, status))

        for uid, status in plan:
            lo = max(self.created_of[uid], created)
            if uid == creator:
                joined = created
            elif status == _PENDING:
                joined = self.between(max(lo, now - dt.timedelta(days=PENDING_WINDOW_DAYS)), now)
            else:
                joined = self.soon_after(lo, now - dt.timedelta(days=2))
            when = self.add_membership(comm, uid, status, joined)
            if when is not None:
                self.accepted.append((comm.id, uid, when))
        self.pool.extend(uid for uid, status in plan if status == _MEMBER)

    def _sample_user(self, spec: _NamedCommunity, domain: str | None, lo: dt.datetime) -> int:
        rng = self.rng
        given, family, gender = self.random_person()
        if rng.random() < 0.8:
            town = _TOWN_INDEX[spec.area[rng.randrange(len(spec.area))]]
        else:
            town = self.pick(self.town_cum)
        email = self.new_email(given, family, domain or self.personal_domain())
        created = self.between(max(lo, self.origin), self.now - dt.timedelta(days=1))
        uid = self.add_user(given, family, gender, email, created, town)
        self.created_of[uid] = created
        return uid

    # ---- scale 0: the platform around the sample

    def growing_moment(self, lo: dt.datetime, hi: dt.datetime, power: float = 2.0) -> dt.datetime:
        """A second between lo and hi, more and more likely towards hi (density ~ t^(power-1)):
        a growing platform."""
        span = int((hi - lo).total_seconds())
        if span <= 0:
            return lo
        return lo + dt.timedelta(seconds=int(span * self.rng.random() ** (1 / power)))

    def platform_user(
        self, towns: Sequence[int] | None, domain: str | None, lo: dt.datetime, power: float = 2.0
    ) -> tuple[int, dt.datetime]:
        """A registered user of the platform (home in one of `towns`, or anywhere by
        population), registered after `lo`; returns (id, created_date)."""
        rng = self.rng
        given, family, gender = self.random_person()
        if towns and rng.random() < 0.85:
            town = towns[rng.randrange(len(towns))]
        else:
            town = self.pick(self.town_cum)
        email = self.new_email(given, family, domain or self.personal_domain())
        created = self.growing_moment(max(lo, self.origin), self.now - ONE_DAY, power)
        uid = self.add_user(given, family, gender, email, created, town)
        self.created_of[uid] = created
        return uid, created

    def build_platform(self) -> None:
        """Scale 0 only: the platform around the named sample, with Pass Pass's proportions.

        Most registered users never carpool and many belong to no community, while the staff
        of two sites commute together most working days (PLATFORM_COMMUTERS): so the lifetime
        ratios stay near Pass Pass's (about 2 kg of CO2 and 0.4 ads per user) while those two
        communities of a few hundred members save tonnes of CO2 a month.
        """
        rng = self.rng
        now = self.now
        by_name = {c.name: c for c in NAMED_COMMUNITIES}
        # build_sample wrote the named communities in NAMED_COMMUNITIES' order.
        named = dict(zip(by_name, self.comms.values(), strict=True))
        self.writer.rows_phase("users", "user", PLATFORM_USERS - len(self.created_of))

        # The commuters' communities grow to a few hundred members, adoption speeding up.
        for name, (members, pro_domain, _crews) in PLATFORM_COMMUTERS.items():
            comm = named[name]
            area = [_TOWN_INDEX[t] for t in by_name[name].area]
            accepted = sum(1 for cid, _, _ in self.accepted if cid == comm.id)
            for i in range(members - accepted):
                domain = pro_domain if rng.random() < 0.85 else None
                uid, created = self.platform_user(
                    area, domain, comm.created - dt.timedelta(days=60), 2.5
                )
                status = _REFUSED if i % 40 == 39 else _MEMBER
                joined = self.soon_after(max(created, comm.created), now - dt.timedelta(days=2))
                when = self.add_membership(comm, uid, status, joined)
                if when is not None:
                    self.accepted.append((comm.id, uid, when))

        # Smaller communities, as the platform's own (companies, towns, schools, clubs...).
        for town, town_name, name, domain, validation, hidden in self.town_communities(
            PLATFORM_COMMUNITIES - len(self.comms)
        ):
            creator, registered = self.platform_user(
                [town], domain if rng.random() < 0.9 else None, self.origin, 1.5
            )
            created = self.between(registered + ONE_DAY, now - dt.timedelta(days=60))
            comm = self.add_town_community(
                name, town, town_name, validation, domain, creator, created, hidden, weight=1.0
            )
            accepted_at = self.add_membership(comm, creator, _MODERATOR, created)
            assert accepted_at is not None  # a moderator's membership is accepted
            self.accepted.append((comm.id, creator, accepted_at))
            size = min(int(rng.paretovariate(1.1) * 4), 90)
            statuses = [_MEMBER] * size
            if comm.validation == _MANUAL:
                statuses += [_REFUSED] * rng.randint(1, 3) + [_PENDING] * rng.randint(3, 5)
            pending_from = now - dt.timedelta(days=PENDING_WINDOW_DAYS)
            for status in statuses:
                own = (
                    comm.domain
                    if comm.domain and (comm.validation == _DOMAIN or rng.random() < 0.8)
                    else None
                )
                uid, registered = self.platform_user([town], own, created - dt.timedelta(days=200))
                lo = max(registered, created)
                if status == _PENDING:
                    joined = self.between(max(lo, pending_from), now)
                else:
                    joined = self.soon_after(lo, now - ONE_DAY)
                when = self.add_membership(comm, uid, status, joined)
                if when is not None:
                    self.accepted.append((comm.id, uid, when))

        # Everyone else: registered, most never published an ad nor carpooled.
        while len(self.created_of) < PLATFORM_USERS:
            self.platform_user(None, None, self.origin)

        # Ads: the commuters' regular trips to their site, other members', anyone's.
        users = list(self.created_of)
        commuters = {named[name].id for name in PLATFORM_COMMUTERS}
        staff = [m for m in self.accepted if m[0] in commuters]
        others = [m for m in self.accepted if m[0] not in commuters]
        wanted = round(PLATFORM_ADS_PER_USER * len(users)) - self.ad_calls
        written = 0
        self.writer.phase("ads", wanted, lambda: written)
        while written < wanted:
            moment = self.activity_moment()
            for _ in range(_RETRIES):
                r = rng.random()
                if r < 0.65:
                    pool = staff if r < 0.35 else others
                    cid, uid, when = pool[rng.randrange(len(pool))]
                    if when < moment:
                        self.add_ad(uid, cid if rng.random() < 0.85 else None, moment)
                        written += 1
                        break
                else:
                    uid = users[rng.randrange(len(users))]
                    if self.created_of[uid] < moment:
                        self.add_ad(uid, None, moment)
                        written += 1
                        break

        # Commuting crews, more and more of them: colleagues living 15 to 40 km from the site.
        self.writer.phase("carpools", None)
        for name, (_members, _domain, crews) in PLATFORM_COMMUTERS.items():
            cid = named[name].id
            crew = [(uid, when.date()) for c, uid, when in self.accepted if c == cid]
            span = (self.now - self.activity_start).total_seconds()
            for k in range(crews):
                # Stratified draws: nearly the same adoption curve whatever the seed.
                share = ((k + rng.random()) / crews) ** (1 / PLATFORM_ADOPTION)
                moment = self.activity_start + dt.timedelta(seconds=span * share)
                start = min(moment.date(), self.today - dt.timedelta(days=3))
                ready = [uid for uid, when in crew if when < start]
                if len(ready) < 2:
                    continue
                driver, passenger = rng.sample(ready, 2)
                last = start + dt.timedelta(days=rng.randint(180, 720))
                common = int(rng.triangular(15_000, 40_000, 24_000))
                self.add_commute(driver, passenger, start, last, common)
