"""The audit log: the actions it records, the row each change writes, and its listeners.

A feature that reacts to audited changes (the operators' change feed, the metrics) registers a
listener with `on_audit` at start-up, instead of the audit knowing each of them: listeners run
right where the row is written, in the use case's transaction, so that what they write is
committed or rolled back with the change itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from handlers.core.context import Actor
from storage.bot_models import AuditEntry
from storage.clock import now


class AuditAction(StrEnum):
    """What an audit row says was done; the values are the ones stored in bot_audit.action."""

    APPROVE = "approve"
    REFUSE = "refuse"
    SET_STATUS = "set_status"
    REMOVE = "remove"
    ADD_MEMBER = "add_member"
    MEMBERS_HIDDEN = "members_hidden"
    PROPOSALS_HIDDEN = "proposals_hidden"
    VALIDATION = "validation"
    IDENTIFIERS = "identifiers"
    EDIT_NAME = "edit_name"
    EDIT_DESCRIPTION = "edit_description"
    EDIT_FULL_DESCRIPTION = "edit_full_description"
    DELETE_COMMUNITY = "delete_community"
    BIND = "bind"
    UNBIND = "unbind"


@dataclass(frozen=True)
class AuditEvent:
    """One audited change as its listeners see it: the row's facts with the actor itself and
    the `before`/`after` values as given (the row holds them as JSON)."""

    actor: Actor
    action: AuditAction
    community_id: int | None
    target_user_id: int | None
    membership_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


AuditListener = Callable[[Session, AuditEvent], None]
#: Run, in registration order, by every `audit()` after its row is added.
LISTENERS: list[AuditListener] = []


def on_audit(listener: AuditListener) -> None:
    """Register a listener of every audited change; registering it again changes nothing."""
    if listener not in LISTENERS:
        LISTENERS.append(listener)


def audit(
    session: Session,
    actor: Actor,
    action: AuditAction,
    *,
    community_id: int | None = None,
    target_user_id: int | None = None,
    membership_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Write the audit row of a change in its transaction, then run the listeners there."""
    session.add(
        AuditEntry(
            created_at=now(),
            actor_user_id=actor.user_id,
            front=actor.front,
            community_id=community_id,
            target_user_id=target_user_id,
            membership_id=membership_id,
            action=action.value,
            before=json.dumps(before, default=str, ensure_ascii=False) if before else None,
            after=json.dumps(after, default=str, ensure_ascii=False) if after else None,
            reason=reason,
        )
    )
    event = AuditEvent(
        actor, action, community_id, target_user_id, membership_id, before, after, reason
    )
    for listener in LISTENERS:
        listener(session, event)
