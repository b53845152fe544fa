"""Deciding every pending request of a community at once: the kinds and their targets.
Shared by the pending list (approve all / refuse all) and the validation settings (accept
those the new rule would have accepted), whose use cases and buttons are in
handlers.community.pending."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers.community.validation_input import domain_accepts
from storage import queries
from storage.codes import MembershipStatus
from storage.models import Community

BULK = {
    # kind: (decision, only pending members whose e-mail domain matches the community's)
    "approve_all": (MembershipStatus.MEMBER, False),
    "refuse_all": (MembershipStatus.REFUSED, False),
    "approve_matching": (MembershipStatus.MEMBER, True),
}


def targets(session: Session, community: Community, matching_only: bool):
    rows = queries.pending_with_users(session, community.id)
    if not matching_only:
        return rows
    return [(m, u) for m, u in rows if domain_accepts(community.domain, u.email)]


def bulk_count(session: Session, community: Community, kind: str) -> int:
    return len(targets(session, community, BULK[kind][1]))
