"""Who may act on a community. Checked on every call, every button press included."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers.core.context import Actor
from handlers.core.errors import Refusal
from storage import queries
from storage.models import Community


def administered_community(session: Session, actor: Actor, community_id: int) -> Community:
    """The community, if the actor administers it now (creator, moderator, operator or platform
    admin, or admin of a territory that holds it)."""
    community, administers = queries.community_and_right(
        session, community_id, actor.user_id, actor.territories
    )
    if community is None or not (actor.is_operator or administers):
        # One answer for both: naming the community, or saying it does not exist, would let
        # anyone linked learn every community's name (secured ones included) from its id.
        raise Refusal("error.unknown_community", id=community_id)
    return community


def administered(session: Session, actor: Actor) -> list[queries.CommunityCounts]:
    """The communities the actor administers, with their counts."""
    return queries.administered_communities(
        session, actor.user_id, everything=actor.is_operator, territories=actor.territories
    )


def administered_names(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the communities the actor administers, by name."""
    return queries.administered_names(
        session, actor.user_id, everything=actor.is_operator, territories=actor.territories
    )


def operates(session: Session, actor: Actor, community: Community) -> bool:
    """An operator or platform admin of this community (not through a membership): what the
    platform's admins may do beyond a referent, such as deleting it."""
    return actor.is_operator or queries.in_any_territory(session, community.id, actor.territories)
