"""Scales 1-3: large data added to the named sample (the benchmarks' data)."""

from __future__ import annotations

import datetime as dt
from array import array
from bisect import bisect

from storage.codes import Gender
from storage.demo.constants import (
    _ACCEPTED,
    _DOMAIN,
    _MANUAL,
    _MEMBER,
    _MODERATOR,
    _PENDING,
    _REFUSED,
    _RETRIES,
    LARGE_COMMUNITIES,
    ONE_DAY,
    PENDING_WINDOW_DAYS,
    USER_HISTORY_DAYS,
)
from storage.demo.generator import _Generator
from storage.demo.helpers import _Comm
from storage.demo.reference import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES


class _Large(_Generator):
    """Scales 1-3: bulk users, communities, memberships, ads and carpools."""

    # ---- scale >= 1: large data

    def build_large(self, n_users: int, n_ads: int, n_items: int) -> None:
        """Bulk users, communities, memberships, ads and carpools, generated batch by batch."""
        rng = self.rng
        now = self.now
        first = self.next_id["user"]
        self.next_id["user"] = first + n_users
        step = (USER_HISTORY_DAYS - 2) * 86_400 / n_users
        origin = self.origin
        origin_date = origin.date()

        def created_of(uid: int) -> dt.datetime:
            # Ids follow registration order, so a user's date is known without storing it.
            offset = int((uid - first) * step) + (uid * 7919) % 3600
            return origin + dt.timedelta(seconds=offset)

        # Accepted memberships, kept as compact arrays for ads and carpools.
        m_user = array("i")
        m_comm = array("i")
        m_day = array("i")  # accepted date, in days since origin
        by_comm: dict[int, array[int]] = {c.id: array("i") for c in self.comms.values()}
        self.writer.rows_phase("users", "user", n_users)

        def remember(comm: _Comm, uid: int, when: dt.datetime | None) -> None:
            if when is not None:
                by_comm[comm.id].append(len(m_user))
                m_user.append(uid)
                m_comm.append(comm.id)
                m_day.append((when.date() - origin_date).days)

        # Generated communities. Their creators and extra moderators are the first bulk users,
        # written before the community itself so that every row follows the rows it refers to.
        next_uid = first
        for town, town_name, name, domain, validation, hidden in self.town_communities(
            LARGE_COMMUNITIES - len(self.comms)
        ):
            admins = range(next_uid, next_uid + 1 + rng.randint(0, 2))
            next_uid = admins.stop
            creator, moderators = admins[0], admins[1:]
            for admin in admins:
                own = domain if domain and rng.random() < 0.9 else None
                self.add_large_user(admin, created_of(admin), own, town)
            created = self.between(created_of(admins[-1]) + ONE_DAY, now - dt.timedelta(days=120))
            comm = self.add_town_community(
                name, town, town_name, validation, domain, creator, created, hidden, weight=None
            )
            by_comm[comm.id] = array("i")
            remember(comm, creator, self.add_membership(comm, creator, _MODERATOR, created))
            for moderator in moderators:
                joined = self.between(created + ONE_DAY, now - dt.timedelta(days=7))
                remember(comm, moderator, self.add_membership(comm, moderator, _MODERATOR, joined))

        comms = list(self.comms.values())
        comm_cum = self._cumulative([c.weight for c in comms])
        total_weight = comm_cum[-1]
        pending_from = now - dt.timedelta(days=PENDING_WINDOW_DAYS)
        town_cum = self.town_cum
        for uid in range(next_uid, first + n_users):
            created = created_of(uid)
            r = rng.random()
            wanted = 0 if r < 0.4 else 1 if r < 0.85 else 2
            picks: list[tuple[_Comm, int]] = []
            email_domain = None
            for _ in range(wanted):
                comm = comms[bisect(comm_cum, rng.random() * total_weight)]
                # One community per user, and at most one with an e-mail domain.
                if any(comm is c for c, _ in picks) or (comm.domain and email_domain):
                    continue
                r = rng.random()
                if comm.validation == _MANUAL:
                    status = _PENDING if r < 0.08 else _REFUSED if r < 0.12 else _MEMBER
                else:
                    status = _PENDING if r < 0.01 else _REFUSED if r < 0.02 else _MEMBER
                if comm.domain:
                    if status in _ACCEPTED:
                        share = 1.0 if comm.validation == _DOMAIN else 0.85
                    else:
                        share = 0.5
                    email_domain = comm.domain if rng.random() < share else ""
                picks.append((comm, status))
            if picks and rng.random() < 0.6:
                town = picks[0][0].town
            else:
                town = bisect(town_cum, rng.random() * town_cum[-1])
            self.add_large_user(uid, created, email_domain or None, town)
            for comm, status in picks:
                lo = max(created, comm.created)
                if status == _PENDING:
                    joined = self.between(max(lo, pending_from), now)
                else:
                    joined = self.soon_after(lo, now)
                remember(comm, uid, self.add_membership(comm, uid, status, joined))

        # Ads: 70 % by members in their community, the rest by anyone registered before.
        written = 0
        self.writer.rows_phase("ads", "proposal", n_ads)
        n_members = len(m_user)
        while written < n_ads:
            moment = self.activity_moment()
            if n_members and rng.random() < 0.7:
                day = (moment.date() - origin_date).days
                for _ in range(_RETRIES):
                    k = rng.randrange(n_members)
                    if m_day[k] < day:
                        link = m_comm[k] if rng.random() < 0.85 else None
                        written += self.add_ad(m_user[k], link, moment)
                        break
            else:
                registered = int((moment - origin).total_seconds() / step)
                if registered > 0:
                    uid = first + rng.randrange(min(registered, n_users))
                    written += self.add_ad(uid, None, max(moment, created_of(uid)))

        # Carpools: crews of two members of the same community, both accepted before.
        written = 0
        self.writer.rows_phase("carpool items", "carpool_item", n_items)
        attempts = 0
        while written < n_items and n_members and attempts < n_items:
            attempts += 1
            start = self.crew_start()
            day = (start - origin_date).days
            for _ in range(_RETRIES):
                k = rng.randrange(n_members)
                if m_day[k] >= day:
                    continue
                crew = by_comm[m_comm[k]]
                j = crew[rng.randrange(len(crew))]
                if j != k and m_day[j] < day:
                    written += self.add_crew(m_user[k], m_user[j], start, n_items - written)
                    break

    def add_large_user(self, uid: int, created: dt.datetime, domain: str | None, town: int) -> None:
        """A bulk user: random name, an e-mail made unique by the id."""
        rng = self.rng
        female = rng.random() < 0.5
        given = rng.choice(FEMALE_NAMES) if female else rng.choice(MALE_NAMES)
        family = FAMILY_NAMES[rng.randrange(len(FAMILY_NAMES))]
        domain = domain or self.personal_domain()
        email = f"{self.asc(given)}.{self.asc(family).replace('-', '')}.{uid}@{domain}"
        gender = int(Gender.FEMALE if female else Gender.MALE)
        solidary = rng.random() < 0.004
        self.add_user(given, family, gender, email, created, town, uid=uid, solidary=solidary)
