"""The last actions on a community, read from the audit log."""

from __future__ import annotations

import json

from sqlalchemy import select

from handlers.core.actions import Action, Command, Ids
from handlers.core.audit import AuditAction
from handlers.core.context import Actor, Context
from handlers.core.i18n import datetime, t
from handlers.core.present import short_name, status_key, validation_key
from handlers.core.reply import Reply
from handlers.core.rights import administered_community
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.bot_models import AuditEntry

#: Not a paged list (no buttons, one message): the last 15 actions, as since the first version
#: (tests/handlers/chat/test_history_language.py), rather than handlers.core.paging.PAGE_SIZE.
LIMIT = 15


@use_case
def history(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.community_id == community.id)
                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                .limit(LIMIT)
            )
        )
        people = queries.users_by_ids(
            session, [e.actor_user_id for e in entries] + [e.target_user_id for e in entries]
        )
    if not entries:
        return Reply(t(lang, "history.none", community=community.name))
    lines = [t(lang, "history.title", community=community.name)]
    for entry in entries:
        actor_user = people.get(entry.actor_user_id) if entry.actor_user_id is not None else None
        lines.append(
            t(
                lang,
                "history.line",
                when=datetime(entry.created_at, lang),
                who=short_name(actor_user),
                what=describe(lang, entry, people),
                front=t(lang, f"front.{entry.front}"),
            )
        )
    return Reply("\n".join(lines))


def describe(lang: str, entry: AuditEntry, people) -> str:
    after = json.loads(entry.after) if entry.after else {}
    before = json.loads(entry.before) if entry.before else {}
    target = short_name(people.get(entry.target_user_id)) if entry.target_user_id else ""
    action = entry.action
    if action in (AuditAction.APPROVE, AuditAction.REFUSE, AuditAction.REMOVE):
        text = t(lang, f"history.{action}", name=target)
    elif action == AuditAction.SET_STATUS:
        text = t(lang, "history.set_status", name=target,
                 status=t(lang, status_key(after.get("status", 0))))  # fmt: skip
    elif action in (AuditAction.MEMBERS_HIDDEN, AuditAction.PROPOSALS_HIDDEN):
        state = "on" if after.get(action) else "off"
        text = t(lang, f"history.{action}.{state}")
    elif action == AuditAction.VALIDATION:
        text = t(lang, "history.validation",
                 validation=t(lang, validation_key(after.get("validation_type", 0))))  # fmt: skip
        if after.get("domain") and after.get("domain") != before.get("domain"):
            text += " (" + str(after["domain"]).replace(";", ", ") + ")"
        if after.get("identifier_files_deleted"):
            text += t(lang, "history.identifiers_deleted",
                      count=int(after["identifier_files_deleted"]))  # fmt: skip
    elif action == AuditAction.IDENTIFIERS:
        text = t(lang, "history.identifiers", name=after.get("file", ""))
    else:  # actions of other features describe themselves in their locale files
        key = f"history.{action}"
        text = t(lang, key, name=target, before_name=before.get("name", ""),
                 after_name=after.get("name", ""))  # fmt: skip
        if text == key:
            text = action
    if entry.reason:
        text += " — " + t(lang, "history.reason", reason=entry.reason)
    return text


HISTORY = Action("history", Ids(1), history)
ACTIONS = (HISTORY,)
COMMAND = Command(
    "historique",
    "history",
    lambda ctx, actor, cid, args: history(ctx, actor, cid),
    pick=HISTORY,
)
