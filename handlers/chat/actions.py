"""Button presses: an action id and an opaque reference, routed to a use case.

The reference is parsed strictly and only ever used as a pointer: every use case re-checks the
actor's rights and the row's current state. A malformed reference changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from handlers.chat import preferences
from handlers.community import admin as community_admin
from handlers.community import communities, history, members, pending, settings, widget
from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.reply import Reply
from handlers.dashboard import charts, synthesis
from handlers.dashboard.request import ChartRequest, parse_scope

#: Telegram allows 64 bytes of callback data; action + separator + ref must fit.
MAX_CALLBACK_BYTES = 64
#: The platform's ids are signed INT columns: a larger number can only be a forged reference
#: (and PostgreSQL would reject it as out of range instead of finding nothing).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Press:
    """A button press, with what the user typed or sent when the button asked for it."""

    action: str
    ref: str = ""
    text: str | None = None
    file_name: str | None = None
    file_content: bytes | None = None


class BadRef(ValueError):
    pass


def is_id(text: str) -> bool:
    """ASCII digits only (str.isdigit also accepts '²' or '١'), within the platform's ids."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID


def ints(ref: str, count: int) -> list[int]:
    parts = ref.split(":")
    if len(parts) != count or not all(is_id(p) for p in parts):
        raise BadRef(ref)
    return [int(p) for p in parts]


def _members(ctx: Context, actor: Actor, p: Press) -> Reply:
    parts = p.ref.split(":", 3)
    if len(parts) < 3 or not is_id(parts[0]) or not is_id(parts[2]) or len(parts[2]) > 6:
        raise BadRef(p.ref)
    search = parts[3] if len(parts) == 4 else None
    return members.list_members(ctx, actor, int(parts[0]), parts[1], int(parts[2]), search)


def _members_search(ctx: Context, actor: Actor, p: Press) -> Reply:
    parts = p.ref.split(":")
    if len(parts) != 2 or not is_id(parts[0]):
        raise BadRef(p.ref)
    return members.list_members(ctx, actor, int(parts[0]), parts[1], 0, p.text)


def _paged(func):
    def run(ctx: Context, actor: Actor, p: Press) -> Reply:
        if ":" in p.ref:
            community_id, page = ints(p.ref, 2)
            return func(ctx, actor, community_id, page)
        (community_id,) = ints(p.ref, 1)
        return func(ctx, actor, community_id)

    return run


def _bulk_ask(kind: str):
    return lambda ctx, actor, p: pending.ask_bulk(ctx, actor, kind, *ints(p.ref, 1))


def _bulk_ok(kind: str):
    return lambda ctx, actor, p: pending.confirm_bulk(ctx, actor, kind, *ints(p.ref, 2))


def _flag(func):
    def run(ctx: Context, actor: Actor, p: Press) -> Reply:
        community_id, value = ints(p.ref, 2)
        if value not in (0, 1):
            raise BadRef(p.ref)
        return func(ctx, actor, community_id, bool(value))

    return run


def _identifiers(ctx: Context, actor: Actor, p: Press) -> Reply:
    (community_id,) = ints(p.ref, 1)
    if p.file_content is None:
        return Reply(t(actor.language, "validation.file_prompt"), ok=False)
    return settings.set_identifiers(ctx, actor, community_id, p.file_name or "", p.file_content)


def _communities(ctx: Context, actor: Actor, p: Press) -> Reply:
    page = ints(p.ref, 1)[0] if p.ref else 0
    return communities.my_communities(ctx, actor, page)


def _edit(column: str):
    def run(ctx: Context, actor: Actor, p: Press) -> Reply:
        (community_id,) = ints(p.ref, 1)
        return community_admin.edit_details(ctx, actor, community_id, column, p.text or "")

    return run


def _cancel(ctx: Context, actor: Actor, p: Press) -> Reply:
    return Reply(t(actor.language, "common.cancelled"), replaces_message=True)


ACTIONS: dict[str, Callable[[Context, Actor, Press], Reply]] = {
    "communities": _communities,
    "card": lambda ctx, actor, p: communities.community_card(ctx, actor, *ints(p.ref, 1)),
    "pending": _paged(pending.list_pending),
    "approve": lambda ctx, actor, p: pending.approve(ctx, actor, *ints(p.ref, 1)),
    "refuse": lambda ctx, actor, p: pending.refuse(ctx, actor, *ints(p.ref, 1), p.text),
    "approve_all": _bulk_ask("approve_all"),
    "refuse_all": _bulk_ask("refuse_all"),
    "approve_matching": _bulk_ask("approve_matching"),
    "approve_all_ok": _bulk_ok("approve_all"),
    "refuse_all_ok": _bulk_ok("refuse_all"),
    "approve_matching_ok": _bulk_ok("approve_matching"),
    "members": _members,
    "members_search": _members_search,
    "member": lambda ctx, actor, p: members.member_detail(ctx, actor, *ints(p.ref, 1)),
    "set_status": lambda ctx, actor, p: members.set_member_status(ctx, actor, *ints(p.ref, 3)),
    "remove": lambda ctx, actor, p: members.ask_remove(ctx, actor, *ints(p.ref, 2)),
    "remove_ok": lambda ctx, actor, p: members.remove_member(ctx, actor, *ints(p.ref, 2)),
    "members_hidden": _flag(settings.set_members_hidden),
    "ads_hidden": _flag(settings.set_ads_hidden),
    "validation": lambda ctx, actor, p: settings.validation_menu(ctx, actor, *ints(p.ref, 1)),
    "validation_set": lambda ctx, actor, p: settings.set_validation(ctx, actor, *ints(p.ref, 2)),
    "domains": lambda ctx, actor, p: settings.set_domains(
        ctx, actor, *ints(p.ref, 1), p.text or ""
    ),
    "identifiers": _identifiers,
    "history": lambda ctx, actor, p: history.history(ctx, actor, *ints(p.ref, 1)),
    "language": lambda ctx, actor, p: preferences.set_language(ctx, actor, p.ref),
    "cancel": _cancel,
    "add_member": lambda ctx, actor, p: community_admin.find_member_to_add(
        ctx, actor, *ints(p.ref, 1), p.text or ""
    ),
    "add_pick": lambda ctx, actor, p: community_admin.pick_member_to_add(
        ctx, actor, *ints(p.ref, 2)
    ),
    "add_as": lambda ctx, actor, p: community_admin.add_member(ctx, actor, *ints(p.ref, 3)),
    "edit_name": _edit("name"),
    "edit_description": _edit("description"),
    "edit_full_description": _edit("full_description"),
    "widget": lambda ctx, actor, p: widget.widget(ctx, actor, *ints(p.ref, 1)),
    "delete_ask": lambda ctx, actor, p: community_admin.ask_delete(ctx, actor, *ints(p.ref, 1)),
    "delete": lambda ctx, actor, p: community_admin.delete_community(
        ctx, actor, *ints(p.ref, 1), p.text or ""
    ),
}


def _chart_request(ref: str) -> ChartRequest:
    try:
        return ChartRequest.from_ref(ref)
    except ValueError as error:
        raise BadRef(ref) from error


def _chart_scope(ref: str) -> str:
    try:
        parse_scope(ref)
    except ValueError as error:
        raise BadRef(ref) from error
    return ref


def _synthesis_ref(ref: str) -> tuple[str, dt.date | None]:
    try:
        return synthesis.parse_synthesis_ref(ref)
    except ValueError as error:
        raise BadRef(ref) from error


# The dashboard's charts (handlers/dashboard/charts.py): menus, one chart, its CSV; the synthesis
# card (synthesis.py).
ACTIONS.update(
    {
        "chart_menu": lambda ctx, actor, p: charts.menu(ctx, actor, _chart_scope(p.ref)),
        "chart": lambda ctx, actor, p: charts.chart(ctx, actor, _chart_request(p.ref)),
        "chart_csv": lambda ctx, actor, p: charts.chart_csv(ctx, actor, _chart_request(p.ref)),
        "chart_sum": lambda ctx, actor, p: synthesis.synthesis(
            ctx, actor, *_synthesis_ref(p.ref), typed=p.text
        ),
    }
)


def press(ctx: Context, actor: Actor, p: Press) -> Reply:
    """Run the use case behind a button; unknown actions and malformed references are refused."""
    handler = ACTIONS.get(p.action)
    if handler is None:
        return Reply(t(actor.language, "error.bad_button"), ok=False)
    try:
        return handler(ctx, actor, p)
    except BadRef:
        return Reply(t(actor.language, "error.bad_button"), ok=False)


def callback_data(action: str, ref: str) -> str:
    """The compact form fronts put in a button (`action|ref`), within Telegram's 64 bytes."""
    data = f"{action}|{ref}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"button data too long: {len(data.encode())} bytes")
    return data


def parse_callback_data(data: str) -> Press:
    action, _, ref = (data or "").partition("|")
    return Press(action=action, ref=ref)
