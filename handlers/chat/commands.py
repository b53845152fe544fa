"""Typed commands, the same words on every front: `attente 12`, `membres 12 refusés`...

Each capability module declares its commands (handlers.core.actions.Command); they are
assembled here, in the order of the command menu, into one registry that refuses a word
declared twice. A command that needs a community takes its id; without one it is implied when
the user administers exactly one community, otherwise the reply is a keyboard to pick it.
"""

from __future__ import annotations

from handlers.chat import bindings, linking, preferences
from handlers.community import admin, communities, history, members, pending, widget
from handlers.core.actions import Command, Registry, is_id
from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.markup import escape
from handlers.core.present import clip
from handlers.core.reply import Reply
from handlers.core.rights import administered_names
from handlers.core.uow import transaction, use_case
from handlers.dashboard import charts

HELP = Command("aide", "help", linking.help_reply)

#: Every command, in the order of the command menu; then the chat entry's own words.
REGISTRY: Registry[Command] = Registry(
    (
        communities.MINE,
        pending.LIST,
        members.LIST,
        admin.SETTINGS,
        history.COMMAND,
        charts.COMMAND,
        preferences.LANGUAGE_COMMAND,
        preferences.PUSH,
        preferences.QUIET_HOURS,
        HELP,
        admin.ADD,
        admin.RENAME,
        admin.DESCRIPTION,
        admin.ABOUT,
        admin.DELETE_COMMAND,
        widget.COMMAND,
    ),
    (linking.LINK, linking.UNLINK, bindings.BIND_COMMAND),
)


def parse(text: str) -> tuple[str, list[str]]:
    """'/attente@MyBot 12' -> ('attente', ['12'])."""
    words = (text or "").strip().split()
    if not words:
        return "", []
    name = words[0].lstrip("/").split("@", 1)[0].lower()
    return name, words[1:]


def find(name: str) -> Command | None:
    """The command a typed word names, if any."""
    return REGISTRY.get(name.lower())


def is_private(name: str) -> bool:
    """Whether the reply to this word is only for the person who typed it."""
    command = find(name)
    return command is not None and command.private


@use_case
def run_command(ctx: Context, actor: Actor, name: str, args: list[str]) -> Reply:
    command = find(name)
    if command is None or command.run is None:
        return Reply(t(actor.language, "error.unknown_command", command=clip(name)), ok=False)
    if command.pick is None:
        return command.run(ctx, actor, None, args)
    if args and args[0].isascii() and args[0].isdigit():
        if not is_id(args[0]):
            return Reply(t(actor.language, "error.unknown_community", id=args[0]), ok=False)
        return command.run(ctx, actor, int(args[0]), args[1:])
    with transaction(ctx) as session:
        rows = administered_names(session, actor)
    if not rows:
        return Reply(t(actor.language, "communities.none"), ok=False)
    if len(rows) == 1:
        return command.run(ctx, actor, rows[0][0], args)
    return Reply(
        t(actor.language, "communities.pick"),
        tuple((command.pick.button(escape(name), id_),) for id_, name in rows[:50]),
    )


def command_menu(language: str) -> list[tuple[str, str]]:
    """(command, description) pairs, for setMyCommands and help screens."""
    return [
        (c.name if language == "fr" else c.english, t(language, f"commands.{c.name}"))
        for c in REGISTRY
        if c.listed
    ]
