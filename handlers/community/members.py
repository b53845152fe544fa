"""Members of a community: pages of 10, filters, search, status changes and removal."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from handlers.community.member_mail import queue_member_email
from handlers.core import limits
from handlers.core.actions import CANCEL, MAX_CALLBACK_BYTES, Action, Codec, Command, Ids, is_id
from handlers.core.audit import AuditAction, audit
from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import date, datetime, number, t
from handlers.core.markup import escape
from handlers.core.paging import PAGE_SIZE, page_buttons, page_count
from handlers.core.present import email_domain, short_name, status_key
from handlers.core.reply import Button, InputRequest, Reply
from handlers.core.rights import administered_community
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.clock import now
from storage.codes import ACCEPTED_STATUSES, MembershipStatus
from storage.engine import rowcount
from storage.memberships import change_status
from storage.models import CommunityUser, User
from storage.roles import grant_moderator_role

#: Filters by letter, so that a button's reference stays short.
FILTERS: dict[str, tuple[MembershipStatus, ...] | None] = {
    "a": None,
    "m": ACCEPTED_STATUSES,
    "o": (MembershipStatus.MODERATOR,),
    "p": (MembershipStatus.PENDING,),
    "r": (MembershipStatus.REFUSED,),
}
#: Words a referent may type to filter (French and English).
FILTER_WORDS = {
    "tous": "a", "all": "a",
    "membres": "m", "members": "m", "membre": "m", "member": "m",
    "moderateurs": "o", "modérateurs": "o", "moderateur": "o", "modérateur": "o",
    "moderators": "o", "moderator": "o",
    "attente": "p", "en-attente": "p", "pending": "p",
    "refuses": "r", "refusés": "r", "refuse": "r", "refusé": "r", "refused": "r",
}  # fmt: skip
MAX_SEARCH = limits.MEMBER_SEARCH
#: The search rides in the page buttons' reference ("members|<id>:<filter>:<page>:<search>"),
#: which must fit Telegram's 64 bytes of callback data with a 10-digit id and a 6-digit page.
MAX_SEARCH_BYTES = MAX_CALLBACK_BYTES - len("members|") - 10 - len(":a:") - 6 - len(":")


@dataclass(frozen=True)
class MembersRef:
    """A page of a member list: "<community id>:<filter>:<page>[:<search>]"."""

    community_id: int
    code: str = "a"
    page: int = 0
    search: str | None = None

    def ref(self) -> str:
        tail = f":{self.search}" if self.search else ""
        return f"{self.community_id}:{self.code}:{self.page}{tail}"

    @classmethod
    def from_ref(cls, ref: str) -> MembersRef:
        parts = ref.split(":", 3)
        if len(parts) < 3 or not is_id(parts[0]) or not is_id(parts[2]) or len(parts[2]) > 6:
            raise ValueError(ref)
        search = parts[3] if len(parts) == 4 else None
        return cls(int(parts[0]), parts[1], int(parts[2]), search)


@dataclass(frozen=True)
class SearchRef:
    """The search button of a member list: "<community id>:<filter>" (the text is typed)."""

    community_id: int
    code: str

    def ref(self) -> str:
        return f"{self.community_id}:{self.code}"

    @classmethod
    def from_ref(cls, ref: str) -> SearchRef:
        parts = ref.split(":")
        if len(parts) != 2 or not is_id(parts[0]):
            raise ValueError(ref)
        return cls(int(parts[0]), parts[1])


@use_case
def list_members(
    ctx: Context,
    actor: Actor,
    community_id: int,
    filter_code: str = "a",
    page: int = 0,
    search: str | None = None,
) -> Reply:
    lang = actor.language
    if filter_code not in FILTERS:
        raise Refusal("members.bad_filter")
    limits.check(search, MAX_SEARCH)
    search = _fit_search(search)
    size = PAGE_SIZE
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        rows, total = queries.memberships_page(
            session, community.id, FILTERS[filter_code], search, max(page, 0) * size, size
        )
        pages = page_count(total)
        if page >= pages and total:
            page = pages - 1
            rows, total = queries.memberships_page(
                session, community.id, FILTERS[filter_code], search, page * size, size
            )
    header = t(
        lang,
        "members.title",
        community=community.name,
        filter=t(lang, f"members.filter.{filter_code}"),
        count=total,
    )
    lines = [header]
    if search:
        lines.append(t(lang, "members.searching", search=search))
    if not rows:
        lines.append(t(lang, "members.none"))
    first = page * size
    for membership, user in rows:
        lines.append(member_line(lang, membership, user, community.user_id))
    buttons: list[tuple[Button, ...]] = []
    for membership, user in rows:
        buttons.append((MEMBER.button(escape(short_name(user)), membership.id),))
    nav = page_buttons(
        lang,
        MEMBERS.name,
        page,
        pages,
        lambda p: MEMBERS.ref.build(community.id, filter_code, p, search),
    )
    if total > size:
        lines.append(
            t(
                lang,
                "members.range",
                first=number(lang, first + 1),
                last=number(lang, first + len(rows)),
                total=number(lang, total),
            )
        )
    if nav:
        buttons.append(nav)
    buttons.append(
        tuple(
            MEMBERS.button(t(lang, f"members.filter.{code}"), community.id, code)
            for code in FILTERS
            if code != filter_code
        )
    )
    buttons.append(
        (
            SEARCH.button(
                t(lang, "members.search"),
                community.id,
                filter_code,
                input=search_request(lang),
            ),
        )
    )
    return Reply("\n".join(lines), tuple(buttons))


def search_request(lang: str) -> InputRequest:
    return InputRequest(t(lang, "members.search_prompt"))


def _fit_search(search: str | None) -> str | None:
    text = (search or "").strip()[:MAX_SEARCH]
    while len(text.encode()) > MAX_SEARCH_BYTES:
        text = text[:-1]
    return text.strip() or None


def member_line(lang: str, membership: CommunityUser, user: User, creator_id: int | None) -> str:
    status = t(lang, status_key(membership.status))
    if user.id == creator_id:
        status += " · " + t(lang, "members.referent")
    # the date a request was made: "joined" only for the accepted (the web admin's "Date")
    key = "members.line" if membership.status in ACCEPTED_STATUSES else "members.line_asked"
    return t(lang, key, name=short_name(user), status=status, joined=date(membership.created_date))


@use_case
def member_detail(ctx: Context, actor: Actor, membership_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        membership = session.get(CommunityUser, membership_id)
        if membership is None:
            raise Refusal("members.gone")
        community = administered_community(session, actor, membership.community_id)
        people = queries.users_by_ids(session, [membership.user_id, membership.admin_id])
    user = people[membership.user_id]
    lines = [
        t(lang, "member.title", name=short_name(user), community=community.name),
        t(lang, "member.status", status=t(lang, status_key(membership.status))),
        t(lang, "member.domain", domain=email_domain(user.email) or "—"),
        t(lang, "member.joined", when=date(membership.created_date)),
    ]
    if membership.accepted_date:
        lines.append(t(lang, "member.accepted", when=date(membership.accepted_date)))
    if membership.refused_date:
        lines.append(t(lang, "member.refused", when=date(membership.refused_date)))
    if membership.admin_id in people:
        lines.append(t(lang, "member.decided_by", name=short_name(people[membership.admin_id])))
    lines.append(t(lang, "member.last_activity", when=date(user.last_activity_date)))
    current = membership.status
    status_buttons = tuple(
        SET_STATUS.button(
            t(lang, "member.set_" + status.name.lower()), membership.id, int(status), current
        )
        for status in MembershipStatus
        if status != current
    )
    return Reply(
        "\n".join(lines),
        (
            status_buttons,
            (
                REMOVE.button(t(lang, "member.remove"), membership.id, current, style="danger"),
                MEMBERS.button(t(lang, "common.back"), community.id),
            ),
        ),
    )


@use_case(repeatable=True)  # "still as seen": a re-run after a lost COMMIT is the check
def set_member_status(
    ctx: Context, actor: Actor, membership_id: int, new_status: int, expected_status: int
) -> Reply:
    """Change a status, if it is still the one the referent saw (else say what it is now)."""
    lang = actor.language
    try:
        target = MembershipStatus(new_status)
        MembershipStatus(expected_status)
    except ValueError as error:
        raise Refusal("error.bad_button") from error
    when = now()
    with transaction(ctx, write=True) as session:
        membership, community, user = _as_seen(session, actor, membership_id, expected_status)
        if membership.status == target:
            return Reply(t(lang, "members.unchanged", name=short_name(user)))
        _keep_a_moderator(session, membership)
        before = membership.status
        if not change_status(session, membership, target, actor.user_id, when):
            raise Refusal("members.changed_now", name=short_name(user))
        if target == MembershipStatus.MODERATOR:
            grant_moderator_role(session, user.id)  # CommunityUserSaveListener::postUpdate
        audit(
            session,
            actor,
            AuditAction.SET_STATUS,
            community_id=community.id,
            target_user_id=user.id,
            membership_id=membership.id,
            before={"status": int(before)},
            after={"status": int(target)},
        )
        if target in ACCEPTED_STATUSES and before not in ACCEPTED_STATUSES:
            queue_member_email(ctx, session, membership, "accepted")
        elif target == MembershipStatus.REFUSED:
            queue_member_email(ctx, session, membership, "refused")
    return Reply(
        t(
            lang,
            "members.status_changed",
            name=short_name(user),
            status=t(lang, status_key(target)),
            by=actor.name,
            when=datetime(when, lang),
        ),
        replaces_message=True,
    )


@use_case
def ask_remove(ctx: Context, actor: Actor, membership_id: int, expected_status: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        membership = session.get(CommunityUser, membership_id)
        if membership is None:
            raise Refusal("members.gone")
        community = administered_community(session, actor, membership.community_id)
        user = session.get(User, membership.user_id)
    return Reply(
        t(lang, "members.remove_ask", name=short_name(user), community=community.name),
        (
            (
                REMOVE_OK.button(
                    t(lang, "members.remove_confirm"),
                    membership_id,
                    expected_status,
                    style="danger",
                ),
                CANCEL.button(t(lang, "common.cancel")),
            ),
        ),
    )


@use_case(repeatable=True)  # "still as seen": a re-run after a lost COMMIT is the check
def remove_member(ctx: Context, actor: Actor, membership_id: int, expected_status: int) -> Reply:
    lang = actor.language
    when = now()
    with transaction(ctx, write=True) as session:
        membership, community, user = _as_seen(session, actor, membership_id, expected_status)
        _keep_a_moderator(session, membership)
        result = session.execute(
            delete(CommunityUser).where(
                CommunityUser.id == membership.id, CommunityUser.status == expected_status
            )
        )
        if rowcount(result) != 1:
            raise Refusal("members.changed_now", name=short_name(user))
        audit(
            session,
            actor,
            AuditAction.REMOVE,
            community_id=community.id,
            target_user_id=user.id,
            membership_id=membership.id,
            before={
                "status": membership.status,
                "created_date": membership.created_date,
                "accepted_date": membership.accepted_date,
            },
        )
    return Reply(
        t(
            lang,
            "members.removed",
            name=short_name(user),
            community=community.name,
            by=actor.name,
            when=datetime(when, lang),
        ),
        replaces_message=True,
    )


def _as_seen(session, actor: Actor, membership_id: int, expected_status: int):
    """The membership, locked, its community (rights checked) and user, provided its status is
    still the one the referent saw; otherwise say what it is now."""
    membership = queries.lock_membership(session, membership_id)
    if membership is None:
        raise Refusal("members.gone")
    community = administered_community(session, actor, membership.community_id)
    user = session.get(User, membership.user_id)
    if membership.status != expected_status:
        raise Refusal(
            "members.changed",
            name=short_name(user),
            status=t(actor.language, status_key(membership.status)),
        )
    return membership, community, user


def _keep_a_moderator(session, membership: CommunityUser) -> None:
    """Nobody removes or demotes the last moderator: the community would have no one to run it."""
    if membership.status != MembershipStatus.MODERATOR:
        return
    queries.lock_community(session, membership.community_id)
    if queries.moderator_count(session, membership.community_id) <= 1:
        raise Refusal("members.last_moderator")


# --- Declarations -------------------------------------------------------------------------------


def _page(ctx: Context, actor: Actor, at: MembersRef) -> Reply:
    return list_members(ctx, actor, at.community_id, at.code, at.page, at.search)


def _search(ctx: Context, actor: Actor, at: SearchRef, text: str | None) -> Reply:
    return list_members(ctx, actor, at.community_id, at.code, 0, text)


def _command(ctx: Context, actor: Actor, community_id: int, args: list[str]) -> Reply:
    """`membres [n°] [filtre] [recherche]`."""
    code = "a"
    words = list(args)
    if words and words[0].lower() in FILTER_WORDS:
        code = FILTER_WORDS[words.pop(0).lower()]
    search = " ".join(words) or None
    return list_members(ctx, actor, community_id, code, 0, search)


MEMBERS = Action("members", Codec(MembersRef), _page)
SEARCH = Action(
    "members_search",
    Codec(SearchRef),
    _search,
    takes="text",
    input=search_request,
    limit=limits.MEMBER_SEARCH,
)
MEMBER = Action("member", Ids(1), member_detail)
SET_STATUS = Action("set_status", Ids(3), set_member_status, select="slack.select.status")
REMOVE = Action("remove", Ids(2), ask_remove)
REMOVE_OK = Action("remove_ok", Ids(2), remove_member)
ACTIONS = (MEMBERS, SEARCH, MEMBER, SET_STATUS, REMOVE, REMOVE_OK)

LIST = Command("membres", "members", _command, pick=MEMBERS)
