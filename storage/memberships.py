"""Writing memberships and communities exactly as the platform does.

The platform keeps a membership's dates consistent on every write (reference README):
status 1 or 2 sets accepted_date (if empty) and clears refused_date; 3 sets refused_date and
clears accepted_date; 0 clears both. admin_id is who accepted or refused; updated_date is set
on every update. A community's updated_date is set on every update too.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.codes import ACCEPTED_STATUSES, MembershipStatus
from storage.models import Community, CommunityUser


def status_values(
    current: CommunityUser, new_status: MembershipStatus, admin_id: int | None, when: dt.datetime
) -> dict[str, object]:
    """The column values the platform would write to move `current` to `new_status`."""
    values: dict[str, object] = {"status": int(new_status), "updated_date": when}
    if new_status in ACCEPTED_STATUSES:
        values["accepted_date"] = current.accepted_date or when
        values["refused_date"] = None
        values["admin_id"] = admin_id
    elif new_status == MembershipStatus.REFUSED:
        values["refused_date"] = when
        values["accepted_date"] = None
        values["admin_id"] = admin_id
    else:
        values["accepted_date"] = None
        values["refused_date"] = None
        values["admin_id"] = None
    return values


def change_status(
    session: Session,
    membership: CommunityUser,
    new_status: MembershipStatus,
    admin_id: int | None,
    when: dt.datetime,
) -> bool:
    """Move a membership to `new_status` only if its status is still the one we read.

    The condition on the old status makes the write safe against a concurrent decision: the
    loser's UPDATE matches no row. Returns False when someone else changed it first.
    """
    values = status_values(membership, new_status, admin_id, when)
    result = session.execute(
        update(CommunityUser)
        .where(CommunityUser.id == membership.id, CommunityUser.status == membership.status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    _reflect(membership, values)
    return True


def touch_community(session: Session, community: Community, when: dt.datetime, **values) -> None:
    """Update a community's own columns with its updated_date, as the platform does."""
    values["updated_date"] = when
    session.execute(
        update(Community)
        .where(Community.id == community.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    _reflect(community, values)


def _reflect(obj: object, values: dict[str, object]) -> None:
    """Show the written values on the loaded object without making the ORM write them again."""
    for key, value in values.items():
        set_committed_value(obj, key, value)
