"""Audit listeners: they run in the use case's transaction, registered once at start-up."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.wiring import register_audit_listeners
from handlers.community import pending, settings
from handlers.core import audit
from handlers.core.audit import AuditAction, AuditEvent
from storage.bot_models import AuditEntry, Notification
from storage.codes import MembershipStatus
from storage.models import CommunityUser
from tests.handlers.helpers import actor, audit_entries, membership, snapshot


def feed_notifications(ctx) -> list[dict]:
    with ctx.sessions() as session:
        rows = session.scalars(
            select(Notification).where(Notification.kind == "community_change")
        ).all()
        return [json.loads(row.payload) for row in rows]


def test_a_listener_sees_the_change_in_its_transaction(ctx, world, monkeypatch):
    seen = []

    def listener(session, event: AuditEvent) -> None:
        row = session.get(CommunityUser, event.membership_id)
        entries = [o for o in session.new if isinstance(o, AuditEntry)]
        seen.append((event.action, event.actor.name, row.status, [e.action for e in entries]))

    monkeypatch.setattr(audit, "LISTENERS", [*audit.LISTENERS, listener])
    pierre = world.membership("arc", "pierre")
    assert pending.approve(ctx, actor(ctx, world, "emilie"), pierre).ok

    assert seen == [(AuditAction.APPROVE, "Emilie F.", MembershipStatus.MEMBER, ["approve"])]
    assert [e.action for e in audit_entries(ctx)] == ["approve"]


def test_a_listener_that_fails_rolls_the_use_case_back(ctx, world, monkeypatch):
    """The change, its audit row and what the other listeners wrote (the feed) go together."""
    before = snapshot(ctx)

    def failing(session, event: AuditEvent) -> None:
        raise RuntimeError("listener failed")

    monkeypatch.setattr(audit, "LISTENERS", [*audit.LISTENERS, failing])
    arc = world.communities["arc"]
    with pytest.raises(RuntimeError, match="listener failed"):
        settings.set_members_hidden(ctx, actor(ctx, world, "emilie"), arc, True)
    with pytest.raises(RuntimeError, match="listener failed"):
        pending.approve(ctx, actor(ctx, world, "emilie"), world.membership("arc", "pierre"))

    assert snapshot(ctx) == before
    assert feed_notifications(ctx) == []
    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.PENDING


def test_the_feed_is_a_listener_registered_once(ctx, world):
    register_audit_listeners()  # a second start in the same process
    register_audit_listeners()
    arc = world.communities["arc"]

    assert settings.set_members_hidden(ctx, actor(ctx, world, "emilie"), arc, True).ok

    [change] = feed_notifications(ctx)
    assert (change["field"], change["before"], change["after"], change["by"]) == (
        "members_hidden", {"members_hidden": False}, {"members_hidden": True}, "Emilie F.",
    )  # fmt: skip
    assert [e.action for e in audit_entries(ctx)] == ["members_hidden"]


def test_the_actions_are_the_strings_stored_in_the_audit_log():
    assert {a.value for a in AuditAction} == {
        "approve", "refuse", "set_status", "remove", "add_member", "members_hidden",
        "proposals_hidden", "validation", "identifiers", "edit_name", "edit_description",
        "edit_full_description", "delete_community", "bind", "unbind",
    }  # fmt: skip


def test_every_audit_action_reads_in_the_history_in_both_languages():
    """A new AuditAction needs its line in handlers/locales/<language>/*.toml (`history.<action>`,
    or `.on`/`.off` for a switch): otherwise the history would show the bare word."""
    from handlers.core.i18n import LANGUAGES, catalog

    missing = [
        f"{language}: history.{action}"
        for language in LANGUAGES
        for action in AuditAction
        if f"history.{action}" not in catalog(language)
        and f"history.{action}.on" not in catalog(language)
    ]
    assert missing == []
