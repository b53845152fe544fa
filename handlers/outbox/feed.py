"""What the operators' chats receive, and the daily reminders.

The referent guide asks referents to tell the platform of every change to their community;
the bot does it for them: each settings change (validation type, domains, visibility,
identifier file) and each change of name, description or deletion becomes a notification that
the notifier delivers to the operators' chats or channels ([notifications] operators_chats).
Requests left pending for days are summarised once a day to their deciders, and to the
operators after longer.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.core.audit import AuditAction, AuditEvent
from handlers.core.context import Context
from handlers.core.i18n import datetime, number, t
from handlers.core.present import validation_key
from handlers.core.reply import Reply
from handlers.core.uow import transaction
from handlers.outbox.watch_state import ensure_state, lock_state, set_state
from storage.bot_models import ChatIdentity, Delivery, Notification, Preference
from storage.clock import now
from storage.codes import MembershipStatus
from storage.models import Community, CommunityUser
from storage.roles import territory_admins

#: Notifications delivered to the operators' chats.
FEED_KINDS = (
    "community_change",
    "community_deleted",
    "unreachable",
    "reminder_operators",
    "link_attack",
)
#: Audit actions that change a community's settings, hence go to the change feed.
SETTINGS_ACTIONS = (
    AuditAction.VALIDATION,
    AuditAction.MEMBERS_HIDDEN,
    AuditAction.PROPOSALS_HIDDEN,
    AuditAction.IDENTIFIERS,
)
REMINDERS_STATE = "reminders_last_day"


def record_settings_change(session: Session, event: AuditEvent) -> None:
    """Queue a settings change for the operators, in the transaction that made it (an audit
    listener, registered at start-up)."""
    community_id = event.community_id
    if event.action not in SETTINGS_ACTIONS or community_id is None:
        return
    community = session.get(Community, community_id)
    when = now()
    session.add(
        Notification(
            kind="community_change",
            # Each change is its own row (id(after) could repeat within a second: a collision).
            dedup_key=f"{community_id}:{uuid.uuid4().hex}",
            community_id=community_id,
            payload=json.dumps(
                {
                    "community_id": community_id,
                    "community": community.name if community else "",
                    "field": event.action.value,
                    "before": event.before,
                    "after": event.after,
                    "by_user_id": event.actor.user_id,
                    "by": event.actor.name,
                    "front": event.actor.front,
                    "at": when.isoformat(),
                },
                default=str,
                ensure_ascii=False,
            ),
            created_at=when,
        )
    )


def record_link_attack(
    session: Session, when: dt.datetime, minutes: int, failures: int, identities: int
) -> bool:
    """Queue the operators' alert that wrong link codes reached the overall limit: one per
    window of `minutes` (the key is the window's number), in the failure's transaction."""
    window = int(when.replace(tzinfo=dt.UTC).timestamp() // (minutes * 60))
    payload = {
        "failures": failures,
        "identities": identities,
        "minutes": minutes,
        "at": when.isoformat(),
    }
    return _unique(session, "link_attack", f"window:{window}", payload) is not None


def operator_chats(ctx: Context) -> list[tuple[str, str, str]]:
    """(platform, team id, chat id) of each operators' chat, from the configuration."""
    return list(ctx.settings.operator_chats)


def scan_feed(ctx: Context) -> int:
    """Give every undelivered feed notification a delivery per operators' chat."""
    chats = operator_chats(ctx)
    dispatched = 0
    with transaction(ctx, write=True) as session:
        query = select(Notification).where(
            Notification.kind.in_(FEED_KINDS), Notification.resolved_at.is_(None)
        )
        if session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        when = now()
        for notification in session.scalars(query.order_by(Notification.id)).all():
            for platform, team_id, chat_id in chats:
                session.add(Delivery.pending(notification.id, platform, team_id, chat_id, when))
            notification.resolved_at = when
            notification.outcome = json.dumps({"operators_chats": len(chats)})
            dispatched += 1
    return dispatched


#: The day whose reminders this process knows are done, per database (engine). The notifier
#: asks every round (~2 s): once the database said today's are done (by this replica or
#: another), asking again until tomorrow would cost two transactions for nothing.
_reminders_done: WeakKeyDictionary[Engine, dt.date] = WeakKeyDictionary()


def forget_reminders_done() -> None:
    """Forget what the process knows of today's reminders (tests that empty the database)."""
    _reminders_done.clear()


def scan_reminders(ctx: Context, deciders_after_days: int, operators_after_days: int) -> int:
    """Once a day: each decider with requests pending for more than `deciders_after_days`
    gets a summary in their chats; past `operators_after_days` the operators get one too.

    The database decides (REMINDERS_STATE, locked): the first call of the day reads it; once
    today's reminders are done, later calls that day touch no database at all."""
    today = now().date()
    engine = ctx.sessions.kw.get("bind")
    if not isinstance(engine, Engine):  # no single database to remember it for: ask each time
        return _send_reminders(ctx, today, deciders_after_days, operators_after_days)
    if _reminders_done.get(engine) == today:
        return 0
    created = _send_reminders(ctx, today, deciders_after_days, operators_after_days)
    _reminders_done[engine] = today  # committed, by this call or an earlier one
    return created


def _send_reminders(
    ctx: Context, today: dt.date, deciders_after_days: int, operators_after_days: int
) -> int:
    created = 0
    ensure_state(ctx, REMINDERS_STATE)
    with transaction(ctx, write=True) as session:
        state = lock_state(session, REMINDERS_STATE)  # one replica does today's reminders
        if state.value == today.isoformat():
            return 0
        old = _old_pending(session, now() - dt.timedelta(days=deciders_after_days))
        by_decider: dict[int, dict[str, int]] = defaultdict(dict)
        for community, count in old:
            for user_id in _deciders(session, community):
                by_decider[user_id][community.name] = count
        muted = set(
            session.scalars(select(Preference.user_id).where(Preference.push_enabled.is_(False)))
        )
        for user_id, communities in sorted(by_decider.items()):
            identities = list(
                session.scalars(
                    select(ChatIdentity).where(
                        ChatIdentity.user_id == user_id, ChatIdentity.active.is_(True)
                    )
                )
            )
            if user_id in muted or not identities:
                continue
            notification = _unique(
                session,
                "reminder",
                f"{today.isoformat()}:{user_id}",
                {"communities": communities, "days": deciders_after_days},
            )
            if notification is None:
                continue
            for identity in identities:
                session.add(
                    Delivery.pending(
                        notification.id,
                        identity.platform,
                        identity.team_id,
                        identity.external_id,
                        now(),
                        identity_id=identity.id,
                    )
                )
            notification.resolved_at = now()
            created += 1
        very_old = _old_pending(session, now() - dt.timedelta(days=operators_after_days))
        if very_old:
            summary = {community.name: count for community, count in very_old}
            if _unique(
                session,
                "reminder_operators",
                today.isoformat(),
                {"communities": summary, "days": operators_after_days},
            ):
                created += 1
        set_state(state, today.isoformat())
    return created


def _old_pending(session: Session, before: dt.datetime) -> list[tuple[Community, int]]:
    rows = session.execute(
        select(Community, func.count(CommunityUser.id))
        .join(CommunityUser, CommunityUser.community_id == Community.id)
        .where(
            CommunityUser.status == MembershipStatus.PENDING,
            CommunityUser.created_date < before,
        )
        .group_by(Community.id)
        .order_by(Community.name)
    ).all()
    return [(community, int(count)) for community, count in rows]


def _deciders(session: Session, community: Community) -> set[int]:
    users = set(
        session.scalars(
            select(CommunityUser.user_id).where(
                CommunityUser.community_id == community.id,
                CommunityUser.status == MembershipStatus.MODERATOR,
            )
        )
    )
    if community.user_id:
        users.add(community.user_id)
    return users | territory_admins(session, community.id)


def _unique(session: Session, kind: str, key: str, payload: dict) -> Notification | None:
    try:
        with session.begin_nested():
            notification = Notification(
                kind=kind,
                dedup_key=key,
                payload=json.dumps(payload, ensure_ascii=False),
                created_at=now(),
            )
            session.add(notification)
            session.flush()
            return notification
    except IntegrityError:
        return None  # already done today (another replica)


# --- Rendering -------------------------------------------------------------------------------


def render(language: str, notification: Notification) -> Reply:
    payload = json.loads(notification.payload or "{}")
    kind = notification.kind
    if kind in ("reminder", "reminder_operators"):
        lines = [t(language, f"feed.{kind}", count=int(payload.get("days", 0)))]
        for name, count in payload.get("communities", {}).items():
            lines.append(t(language, "feed.reminder_line", community=name, count=count))
        return Reply("\n".join(lines))
    if kind == "link_attack":
        attacked = dt.datetime.fromisoformat(payload["at"])
        return Reply(
            t(
                language,
                "feed.link_attack",
                failures=number(language, payload.get("failures", 0)),
                identities=number(language, payload.get("identities", 0)),
                minutes=payload.get("minutes", 15),
                when=datetime(attacked, language),
            )
        )
    if kind == "unreachable":
        return Reply(t(language, "feed.unreachable", notification=payload.get("notification_id")))
    when = dt.datetime.fromisoformat(payload["at"]) if payload.get("at") else None
    common = {
        "community": payload.get("community", ""),
        "by": payload.get("by", "?"),
        "front": t(language, f"front.{payload.get('front', 'console')}"),
        "when": datetime(when, language),
    }
    if kind == "community_deleted":
        return Reply(t(language, "feed.deleted", **common))
    field = payload.get("field", "")
    return Reply(
        t(
            language,
            "feed.changed",
            field=t(language, f"feed.field.{field}") if field in FIELDS else field,
            before=_value(language, payload.get("before")),
            after=_value(language, payload.get("after")),
            **common,
        )
    )


FIELDS = ("name", "description", "full_description") + SETTINGS_ACTIONS


def _value(language: str, value: object) -> str:
    if isinstance(value, dict):
        parts = []
        if "validation_type" in value:
            parts.append(t(language, validation_key(int(value["validation_type"]))))
        if value.get("domain"):
            parts.append(str(value["domain"]).replace(";", ", "))
        for key in ("members_hidden", "proposals_hidden"):
            if key in value:
                parts.append(t(language, "common.yes" if value[key] else "common.no"))
        if value.get("file"):
            parts.append(str(value["file"]))
        return " · ".join(parts) or "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t(language, "common.yes" if value else "common.no")
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"
