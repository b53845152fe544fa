"""Deciding every pending request of a community at once: the kinds, their targets and the
confirm button. Shared by the pending list (approve all / refuse all) and the validation
settings (accept those the new rule would have accepted), whose use cases are in
handlers.community.pending."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers.community.validation_input import domain_accepts
from handlers.core.i18n import number, t
from handlers.core.reply import Button
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


def confirm_button(lang: str, kind: str, community_id: int, count: int) -> Button:
    """Carries the count shown, which the decision checks is still the count of targets."""
    return Button(
        t(lang, f"bulk.{kind}.confirm", count=number(count)),
        kind + "_ok",
        f"{community_id}:{count}",
        "danger" if kind == "refuse_all" else "primary",
    )
