"""A community's card as the web admin shows it, and its "Ajouter un membre", "Editer les
informations" and "Supprimer la communauté".

Each write is one transaction with its audit entry. A change of name or description, and a
deletion, also write a bot_notification row (kinds "community_change", "community_deleted"):
the operators' change feed, delivered by the notifier, since the referent guide asks referents
to tell Hauts-de-France Mobilités of any change (dénomination...).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from functools import partial

from sqlalchemy import update
from sqlalchemy.orm import Session

from handlers.community import history, names, pending, settings, widget
from handlers.community.member_mail import queue_member_email
from handlers.community.members import MEMBERS
from handlers.community.validation_input import platform_domains
from handlers.core import limits
from handlers.core.actions import CANCEL, Action, Command, CommandRun, Ids
from handlers.core.audit import AuditAction, audit
from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import datetime, number, t
from handlers.core.present import clip, email_domain, short_name, status_key, validation_label
from handlers.core.reply import Button, InputRequest, Reply
from handlers.core.rights import administered_community, operates
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.bot_models import ChatBinding, Notification
from storage.clock import now
from storage.codes import MembershipStatus, UserStatus, ValidationType
from storage.community_admin import (
    community_named,
    community_row,
    delete_community_rows,
    deletion_summary,
    membership_of,
    other_community_names,
    users_matching_name,
)
from storage.memberships import added_values, touch_community
from storage.models import Community, CommunityUser, User
from storage.roles import grant_moderator_role

#: Most people offered when a name matches several accounts.
MAX_CHOICES = 10
#: Column lengths (handlers/core/limits.py).
LIMITS = {
    "name": limits.NAME,
    "description": limits.DESCRIPTION,
    "full_description": limits.FULL_DESCRIPTION,
}
#: The audit action of each of these columns' edits.
EDIT_ACTIONS = {
    "name": AuditAction.EDIT_NAME,
    "description": AuditAction.EDIT_DESCRIPTION,
    "full_description": AuditAction.EDIT_FULL_DESCRIPTION,
}
ROLES = {int(MembershipStatus.MEMBER): "member", int(MembershipStatus.MODERATOR): "moderator"}


# --- Add a member -------------------------------------------------------------------------------


# --- The community's card ---------------------------------------------------------------------


@use_case
def community_card(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        members_count, pending_count = queries.community_counts(session, community.id)
        referent = session.get(User, community.user_id) if community.user_id else None
        address = queries.address_of(session, community.address_id)
        files = queries.security_files(session, community.id)
    yes, no = t(lang, "common.yes"), t(lang, "common.no")
    domains = platform_domains(community.domain)
    lines = [
        t(lang, "card.title", name=community.name, id=community.id),
        t(
            lang,
            "card.members",
            members=number(lang, members_count),
            pending=number(lang, pending_count),
        ),
        t(lang, "card.referent", name=short_name(referent) if referent else "—"),
        t(
            lang,
            "card.validation",
            validation=validation_label(lang, community.validation_type, bool(files)),
        ),  # fmt: skip
        t(lang, "card.domains", domains=", ".join(domains) if domains else "—"),
    ]
    if files:
        lines.append(t(lang, "card.identifiers", name=files[-1].original_name))
    lines += [
        t(lang, "card.members_hidden", value=yes if community.members_hidden else no),
        t(lang, "card.ads_hidden", value=yes if community.proposals_hidden else no),
        t(lang, "card.address", address=format_address(address) if address else "—"),
        t(lang, "card.created", when=datetime(community.created_date, lang)),
        t(lang, "card.updated", when=datetime(community.updated_date, lang)),
    ]
    if community.description:
        lines.append(t(lang, "card.description", text=community.description))
    if full := full_description_line(lang, community.full_description):
        lines.append(full)
    cid = community.id
    members_hidden_label = "card.show_members" if community.members_hidden else "card.hide_members"
    ads_hidden_label = "card.show_ads" if community.proposals_hidden else "card.hide_ads"
    buttons = (
        (
            pending.PENDING.button(
                t(lang, "card.pending_button", count=pending_count), cid, style="primary"
            ),
            MEMBERS.button(t(lang, "card.members_button"), cid),
        ),
        (
            settings.MEMBERS_HIDDEN.button(
                t(lang, members_hidden_label), cid, not community.members_hidden
            ),
            settings.ADS_HIDDEN.button(
                t(lang, ads_hidden_label), cid, not community.proposals_hidden
            ),
        ),
        (
            settings.VALIDATION.button(t(lang, "card.validation_button"), cid),
            history.HISTORY.button(t(lang, "card.history_button"), cid),
        ),
    ) + _card_admin_rows(lang, community.id)
    return Reply("\n".join(lines), buttons)


def format_address(address) -> str:
    town = " ".join(p for p in (address.postal_code, address.address_locality) if p)
    return ", ".join(p for p in (address.street_address, town) if p) or "—"


#: The columns a referent edits, in the order of the card's buttons.
FIELDS = ("name", "description", "full_description")
#: Longest full description shown on the card.
CARD_FULL_DESCRIPTION = 300


def _card_admin_rows(lang: str, community_id: int) -> tuple[tuple[Button, ...], ...]:
    """The card's rows for this module's use cases: add a member (asks for an e-mail or a
    name), the widget, edit or delete."""
    cid = community_id
    return (
        (
            ADD_MEMBER.button(
                t(lang, "admin.add_button"), cid, input=InputRequest(t(lang, "admin.add_prompt"))
            ),
            widget.WIDGET.button(t(lang, "admin.widget_button"), cid),
        ),
        tuple(
            EDIT[name].button(
                t(lang, f"admin.{name if name != 'name' else 'rename'}_button"),
                cid,
                input=InputRequest(t(lang, f"admin.{name}_prompt")),
            )
            for name in FIELDS
        ),
        (DELETE_ASK.button(t(lang, "admin.delete_button"), cid, style="danger"),),
    )


def full_description_line(lang: str, text: str | None) -> str | None:
    """The card's line for the full description, shortened to stay readable in a chat."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > CARD_FULL_DESCRIPTION:
        text = text[: CARD_FULL_DESCRIPTION - 1].rstrip() + "…"
    return t(lang, "admin.full_description", text=text)


# --- Adding a member, editing, deleting ----------------------------------------------------------


@use_case
def find_member_to_add(ctx: Context, actor: Actor, community_id: int, query: str) -> Reply:
    """By e-mail (exact) or by name (a choice when several match); then the role to give."""
    lang = actor.language
    limits.check(query, limits.PERSON_SEARCH)
    query = (query or "").strip()
    if not query:
        raise Refusal("admin.add_nothing")
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        if "@" in query:
            user = queries.user_by_email(session, query)
            if user is None or user.status == UserStatus.PSEUDONYMIZED:  # deleted, to all
                raise Refusal("admin.unknown_email", email=clip(query))
            return _role_choice(session, lang, community, user)
        found = users_matching_name(session, query, MAX_CHOICES + 1)
        if not found:
            raise Refusal("admin.unknown_name", name=clip(query))
        if len(found) > MAX_CHOICES:
            raise Refusal("admin.too_many", count=MAX_CHOICES, name=clip(query))
        if len(found) == 1:
            return _role_choice(session, lang, community, found[0])
    return Reply(
        t(lang, "admin.several", count=len(found), name=clip(query), community=community.name),
        tuple((ADD_PICK.button(_person(lang, user), community.id, user.id),) for user in found)
        + ((CANCEL.button(t(lang, "common.cancel")),),),
    )


@use_case
def pick_member_to_add(ctx: Context, actor: Actor, community_id: int, user_id: int) -> Reply:
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        user = session.get(User, user_id)
        if user is None or user.status == UserStatus.PSEUDONYMIZED:
            raise Refusal("error.bad_button")
        return _role_choice(session, actor.language, community, user)


def _person(lang: str, user: User) -> str:
    return t(lang, "admin.person", name=short_name(user), domain=email_domain(user.email) or "—")


def _refuse_if_member(session: Session, lang: str, community: Community, user: User) -> None:
    existing = membership_of(session, community.id, user.id)
    if existing is not None:
        raise Refusal(
            "admin.already",
            name=short_name(user),
            community=community.name,
            status=t(lang, status_key(existing.status)),
        )


def _role_choice(session: Session, lang: str, community: Community, user: User) -> Reply:
    _refuse_if_member(session, lang, community, user)
    return Reply(
        t(
            lang,
            "admin.add_as",
            name=short_name(user),
            domain=email_domain(user.email) or "—",
            community=community.name,
        ),
        (
            (
                ADD_AS.button(
                    t(lang, "admin.as_member"),
                    community.id,
                    user.id,
                    MembershipStatus.MEMBER,
                    style="primary",
                ),
                ADD_AS.button(
                    t(lang, "admin.as_moderator"), community.id, user.id, MembershipStatus.MODERATOR
                ),
            ),
            (CANCEL.button(t(lang, "common.cancel")),),
        ),
    )


@use_case
def add_member(ctx: Context, actor: Actor, community_id: int, user_id: int, status: int) -> Reply:
    """Join the user directly, dated as the platform dates an accepted member."""
    lang = actor.language
    if status not in ROLES:
        raise Refusal("error.bad_button")
    when = now()
    with transaction(ctx, write=True) as session:
        # The lock serialises two referents adding the same person at the same time.
        if queries.lock_community(session, community_id) is None:
            raise Refusal("error.unknown_community", id=community_id)
        community = administered_community(session, actor, community_id)
        user = session.get(User, user_id)
        if user is None or user.status == UserStatus.PSEUDONYMIZED:
            raise Refusal("error.bad_button")
        _refuse_if_member(session, lang, community, user)
        membership = CommunityUser(
            community_id=community.id,
            user_id=user.id,
            admin_id=actor.user_id,
            **added_values(community, user.id, MembershipStatus(status), when),
        )
        session.add(membership)
        session.flush()
        if status == MembershipStatus.MODERATOR:
            grant_moderator_role(session, user.id)  # CommunityUserSaveListener::postPersist
        audit(
            session,
            actor,
            AuditAction.ADD_MEMBER,
            community_id=community.id,
            target_user_id=user.id,
            membership_id=membership.id,
            after={"status": status},
        )
        emailed = queue_member_email(ctx, session, membership, "added") is not None
    text = t(
        lang,
        "admin.added",
        name=short_name(user),
        community=community.name,
        role=t(lang, f"admin.role_{ROLES[status]}"),
        by=actor.name,
        when=datetime(when, lang),
    )
    if emailed:
        text += " " + t(lang, "admin.emailed")
    return Reply(
        text,
        ((MEMBERS.button(t(lang, "card.members_button"), community.id),),),
        replaces_message=True,
    )


# --- Edit the community's details ---------------------------------------------------------------


@use_case
def edit_details(ctx: Context, actor: Actor, community_id: int, column: str, value: str) -> Reply:
    """Set the name, short or full description; the reply is the change and the card."""
    lang = actor.language
    if column not in LIMITS:
        raise Refusal("error.bad_button")
    value = (value or "").strip()
    if not value:
        raise Refusal("admin.empty")
    limits.check(value, LIMITS[column])
    when = now()
    with transaction(ctx, write=True) as session:
        if queries.lock_community(session, community_id) is None:
            raise Refusal("error.unknown_community", id=community_id)
        community = administered_community(session, actor, community_id)
        before = getattr(community, column)
        if before == value:
            return Reply(t(lang, "admin.unchanged", community=community.name))
        if column == "name":
            _check_name(session, actor, community.id, value)
        touch_community(session, community, when, **{column: value})
        audit(
            session,
            actor,
            EDIT_ACTIONS[column],
            community_id=community.id,
            before={column: before},
            after={column: value},
        )
        _change_feed(
            session,
            "community_change",
            community.id,
            {
                "community_id": community.id,
                "community": community.name,
                "field": column,
                "before": before,
                "after": value,
                "by_user_id": actor.user_id,
                "by": actor.name,
                "front": actor.front,
                "at": when.isoformat(),
            },
        )
    text = t(
        lang,
        f"admin.{column}_changed",
        community=community.name,
        by=actor.name,
        when=datetime(when, lang),
        before=before,
        after=value,
    )
    card = community_card(ctx, actor, community.id)
    return Reply(text + "\n\n" + card.text, card.buttons, replaces_message=True)


def _check_name(session: Session, actor: Actor, community_id: int, name: str) -> None:
    """Refuse a name another community already has (the platform's rule: whatever the case),
    one holding an invisible or bidirectional character, or one that looks like another
    community's (same confusable skeleton, `handlers.community.names`). The look-alike is named
    unless it is a secured community the actor neither belongs to nor administers (hidden from
    non-members on the platform)."""
    refused = names.refused_character(name)
    if refused is not None:
        raise Refusal("admin.name_invisible", character=refused)
    other = community_named(session, name, community_id)
    if other is not None:
        raise Refusal("admin.name_taken", name=name, id=other.id)
    key = names.look_alike_key(name)
    for other_id, other_name, validation in other_community_names(session, community_id):
        if names.look_alike_key(other_name) != key:
            continue
        if validation == ValidationType.SECURED and not _sees(session, actor, other_id):
            raise Refusal("admin.name_looks_like_hidden")
        raise Refusal("admin.name_looks_like", name=name, other=other_name, id=other_id)


def _sees(session: Session, actor: Actor, community_id: int) -> bool:
    """Whether the actor may know this community's name: an operator, one who administers
    it, or one with a membership in it."""
    if actor.is_operator or membership_of(session, community_id, actor.user_id) is not None:
        return True
    return queries.community_and_right(session, community_id, actor.user_id, actor.territories)[1]


def _change_feed(session: Session, kind: str, community_id: int, payload: dict) -> None:
    """A row for the operators' change feed (delivered by the notifier), in this transaction."""
    session.add(
        Notification(
            kind=kind,
            dedup_key=f"{community_id}:{uuid.uuid4().hex}",
            community_id=community_id,
            payload=json.dumps(payload, default=str, ensure_ascii=False),
            created_at=now(),
        )
    )


# --- Delete the community -----------------------------------------------------------------------


def _deletable(session: Session, actor: Actor, community_id: int) -> Community:
    """Only the creator, an operator or a platform admin of it; a moderator administers but
    may not delete."""
    community = administered_community(session, actor, community_id)
    if not (community.user_id == actor.user_id or operates(session, actor, community)):
        raise Refusal("admin.delete_not_allowed", community=community.name)
    return community


def _summary_lines(lang: str, community: Community, session: Session) -> list[str]:
    summary = deletion_summary(session, community.id)
    s = summary.statuses
    lines = [
        t(lang, "admin.delete_summary", community=community.name, id=community.id),
        t(
            lang,
            "admin.delete_memberships",
            # one count per plural form: each figure says its own noun
            members=t(
                lang,
                "admin.delete_members",
                count=s[MembershipStatus.MEMBER] + s[MembershipStatus.MODERATOR],
            ),
            moderators=t(lang, "admin.delete_moderators", count=s[MembershipStatus.MODERATOR]),
            pending=t(lang, "admin.delete_pending", count=s[MembershipStatus.PENDING]),
            refused=t(lang, "admin.delete_refused", count=s[MembershipStatus.REFUSED]),
        ),  # fmt: skip
        t(lang, "admin.delete_ads", count=summary.ads),
        t(lang, "admin.delete_files", count=summary.files),
    ]
    lines += [
        t(lang, "admin.delete_other", table=table, count=count)
        for table, count in summary.others.items()
    ]
    return lines


@use_case
def ask_delete(ctx: Context, actor: Actor, community_id: int) -> Reply:
    """The last summary, and a button that asks for the community's exact name."""
    lang = actor.language
    with transaction(ctx) as session:
        community = _deletable(session, actor, community_id)
        lines = _summary_lines(lang, community, session)
    prompt = "\n".join(lines[1:] + [t(lang, "admin.delete_prompt", community=community.name)])
    confirm = DELETE.button(
        t(lang, "admin.delete_confirm"), community.id, style="danger", input=InputRequest(prompt)
    )
    # The text says "type the exact name": the next message is listened to, the button stays.
    return Reply(
        "\n".join(lines + [t(lang, "admin.delete_prompt", community=community.name)]),
        ((confirm, CANCEL.button(t(lang, "common.cancel"))),),
        awaits=confirm,
    )


@use_case
def delete_community(ctx: Context, actor: Actor, community_id: int, typed_name: str) -> Reply:
    """Delete it, if the name typed is exactly the community's."""
    lang = actor.language
    limits.check(typed_name, limits.NAME)  # a longer text is not the name: no query for it
    when = now()
    with transaction(ctx, write=True) as session:
        if queries.lock_community(session, community_id) is None:
            raise Refusal("error.unknown_community", id=community_id)
        community = _deletable(session, actor, community_id)
        typed = (typed_name or "").strip()
        if typed != community.name:
            raise Refusal("admin.delete_mismatch", typed=clip(typed), community=community.name)
        summary = deletion_summary(session, community.id)
        lines = _summary_lines(lang, community, session)[1:]
        before = community_row(session, community.id)
        counts = {
            "memberships": {str(k): v for k, v in sorted(summary.statuses.items())},
            "ads": summary.ads,
            "identifier_files": summary.files,
            "others": summary.others,
        }
        files = delete_community_rows(session, community.id)
        session.execute(
            update(ChatBinding)
            .where(ChatBinding.community_id == community.id)
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
        audit(
            session,
            actor,
            AuditAction.DELETE_COMMUNITY,
            community_id=community.id,
            before=before,
            after={"deleted": True, **counts},
        )
        _change_feed(
            session,
            "community_deleted",
            community.id,
            {
                "community_id": community.id,
                "community": community.name,
                "before": before,
                **counts,
                "by_user_id": actor.user_id,
                "by": actor.name,
                "front": actor.front,
                "at": when.isoformat(),
            },
        )
        session.expunge(community)
    # The identifier files themselves, once their rows are gone for good.
    folder = ctx.settings.security_folder
    for name in files:
        path = folder / name
        if path.parent == folder:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    text = t(
        lang,
        "admin.deleted",
        community=community.name,
        id=community.id,
        by=actor.name,
        when=datetime(when, lang),
    )
    return Reply("\n".join([text, *lines]), replaces_message=True)


# --- Declarations -------------------------------------------------------------------------------


def _edit(column: str, ctx: Context, actor: Actor, community_id: int, text: str | None) -> Reply:
    return edit_details(ctx, actor, community_id, column, text or "")


def _find(ctx: Context, actor: Actor, community_id: int, text: str | None) -> Reply:
    return find_member_to_add(ctx, actor, community_id, text or "")


def _delete(ctx: Context, actor: Actor, community_id: int, text: str | None) -> Reply:
    return delete_community(ctx, actor, community_id, text or "")


ADD_MEMBER = Action("add_member", Ids(1), _find, takes="text", limit=limits.PERSON_SEARCH)
ADD_PICK = Action("add_pick", Ids(2), pick_member_to_add)
ADD_AS = Action("add_as", Ids(3), add_member)
#: Edit a column of the community: `edit_name`, `edit_description`, `edit_full_description`.
EDIT = {
    column: Action(f"edit_{column}", Ids(1), partial(_edit, column), takes="text", limit=limit)
    for column, limit in LIMITS.items()
}
DELETE_ASK = Action("delete_ask", Ids(1), ask_delete)
DELETE = Action("delete", Ids(1), _delete, takes="text", limit=limits.NAME)
CARD = Action("card", Ids(1), community_card)
ACTIONS = (CARD, ADD_MEMBER, ADD_PICK, ADD_AS, *EDIT.values(), DELETE_ASK, DELETE)


def _text_command(action: Action, prompt_key: str, run: Callable[..., Reply]) -> CommandRun:
    """A command taking free text (`renommer 12 Nouveau nom`); without text, the next message
    is the text (or the button asks for it)."""

    def command(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
        if args:
            return run(ctx, actor, community_id, " ".join(args))
        prompt = t(actor.language, prompt_key)
        asking = action.button(prompt, community_id, input=InputRequest(prompt))
        return Reply(prompt, ((asking,),), awaits=asking)  # the text can be typed right away

    return command


def _edit_command(column: str) -> CommandRun:
    return _text_command(EDIT[column], f"admin.{column}_prompt", partial(_edit_text, column))


def _edit_text(column: str, ctx: Context, actor: Actor, community_id: int, text: str) -> Reply:
    return edit_details(ctx, actor, community_id, column, text)


def _delete_command(ctx: Context, actor: Actor, community_id: int, args: list[str]) -> Reply:
    if args:  # the exact name typed after the command
        return delete_community(ctx, actor, community_id, " ".join(args))
    return ask_delete(ctx, actor, community_id)


ADD = Command(
    "ajouter",
    "add",
    _text_command(ADD_MEMBER, "admin.add_prompt", find_member_to_add),
    pick=CARD,
)
RENAME = Command("renommer", "rename", _edit_command("name"), pick=CARD)
DESCRIPTION = Command("description", "description", _edit_command("description"), pick=CARD)
ABOUT = Command(
    "presentation",
    "about",
    _edit_command("full_description"),
    pick=CARD,
    aliases=("présentation",),
)
SETTINGS = Command(
    "parametres",
    "settings",
    lambda ctx, actor, cid, args: community_card(ctx, actor, cid),
    pick=CARD,
    aliases=("paramètres",),
)
DELETE_COMMAND = Command("supprimer", "delete", _delete_command, pick=DELETE_ASK)
