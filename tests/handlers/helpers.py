"""Small helpers for the use-case tests: actors, and reading back what the database holds."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.context import Actor, Context
from handlers.identity import actor_for_user
from storage.bot_models import AuditEntry
from storage.models import Community, CommunityUser
from tests.support.world import World


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
