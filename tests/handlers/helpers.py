"""Small helpers for the use-case tests: actors, and reading back what the database holds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from handlers.chat.identity import actor_for_user
from handlers.core.context import Actor, Context
from handlers.core.reply import Button, Reply
from storage.bot_models import AuditEntry
from storage.codes import ACCEPTED_STATUSES, Gender, MembershipStatus, PhoneDisplay, UserStatus
from storage.models import Community, CommunityUser, User
from tests.support.world import T0, World


def actor(ctx: Context, world: World, person: str, front: str = "console") -> Actor:
    found = actor_for_user(ctx, world.users[person], front)
    assert found is not None
    return found


def membership(ctx: Context, membership_id: int) -> CommunityUser | None:
    with ctx.sessions() as session:
        return session.get(CommunityUser, membership_id)


def community(ctx: Context, community_id: int) -> Community:
    with ctx.sessions() as session:
        return session.get(Community, community_id)


def audit_entries(ctx: Context) -> list[AuditEntry]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def snapshot(ctx: Context) -> tuple:
    """Everything a use case could change, to assert that a refused one changed nothing."""
    with ctx.sessions() as session:
        memberships = session.execute(
            select(
                CommunityUser.id, CommunityUser.status, CommunityUser.admin_id,
                CommunityUser.accepted_date, CommunityUser.refused_date,
                CommunityUser.updated_date,
            ).order_by(CommunityUser.id)
        ).all()  # fmt: skip
        communities = session.execute(
            select(
                Community.id, Community.validation_type, Community.domain,
                Community.members_hidden, Community.proposals_hidden, Community.updated_date,
            ).order_by(Community.id)
        ).all()  # fmt: skip
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
    return memberships, communities, audits


# --- Shared by the use-case test modules ------------------------------------------------------

NOTHING_CHANGED = "Rien n'a été modifié"
NOW_FR = "17/01/2024 à 10:02"


def assert_refused(ctx: Context, reply: Reply, before: tuple, *fragments: str) -> None:
    """A refused request: ok is False, the message says why, and the database is unchanged."""
    assert reply.ok is False, reply.text
    for fragment in fragments:
        assert fragment in reply.text, (fragment, reply.text)
    assert snapshot(ctx) == before


def buttons(reply: Reply) -> list[tuple[str, str, str]]:
    """(label, action, ref) of every button, in order."""
    return [(b.label, b.action, b.ref) for b in reply.all_buttons]


def button(reply: Reply, action: str, label_part: str = "") -> Button:
    """The one button of `action` whose label contains `label_part`."""
    found = [b for b in reply.all_buttons if b.action == action and label_part in b.label]
    assert len(found) == 1, (action, label_part, buttons(reply))
    return found[0]


def add_members(
    ctx: Context,
    world: World,
    community: str,
    count: int,
    status: int = MembershipStatus.MEMBER,
    given: str = "Membre",
    family: str = "Extra",
) -> list[int]:
    """`count` more people in `community` (status `status`), joined after everyone else.

    Returns their membership ids; their users are `extra<n>` in `world.users`.
    """
    first = len(world.users)
    keys = [f"extra{first + n}" for n in range(count)]
    with ctx.sessions() as session, session.begin():
        users = [
            User(
                given_name=f"{given}{n:02d}", family_name=family, email=f"{key}@exemple.fr",
                gender=int(Gender.MALE), status=int(UserStatus.ACTIVE), created_date=T0,
                phone_display=int(PhoneDisplay.RESTRICTED),
            )
            for n, key in enumerate(keys)
        ]  # fmt: skip
        session.add_all(users)
        session.flush()
        decided = status != MembershipStatus.PENDING
        memberships = []
        for n, user in enumerate(users):
            joined = T0 + dt.timedelta(days=200, minutes=n)
            memberships.append(
                CommunityUser(
                    community_id=world.communities[community], user_id=user.id, status=status,
                    created_date=joined, updated_date=joined if decided else None,
                    accepted_date=joined if status in ACCEPTED_STATUSES else None,
                    refused_date=joined if status == MembershipStatus.REFUSED else None,
                    admin_id=world.users["jeanmarc"] if decided else None,
                )
            )  # fmt: skip
        session.add_all(memberships)
        session.flush()
        for key, user, member in zip(keys, users, memberships, strict=True):
            world.users[key] = user.id
            world.memberships[(community, key)] = member.id
    return [m.id for m in memberships]


def set_status_directly(ctx: Context, membership_id: int, status: int) -> None:
    """Change a membership as the web admin would, behind the bot's back."""
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(CommunityUser).where(CommunityUser.id == membership_id).values(status=status)
        )
