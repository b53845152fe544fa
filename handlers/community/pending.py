"""Pending members: list them, approve or refuse one, or all of them behind a confirmation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.community import bulk
from handlers.community.member_mail import Kind, queue_member_email, split_shared_reason
from handlers.community.validation_input import (
    domain_accepts,
    platform_domains,
    platform_email_domain,
)
from handlers.core import limits
from handlers.core.actions import CANCEL, Action, Command, Ids
from handlers.core.audit import AuditAction, audit
from handlers.core.context import Actor, Context
from handlers.core.i18n import date, datetime, number, t
from handlers.core.paging import PAGE_SIZE, page_buttons, page_count
from handlers.core.present import Named, email_domain, short_name
from handlers.core.reply import Button, InputRequest, Reply
from handlers.core.rights import administered_community
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.bot_models import AuditEntry
from storage.clock import now
from storage.codes import MembershipStatus
from storage.memberships import change_status
from storage.models import Community, CommunityUser, User

MAX_REASON = limits.REASON
#: Decisions taken by the same referent on a community within this time stay shown, as outcome
#: lines, on the list they decide from (re-rendered after each decision).
RECENT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class PendingRequest:
    """A pending membership as a decider sees it (also what a push notification shows)."""

    membership_id: int
    name: str
    domain: str
    requested: str
    domain_matches: bool | None  # None when the community has no domains


def describe(membership: CommunityUser, user: User, community: Community) -> PendingRequest:
    return _request(membership.id, membership.created_date, user, community)


def describe_pending(person: queries.PendingPerson, community: Community) -> PendingRequest:
    """A request as a listing reads it (queries.pending_page, queries.oldest_pending)."""
    return _request(person.membership_id, person.requested_at, person, community)


def _request(
    membership_id: int, requested_at: dt.datetime, person: Named, community: Community
) -> PendingRequest:
    domains = platform_domains(community.domain)
    domain = platform_email_domain(person.email)
    return PendingRequest(
        membership_id=membership_id,
        name=short_name(person),
        domain=domain if domain is not None else email_domain(person.email),
        requested=date(requested_at),
        domain_matches=domain_accepts(community.domain, person.email) if domains else None,
    )


@use_case
def list_pending(ctx: Context, actor: Actor, community_id: int, page: int = 0) -> Reply:
    return _pending_list(ctx, actor, community_id, page)


def _pending_list(
    ctx: Context,
    actor: Actor,
    community_id: int,
    page: int,
    *,
    decided: bool = False,
    notice: str | None = None,
    just: int | None = None,
) -> Reply:
    """One page of the pending requests, each with buttons deciding from this list.

    `decided`: the list re-rendered after a decision taken on it: its outcome, and the other
    decisions of this referent on this community in the last RECENT, follow the requests
    (`just`: the membership just decided, whose reason is shown). `notice`: what the press did
    not do (decided by someone else meanwhile...), shown first."""
    lang = actor.language
    page = max(page, 0)
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        people, total = queries.pending_page(session, community.id, page * PAGE_SIZE, PAGE_SIZE)
        if not people and total:  # past the last page (requests decided since): the last one
            page = page_count(total) - 1
            people, total = queries.pending_page(session, community.id, page * PAGE_SIZE, PAGE_SIZE)
        outcomes = _recent_outcomes(session, actor, community.id, just) if decided else []
    head = [notice] if notice else []
    if not total:
        return Reply(
            "\n".join([*head, t(lang, "pending.none", community=community.name), *outcomes])
        )
    pages = page_count(total)
    lines = [*head, t(lang, "pending.title", community=community.name, count=total)]
    buttons: list[tuple[Button, ...]] = []
    for person in people:
        request = _request(person.membership_id, person.requested_at, person, community)
        lines.append(pending_line(lang, request))
        buttons.append(decision_buttons(lang, request, listed=(community.id, page)))
    nav = page_buttons(lang, PENDING.name, page, pages, partial(PENDING.ref.build, community.id))
    if nav:
        lines.append(t(lang, "common.page", page=page + 1, pages=pages))
        buttons.append(nav)
    buttons.append(
        (
            ASK_BULK["approve_all"].button(
                t(lang, "pending.approve_all", count=total), community.id
            ),
            ASK_BULK["refuse_all"].button(t(lang, "pending.refuse_all", count=total), community.id),
        )
    )
    return Reply("\n".join([*lines, *outcomes]), tuple(buttons))


def _recent_outcomes(
    session: Session, actor: Actor, community_id: int, just: int | None
) -> list[str]:
    """The outcome lines of this referent's one-by-one decisions on this community in the last
    RECENT, oldest first, read from the audit log (bulk decisions have their own message)."""
    lang = actor.language
    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.actor_user_id == actor.user_id,
                AuditEntry.community_id == community_id,
                AuditEntry.action.in_((AuditAction.APPROVE.value, AuditAction.REFUSE.value)),
                AuditEntry.created_at >= now() - RECENT,
                AuditEntry.after.not_like('%"bulk"%'),
            )
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(PAGE_SIZE)
        )
    )
    people = queries.users_by_ids(session, [entry.target_user_id for entry in entries])
    lines: list[str] = []
    for index, entry in enumerate(reversed(entries)):
        key = (
            "pending.approved_line"
            if entry.action == AuditAction.APPROVE
            else "pending.refused_line"
        )
        line = t(
            lang,
            key,
            name=short_name(people.get(entry.target_user_id or 0)),
            by=actor.name,
            when=datetime(entry.created_at, lang),
        )
        last = index == len(entries) - 1
        if last and entry.reason and just is not None and entry.membership_id == just:
            line += "\n" + t(lang, "pending.reason", reason=entry.reason)
        lines.append(line)
    return lines


def pending_line(lang: str, request: PendingRequest) -> str:
    if request.domain_matches is None:
        match = ""
    else:
        match = t(lang, "pending.domain_ok" if request.domain_matches else "pending.domain_ko")
    return t(
        lang,
        "pending.line",
        name=request.name,
        domain=request.domain or "—",
        match=match,
        date=request.requested,
    )


def decision_buttons(
    lang: str, request: PendingRequest, listed: tuple[int, int] | None = None
) -> tuple[Button, ...]:
    """Approve and refuse. `listed` (community id, page): pressed on a list, which the outcome
    re-renders; else (a push) the outcome replaces the message."""
    approve, refuse = (APPROVE, REFUSE) if listed is None else (APPROVE_LISTED, REFUSE_LISTED)
    ref = (request.membership_id, *(listed or ()))
    return (
        approve.button(t(lang, "pending.approve", name=request.name), *ref, style="primary"),
        refuse.button(
            t(lang, "pending.refuse", name=request.name),
            *ref,
            style="danger",
            input=reason_request(lang),
        ),
    )


def reason_request(lang: str) -> InputRequest:
    """What the refuse button asks: an optional reason, shared with the member after `!`."""
    return InputRequest(
        t(lang, "pending.reason_prompt") + "\n" + t(lang, "email.share_hint"), optional=True
    )


@use_case(repeatable=True)  # guarded writes: a re-run after a lost COMMIT is the check
def approve(ctx: Context, actor: Actor, membership_id: int) -> Reply:
    return _decide(ctx, actor, membership_id, MembershipStatus.MEMBER, None)


@use_case(repeatable=True)  # guarded writes: a re-run after a lost COMMIT is the check
def refuse(ctx: Context, actor: Actor, membership_id: int, reason: str | None = None) -> Reply:
    reason, shared = split_shared_reason(reason)  # "! reason": shared with the member
    limits.check(reason, limits.REASON)
    return _decide(ctx, actor, membership_id, MembershipStatus.REFUSED, reason, shared)


@use_case(repeatable=True)  # guarded writes: a re-run after a lost COMMIT is the check
def approve_listed(
    ctx: Context, actor: Actor, membership_id: int, community_id: int, page: int
) -> Reply:
    """Approve from a list: the list stays, re-rendered (`community_id`: the list's, used only
    when the request is gone; `page`: the page shown)."""
    return _decide_listed(
        ctx, actor, membership_id, community_id, page, MembershipStatus.MEMBER, None
    )


@use_case(repeatable=True)  # guarded writes: a re-run after a lost COMMIT is the check
def refuse_listed(
    ctx: Context,
    actor: Actor,
    membership_id: int,
    community_id: int,
    page: int,
    reason: str | None = None,
) -> Reply:
    reason, shared = split_shared_reason(reason)  # "! reason": shared with the member
    limits.check(reason, limits.REASON)
    return _decide_listed(
        ctx, actor, membership_id, community_id, page, MembershipStatus.REFUSED, reason, shared
    )


def _decide_listed(
    ctx: Context,
    actor: Actor,
    membership_id: int,
    community_id: int,
    page: int,
    decision: MembershipStatus,
    reason: str | None,
    shared: bool = False,
) -> Reply:
    """The decision, then the list it was taken from, in place of that list: what is still
    pending on that page, and the outcome line(s). A press that changed nothing (decided by
    someone else meanwhile, gone) says so first; a refused right is refused as usual."""
    decided, where = _decision(ctx, actor, membership_id, decision, reason, shared)
    listed = _pending_list(
        ctx,
        actor,
        where if where is not None else community_id,
        page,
        decided=True,
        notice=None if decided.ok else decided.text,
        just=membership_id if decided.ok else None,
    )
    return replace(listed, ok=decided.ok, replaces_message=True)


def _decide(
    ctx: Context,
    actor: Actor,
    membership_id: int,
    decision: MembershipStatus,
    reason: str | None,
    shared: bool = False,
) -> Reply:
    return _decision(ctx, actor, membership_id, decision, reason, shared)[0]


def _decision(
    ctx: Context,
    actor: Actor,
    membership_id: int,
    decision: MembershipStatus,
    reason: str | None,
    shared: bool = False,
) -> tuple[Reply, int | None]:
    """Decide one request: the message about it (its outcome, or why nothing changed) and the
    community it belongs to (None: the request is gone)."""
    lang = actor.language
    when = now()
    with transaction(ctx, write=True) as session:
        membership = queries.lock_membership(session, membership_id)
        if membership is None:
            return Reply(t(lang, "pending.gone"), ok=False), None
        community = administered_community(session, actor, membership.community_id)
        user = session.get(User, membership.user_id)
        if membership.status != MembershipStatus.PENDING or not change_status(
            session, membership, decision, actor.user_id, when
        ):
            return stale_reply(session, lang, membership_id), community.id
        audit(
            session,
            actor,
            _audit_action(decision),
            community_id=community.id,
            target_user_id=membership.user_id,
            membership_id=membership.id,
            before={"status": int(MembershipStatus.PENDING)},
            after={"status": int(decision)} | ({"reason_shared": True} if shared else {}),
            reason=reason,
        )
        kind: Kind = "accepted" if decision == MembershipStatus.MEMBER else "refused"
        queue_member_email(ctx, session, membership, kind, reason if shared else None)
    key = "pending.approved" if decision == MembershipStatus.MEMBER else "pending.refused"
    text = t(
        lang,
        key,
        name=short_name(user),
        community=community.name,
        by=actor.name,
        when=datetime(when, lang),
    )
    if reason:
        text += "\n" + t(lang, "pending.reason", reason=reason)
    return Reply(text, replaces_message=True), community.id


def stale_reply(session: Session, lang: str, membership_id: int) -> Reply:
    """Someone decided first: say who, when and what; nothing was changed."""
    current = queries.lock_membership(session, membership_id)
    if current is None:
        return Reply(t(lang, "pending.gone"), ok=False, replaces_message=True)
    people = queries.users_by_ids(session, [current.user_id, current.admin_id])
    name = short_name(people.get(current.user_id))
    if current.status == MembershipStatus.PENDING:
        return Reply(t(lang, "pending.changed", name=name), ok=False)
    when = (
        current.refused_date
        if current.status == MembershipStatus.REFUSED
        else (current.accepted_date)
    )
    by = short_name(people[current.admin_id]) if current.admin_id in people else None
    key = "stale.refused" if current.status == MembershipStatus.REFUSED else "stale.accepted"
    text = t(
        lang,
        key if by else key + "_platform",
        name=name,
        by=by,
        when=datetime(when or current.updated_date, lang),
    )
    return Reply(text, ok=False, replaces_message=True)


def _audit_action(decision: MembershipStatus) -> AuditAction:
    """The audit action of a decision."""
    return AuditAction.APPROVE if decision == MembershipStatus.MEMBER else AuditAction.REFUSE


# --- Bulk decisions -------------------------------------------------------------------------


@use_case
def ask_bulk(ctx: Context, actor: Actor, kind: str, community_id: int) -> Reply:
    """The confirmation step: states the count, which the confirm button carries back."""
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        count = bulk.bulk_count(session, community, kind)
    return confirmation(lang, kind, community, count)


def confirmation(lang: str, kind: str, community: Community, count: int) -> Reply:
    if count == 0:
        return Reply(t(lang, "pending.none", community=community.name))
    return Reply(
        t(lang, f"bulk.{kind}.ask", count=count, community=community.name),
        (
            (
                bulk_confirm_button(lang, kind, community.id, count),
                CANCEL.button(t(lang, "common.cancel")),
            ),
        ),
    )


@use_case(repeatable=True)  # guarded writes: a re-run after a lost COMMIT is the check
def confirm_bulk(ctx: Context, actor: Actor, kind: str, community_id: int, expected: int) -> Reply:
    """Decide every target at once, in one transaction, if the count is still the one shown."""
    lang = actor.language
    decision, matching_only = bulk.BULK[kind]
    when = now()
    with transaction(ctx, write=True) as session:
        # The lock comes first: on MariaDB (REPEATABLE READ) the first plain read fixes the
        # transaction's snapshot, which must not predate a concurrent decision holding it.
        queries.lock_community(session, community_id)
        community = administered_community(session, actor, community_id)
        targets = bulk.targets(session, community, matching_only)
        if len(targets) != expected:
            changed = t(
                lang,
                "bulk.count_changed",
                expected=number(lang, expected),
                now=number(lang, len(targets)),
            )
            reply = confirmation(lang, kind, community, len(targets))
            return Reply(changed + "\n" + reply.text, reply.buttons, ok=False)
        done: list[str] = []
        for membership, user in targets:
            if change_status(session, membership, decision, actor.user_id, when):
                done.append(short_name(user))
                audit(
                    session,
                    actor,
                    _audit_action(decision),
                    community_id=community.id,
                    target_user_id=membership.user_id,
                    membership_id=membership.id,
                    before={"status": int(MembershipStatus.PENDING)},
                    after={"status": int(decision), "bulk": kind},
                )
                queue_member_email(
                    ctx,
                    session,
                    membership,
                    "accepted" if decision == MembershipStatus.MEMBER else "refused",
                )
    return Reply(
        t(
            lang,
            f"bulk.{kind}.done",
            count=len(done),
            community=community.name,
            names=", ".join(done),
            by=actor.name,
            when=datetime(when, lang),
        ),
        replaces_message=True,
    )


# --- Declarations ---------------------------------------------------------------------------


def _ask_bulk(kind: str, ctx: Context, actor: Actor, community_id: int) -> Reply:
    return ask_bulk(ctx, actor, kind, community_id)


def _confirm_bulk(kind: str, ctx: Context, actor: Actor, community_id: int, count: int) -> Reply:
    return confirm_bulk(ctx, actor, kind, community_id, count)


#: Longest refusal answer: the reason, and the "! " that shares it with the member.
REASON_ANSWER = limits.REASON + len("! ")

PENDING = Action("pending", Ids(1, 2), list_pending)
APPROVE = Action("approve", Ids(1), approve)
REFUSE = Action(
    "refuse",
    Ids(1),
    refuse,
    takes="text",
    input=reason_request,
    reason=True,
    limit=REASON_ANSWER,
)
#: The same decisions pressed on a list (membership, community, page): the list stays. The
#: buttons of a push keep the formats above.
APPROVE_LISTED = Action("approve_listed", Ids(3), approve_listed)
REFUSE_LISTED = Action(
    "refuse_listed",
    Ids(3),
    refuse_listed,
    takes="text",
    input=reason_request,
    reason=True,
    limit=REASON_ANSWER,
)
#: The bulk decisions: the question (`approve_all`), then its confirmation (`approve_all_ok`).
ASK_BULK = {kind: Action(kind, Ids(1), partial(_ask_bulk, kind)) for kind in bulk.BULK}
CONFIRM_BULK = {
    kind: Action(kind + "_ok", Ids(2), partial(_confirm_bulk, kind)) for kind in bulk.BULK
}


def bulk_confirm_button(lang: str, kind: str, community_id: int, count: int) -> Button:
    """Carries the count shown, which the decision checks is still the count of targets."""
    return CONFIRM_BULK[kind].button(
        t(lang, f"bulk.{kind}.confirm", count=count),
        community_id,
        count,
        style="danger" if kind == "refuse_all" else "primary",
    )


ACTIONS = (
    PENDING,
    APPROVE,
    REFUSE,
    APPROVE_LISTED,
    REFUSE_LISTED,
    *ASK_BULK.values(),
    *CONFIRM_BULK.values(),
)

LIST = Command(
    "attente",
    "pending",
    lambda ctx, actor, cid, args: list_pending(ctx, actor, cid),
    pick=PENDING,
)
