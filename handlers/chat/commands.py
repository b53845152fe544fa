"""Typed commands, the same words on every front: `attente 12`, `membres 12 refusés`...

A command that needs a community takes its id; without one it is implied when the user
administers exactly one community, otherwise the reply is a keyboard to pick it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handlers.chat import preferences
from handlers.chat.actions import is_id
from handlers.community import admin as community_admin
from handlers.community import communities, history, members, pending, widget
from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.markup import escape
from handlers.core.present import clip
from handlers.core.reply import Button, InputRequest, Reply
from handlers.core.rights import administered_names
from handlers.core.uow import transaction, use_case
from handlers.dashboard import charts


@dataclass(frozen=True)
class Command:
    name: str  # the French name, canonical
    english: str
    #: For commands about one community: the button action that opens it for a community id.
    pick_action: str | None
    run: Callable[[Context, Actor, int | None, list[str]], Reply]


def _members(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    code = "a"
    words = list(args)
    if words and words[0].lower() in members.FILTER_WORDS:
        code = members.FILTER_WORDS[words.pop(0).lower()]
    search = " ".join(words) or None
    return members.list_members(ctx, actor, community_id, code, 0, search)


def _chart(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    """`graphique [n°]`: the dashboard's menu (handlers/dashboard/charts.py)."""
    if args and args[0].isascii() and args[0].isdigit():
        if not is_id(args[0]):
            return Reply(t(actor.language, "error.unknown_community", id=args[0]), ok=False)
        return charts.open_charts(ctx, actor, int(args[0]))
    return charts.open_charts(ctx, actor)


def _language(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    if args:
        return preferences.set_language(ctx, actor, args[0])
    return preferences.language_menu(ctx, actor)


def _help(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    return Reply(t(actor.language, "help.text") + "\n" + t(actor.language, "admin.help"))


def _text_command(action: str, prompt_key: str, run: Callable[..., Reply]):
    """A command taking free text (`renommer 12 Nouveau nom`); without text, a button asks."""

    def command(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
        if args:
            return run(ctx, actor, community_id, " ".join(args))
        prompt = t(actor.language, prompt_key)
        return Reply(
            prompt, ((Button(prompt, action, str(community_id), input=InputRequest(prompt)),),)
        )

    return command


def _edit(column: str):
    return lambda ctx, actor, cid, text: community_admin.edit_details(ctx, actor, cid, column, text)


def _delete(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    if args:  # the exact name typed after the command
        return community_admin.delete_community(ctx, actor, community_id, " ".join(args))
    return community_admin.ask_delete(ctx, actor, community_id)


COMMANDS: tuple[Command, ...] = (
    Command("communautes", "communities", None,
            lambda ctx, actor, cid, args: communities.my_communities(ctx, actor)),
    Command("attente", "pending", "pending",
            lambda ctx, actor, cid, args: pending.list_pending(ctx, actor, cid)),
    Command("membres", "members", "members", _members),
    Command("parametres", "settings", "card",
            lambda ctx, actor, cid, args: communities.community_card(ctx, actor, cid)),
    Command("historique", "history", "history",
            lambda ctx, actor, cid, args: history.history(ctx, actor, cid)),
    Command("graphique", "chart", None, _chart),
    Command("langue", "language", None, _language),
    Command("notifications", "push", None,
            lambda ctx, actor, cid, args: preferences.set_push(ctx, actor, args)),
    Command("silence", "quiet", None,
            lambda ctx, actor, cid, args: preferences.set_quiet_hours(ctx, actor, args)),
    Command("aide", "help", None, _help),
    Command("ajouter", "add", "card",
            _text_command("add_member", "admin.add_prompt", community_admin.find_member_to_add)),
    Command("renommer", "rename", "card",
            _text_command("edit_name", "admin.name_prompt", _edit("name"))),
    Command("description", "description", "card",
            _text_command("edit_description", "admin.description_prompt", _edit("description"))),
    Command("presentation", "about", "card",
            _text_command("edit_full_description", "admin.full_description_prompt",
                          _edit("full_description"))),
    Command("supprimer", "delete", "delete_ask", _delete),
    Command("widget", "widget", "widget",
            lambda ctx, actor, cid, args: widget.widget(ctx, actor, cid)),
)  # fmt: skip

ALIASES: dict[str, Command] = {}
for _command in COMMANDS:
    ALIASES[_command.name] = _command
    ALIASES[_command.english] = _command
ALIASES.update({"paramètres": ALIASES["parametres"], "communautés": ALIASES["communautes"],
                "start": ALIASES["aide"], "présentation": ALIASES["presentation"]})  # fmt: skip


def parse(text: str) -> tuple[str, list[str]]:
    """'/attente@MyBot 12' -> ('attente', ['12'])."""
    words = (text or "").strip().split()
    if not words:
        return "", []
    name = words[0].lstrip("/").split("@", 1)[0].lower()
    return name, words[1:]


@use_case
def run_command(ctx: Context, actor: Actor, name: str, args: list[str]) -> Reply:
    command = ALIASES.get(name.lower())
    if command is None:
        return Reply(t(actor.language, "error.unknown_command", command=clip(name)), ok=False)
    if command.pick_action is None:
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
    ref = (lambda cid: f"{cid}:a:0") if command.pick_action == "members" else str
    return Reply(
        t(actor.language, "communities.pick"),
        tuple((Button(escape(name), command.pick_action, ref(id_)),) for id_, name in rows[:50]),
    )


def command_menu(language: str) -> list[tuple[str, str]]:
    """(command, description) pairs, for setMyCommands and help screens."""
    return [
        (c.name if language == "fr" else c.english, t(language, f"commands.{c.name}"))
        for c in COMMANDS
    ]
