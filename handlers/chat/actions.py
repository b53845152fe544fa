"""Button presses: an action id and an opaque reference, routed to a use case.

Each capability module declares its actions (handlers.core.actions.Action); they are assembled
here into one registry, which refuses a name declared twice. The reference is parsed strictly
and only ever used as a pointer: every use case re-checks the actor's rights and the row's
current state. A malformed reference changes nothing.
"""

from __future__ import annotations

from handlers.chat import bindings, preferences
from handlers.chat.bindings import ChatPlace
from handlers.community import admin, communities, history, members, pending, settings, widget
from handlers.core.actions import CANCEL, MAX_CALLBACK_BYTES, Action, BadRef, Press, Registry
from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.reply import Reply
from handlers.dashboard import charts

REGISTRY: Registry[Action] = Registry(
    communities.ACTIONS,
    pending.ACTIONS,
    members.ACTIONS,
    settings.ACTIONS,
    history.ACTIONS,
    preferences.ACTIONS,
    (CANCEL,),
    admin.ACTIONS,
    widget.ACTIONS,
    charts.ACTIONS,
    bindings.ACTIONS,
)


def press(ctx: Context, actor: Actor, p: Press, place: ChatPlace | None = None) -> Reply:
    """Run the use case behind a button; unknown actions and malformed references are refused,
    and so is an action that needs the chat place (binding a group) when there is none."""
    action = REGISTRY.get(p.action)
    if action is None or (action.place and place is None):
        return Reply(t(actor.language, "error.bad_button"), ok=False)
    try:
        args = action.arguments(p)
        if action.place:
            return action.run(ctx, actor, place, *args)
        return action.run(ctx, actor, *args)
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
