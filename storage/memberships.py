"""Writing memberships and communities exactly as the platform does.

The platform keeps a membership's dates in its entity's lifecycle callbacks
(Community/Entity/CommunityUser.php :: setAutoAcceptedOrRefusedDate, on PrePersist and
PreUpdate): status 1 or 2 with no accepted_date sets it and clears refused_date; 3 with no
refused_date sets it and clears accepted_date; 0 clears both; any other case leaves them.
updated_date is set on every update (setAutoUpdatedDate), created_date on insert. A community's
updated_date is set on every update too (Community.php :: setAutoUpdatedDate). admin_id is
the bot's own addition (docs/platform.md): who decided.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.codes import ACCEPTED_STATUSES, MembershipStatus, ValidationType
from storage.engine import rowcount
from storage.models import Community, CommunityUser


def status_values(
    current: CommunityUser, new_status: MembershipStatus, admin_id: int | None, when: dt.datetime
) -> dict[str, object]:
    """The column values the platform would write to move `current` to `new_status`."""
    values: dict[str, object] = {"status": int(new_status), "updated_date": when}
    values.update(decision_dates(new_status, current.accepted_date, current.refused_date, when))
    values["admin_id"] = None if new_status == MembershipStatus.PENDING else admin_id
    return values


def decision_dates(
    status: int,
    accepted: dt.datetime | None,
    refused: dt.datetime | None,
    when: dt.datetime,
) -> dict[str, dt.datetime | None]:
    """accepted_date and refused_date after CommunityUser::setAutoAcceptedOrRefusedDate."""
    if status in ACCEPTED_STATUSES and accepted is None:
        return {"accepted_date": when, "refused_date": None}
    if status == MembershipStatus.REFUSED and refused is None:
        return {"refused_date": when, "accepted_date": None}
    if status == MembershipStatus.PENDING:
        return {"accepted_date": None, "refused_date": None}
    return {"accepted_date": accepted, "refused_date": refused}


def added_values(
    community: Community, user_id: int, status: MembershipStatus, when: dt.datetime
) -> dict[str, object]:
    """The row the platform's admin writes when it adds a member with `status`.

    Community/Admin/Service/CommunityManager.php :: addCommunityUser persists the row, whose
    PrePersist (CommunityUser::setAutoStatus) may replace the status chosen (the creator
    becomes a moderator; a member of a community validated by a moderator becomes pending),
    then sets the chosen status again and flushes: an UPDATE (and so an updated_date) only
    when the status had been replaced.
    """
    if user_id == community.user_id or status == MembershipStatus.MODERATOR:
        automatic = MembershipStatus.MODERATOR
    elif community.validation_type != ValidationType.MANUAL:
        automatic = MembershipStatus.MEMBER
    else:
        automatic = MembershipStatus.PENDING
    dates = decision_dates(automatic, None, None, when)
    updated = None
    if automatic != status:
        dates = decision_dates(status, dates["accepted_date"], dates["refused_date"], when)
        updated = when
    return {"status": int(status), "created_date": when, "updated_date": updated, **dates}


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
    if rowcount(result) != 1:
        return False
    _reflect(membership, values)
    return True


def touch_community(
    session: Session, community: Community, when: dt.datetime, **values: Any
) -> None:
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
