"""The `notified` rows the platform writes for each notification it sends.

When the platform's admin accepts (status 1) or refuses (status 3) a member, it dispatches an
event whose subscriber notifies the member (Community/Admin/Service/CommunityManager::
patchCommunityUser, Communication/EventSubscriber/CommunitySubscriber), and
Communication/Service/NotificationManager::notifies writes one `notified` row per notification
sent (createNotified). The bot sends those e-mails itself, so it writes the same rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.codes import Medium as MediumId
from storage.codes import MembershipStatus, NotifiedStatus
from storage.models import Action, Medium, Notification, Notified, UserNotification

#: The action the platform notifies for a member's new status (Community/Event/*Event::NAME);
#: none for a moderator, whose status the platform's admin sets without an event.
ACTIONS = {
    MembershipStatus.MEMBER: "community_membership_accepted",
    MembershipStatus.REFUSED: "community_membership_refused",
}


def email_notifications(session: Session, action: str, user_id: int) -> list[int]:
    """The e-mail notifications the platform would send `user_id` for `action`: the user's own
    active ones for it if there are any (UserNotificationRepository::findActiveByAction), else
    the active defaults users cannot edit (NotificationRepository::findActiveByAction)."""
    own = list(
        session.execute(
            select(Notification.id, Notification.medium_id)
            .join(UserNotification, UserNotification.notification_id == Notification.id)
            .join(Action, Action.id == Notification.action_id)
            .where(
                Action.name == action,
                Notification.active.is_(True),
                UserNotification.active.is_(True),
                UserNotification.user_id == user_id,
            )
            .order_by(Notification.id)
        )
    )
    if not own:
        own = list(
            session.execute(
                select(Notification.id, Notification.medium_id)
                .join(Action, Action.id == Notification.action_id)
                .where(
                    Action.name == action,
                    Notification.active.is_(True),
                    Notification.user_editable.is_(False),
                )
                .order_by(Notification.id)
            )
        )
    return sorted({id_ for id_, medium in own if medium == MediumId.EMAIL})


def record_email_sent(
    session: Session, status: int, user_id: int, community_id: int, when: dt.datetime
) -> int:
    """Write the `notified` rows of the e-mail telling a member of their new `status`, as
    NotificationManager::createNotified does (status sent, sent_date now, the community);
    returns how many. None when the platform sends no e-mail for that status, or when its
    database lacks the notification (then the platform itself would send nothing either)."""
    action = ACTIONS.get(MembershipStatus(status)) if status in ACTIONS else None
    if action is None:
        return 0
    ids = email_notifications(session, action, user_id)
    for notification_id in ids:
        session.add(
            Notified(
                notification_id=notification_id,
                user_id=user_id,
                status=int(NotifiedStatus.SENT),
                sent_date=when,
                created_date=when,
                community_id=community_id,
            )
        )
    return len(ids)


#: The rows of the platform's migrations these notifications need (api/src/Migrations:
#: Version20190708104300 for the medium, Version20210707103446 for the actions and their
#: e-mail notifications), for the platform tables the bot creates itself (SQLite, PostgreSQL).
SEED = (
    (Medium, {"id": int(MediumId.EMAIL), "name": "Email"}),
    (Action, {"id": 101, "name": "community_membership_accepted", "position": 0}),
    (Action, {"id": 103, "name": "community_membership_refused", "position": 0}),
    (Notification, {"id": 130, "action_id": 101, "medium_id": int(MediumId.EMAIL), "active": True,
                    "user_editable": False, "position": 0}),
    (Notification, {"id": 132, "action_id": 103, "medium_id": int(MediumId.EMAIL), "active": True,
                    "user_editable": False, "position": 0}),
)  # fmt: skip


def seed(session: Session) -> None:
    """Insert the SEED rows that are missing."""
    for model, values in SEED:
        if session.get(model, values["id"]) is None:
            session.add(model(**values))
            session.flush()
