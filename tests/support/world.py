"""A small, known world of communities, people and memberships for the use-case tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.codes import (
    AuthItemId,
    Gender,
    MembershipStatus,
    PhoneDisplay,
    UserStatus,
    ValidationType,
)
from storage.models import Address, Community, CommunityUser, User, UserAuthAssignment
from storage.roles import ensure_auth_items

T0 = dt.datetime(2023, 10, 13, 9, 30)

PEOPLE = {
    # key: (given, family, email)
    "jeanmarc": ("Jean-Marc", "Morel", "jean-marc.morel@arcfrance.fr"),
    "emilie": ("Emilie", "Fournier", "emilie.fournier@arcfrance.fr"),
    "marion": ("Marion", "Hennebert", "marion.hennebert@arcfrance.fr"),
    "pierre": ("Pierre", "Lambert", "pierre.lambert@arcfrance.fr"),
    "helene": ("Hélène", "Bernard", "helene.bernard@gmail.com"),
    "francois": ("François", "Blanc", "francois.blanc@ARCFRANCE.fr"),
    "nathalie": ("Nathalie", "Dupont", "nathalie.dupont@orange.fr"),
    "eddy": ("Eddy", "Lefebvre", "eddy.lefebvre@lenord.fr"),
    "lila": ("Lila", "Aubert", "lila.aubert@free.fr"),
    "cyrielle": ("Cyrielle", "Gosselin", "cyrielle.gosselin@gsk.com"),
    "aurelien": ("Aurélien", "Giraud", "aurelien.giraud@gmail.com"),
    "operator": ("Opérateur", "HdF", "operateur@hautsdefrance-mobilites.fr"),
}

# community key -> (name, validation, domain, creator)
COMMUNITIES = {
    "arc": ("Arc France", ValidationType.MANUAL, "arcfrance.fr", "jeanmarc"),
    "lenord": ("LeNord covoiture", ValidationType.AUTOMATIC, None, "eddy"),
    "gsk": ("GSK Saint Amand les Eaux", ValidationType.MANUAL, None, "cyrielle"),
}

# (community, person, status, days after T0)
MEMBERSHIPS = [
    ("arc", "jeanmarc", MembershipStatus.MODERATOR, 0),
    ("arc", "emilie", MembershipStatus.MODERATOR, 1),
    ("arc", "marion", MembershipStatus.MEMBER, 2),
    ("arc", "nathalie", MembershipStatus.REFUSED, 3),
    ("arc", "pierre", MembershipStatus.PENDING, 90),
    ("arc", "helene", MembershipStatus.PENDING, 91),
    ("arc", "francois", MembershipStatus.PENDING, 92),
    ("lenord", "eddy", MembershipStatus.MODERATOR, 0),
    ("lenord", "lila", MembershipStatus.MEMBER, 5),
    ("gsk", "cyrielle", MembershipStatus.MODERATOR, 0),
    ("gsk", "aurelien", MembershipStatus.PENDING, 60),
]


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)
    communities: dict[str, int] = field(default_factory=dict)
    memberships: dict[tuple[str, str], int] = field(default_factory=dict)

    def membership(self, community: str, person: str) -> int:
        return self.memberships[(community, person)]


def build_world(engine: Engine) -> World:
    world = World()
    with Session(engine) as session, session.begin():
        users = {}
        for key, (given, family, email) in PEOPLE.items():
            users[key] = User(
                given_name=given, family_name=family, email=email, gender=int(Gender.FEMALE),
                status=int(UserStatus.ACTIVE), created_date=T0 - dt.timedelta(days=400),
                phone_display=int(PhoneDisplay.RESTRICTED),
                last_activity_date=T0 + dt.timedelta(days=100),
            )  # fmt: skip
        session.add_all(users.values())
        session.flush()
        communities = {}
        for key, (name, validation, domain, creator) in COMMUNITIES.items():
            address = Address(street_address="51 Rue Gustave Delory", postal_code="59000",
                              address_locality="Lille")  # fmt: skip
            session.add(address)
            session.flush()
            communities[key] = Community(
                name=name, validation_type=int(validation), domain=domain,
                user_id=users[creator].id, description=f"Covoiturage {name}",
                full_description=f"La communauté {name}.", created_date=T0 - dt.timedelta(days=30),
                members_hidden=False, proposals_hidden=False, address_id=address.id,
            )  # fmt: skip
        session.add_all(communities.values())
        session.flush()
        memberships = {}
        for community, person, status, days in MEMBERSHIPS:
            created = T0 + dt.timedelta(days=days)
            decided = status != MembershipStatus.PENDING
            memberships[(community, person)] = CommunityUser(
                community_id=communities[community].id, user_id=users[person].id,
                status=int(status), created_date=created, updated_date=created if decided else None,
                accepted_date=created if status in (1, 2) else None,
                refused_date=created if status == MembershipStatus.REFUSED else None,
                admin_id=users[COMMUNITIES[community][3]].id if decided else None,
            )  # fmt: skip
        session.add_all(memberships.values())
        session.flush()
        # The roles as the platform's migrations insert them, and ROLE_COMMUNITY_MANAGER_PUBLIC
        # for each moderator, as CommunityUserSaveListener adds it (once per user, no territory).
        ensure_auth_items(session)
        moderators = [p for _, p, s, _ in MEMBERSHIPS if s == MembershipStatus.MODERATOR]
        for key in dict.fromkeys(moderators):
            session.add(UserAuthAssignment(
                user_id=users[key].id, auth_item_id=int(AuthItemId.COMMUNITY_MANAGER_PUBLIC),
            ))  # fmt: skip
        session.flush()
        world.users = {k: u.id for k, u in users.items()}
        world.communities = {k: c.id for k, c in communities.items()}
        world.memberships = {k: m.id for k, m in memberships.items()}
    return world


def add_platform_admin(
    session: Session, key: str, roles: tuple[tuple[int, int | None], ...]
) -> int:
    """A platform user holding `roles` ((auth item, territory or None)) in user_auth_assignment,
    as the platform's admin gives them, and no membership; returns their id."""
    from storage.models import UserAuthAssignment

    user = User(
        given_name="Agathe", family_name=key.title(), email=f"{key}@hautsdefrance.fr",
        gender=int(Gender.FEMALE), status=int(UserStatus.ACTIVE), created_date=T0,
        phone_display=int(PhoneDisplay.RESTRICTED),
    )  # fmt: skip
    session.add(user)
    session.flush()
    for item, territory in roles:
        session.add(UserAuthAssignment(user_id=user.id, auth_item_id=int(item),
                                       territory_id=territory))  # fmt: skip
    session.flush()
    return user.id
