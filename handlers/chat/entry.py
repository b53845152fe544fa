"""The chat fronts' common entry (Telegram, Slack): who is writing, linking, then the use cases.

An unlinked chat identity gets only the way to link itself; everything else needs a linked
platform user, whose rights each use case checks again.
"""

from __future__ import annotations

from handlers.chat import actions, bindings, commands
from handlers.chat.identity import actor_for_account
from handlers.chat.linking import (
    LINK,
    UNLINK,
    ChatAccount,
    linked_user_id,
    looks_like_code,
    redeem_link_code,
    unlink,
)
from handlers.core import limits
from handlers.core.actions import Press, is_id
from handlers.core.context import Actor, Context
from handlers.core.i18n import normalize_language, number, t
from handlers.core.reply import Reply
from handlers.core.uow import is_database_outage, outage_reply


def who(ctx: Context, account: ChatAccount) -> Actor | None:
    return actor_for_account(ctx, account)


def not_allowed(ctx: Context, account: ChatAccount, language: str) -> Reply:
    """Why someone with no actor may do nothing: not linked, or their platform account is
    disabled (linked, but the platform no longer lets them act)."""
    linked = linked_user_id(ctx, account) is not None
    return Reply(t(language, "error.account_disabled" if linked else "error.not_linked"), ok=False)


def on_command(
    ctx: Context,
    account: ChatAccount,
    place: bindings.ChatPlace,
    name: str,
    args: list[str],
    language_hint: str | None = None,
    actor: Actor | None = None,
) -> Reply:
    """A command typed in a chat. `language_hint` is the chat client's language, used until
    the person is linked and has a language of their own; `actor`: who(ctx, account), when
    the caller has just resolved it."""
    name = name.lower()
    fallback = normalize_language(language_hint or ctx.settings.default_language)
    typed = len(name) + sum(len(arg) + 1 for arg in args)
    if typed > limits.MESSAGE:  # before anything, even who is writing
        return Reply(t(fallback, "error.too_long", length=number(fallback, typed),
                       limit=number(fallback, limits.MESSAGE)), ok=False)  # fmt: skip
    command = commands.find(name)
    if command is LINK and args and looks_like_code(args[0]):
        return redeem_link_code(ctx, account, args[0], fallback)
    actor = actor or who(ctx, account)
    if actor is None:
        if command is None and not args and not place.is_group and looks_like_code(name):
            # "...then send it to the bot" (error.not_linked): the code alone links too.
            return redeem_link_code(ctx, account, name, fallback)
        if command is UNLINK and not place.is_group and linked_user_id(ctx, account):
            return unlink(ctx, account, fallback)  # a disabled account may still unlink
        return not_allowed(ctx, account, fallback)
    if command is UNLINK:
        # In a group, the counterpart of /lier: the group stops receiving the requests of the
        # communities the person administers. In a private chat, the person unlinks.
        if place.is_group:
            return bindings.unbind(ctx, actor, place)
        return unlink(ctx, account, actor.language)
    if command is bindings.BIND_COMMAND:
        if args and is_id(args[0]):
            return bindings.bind(ctx, actor, place, int(args[0]))
        return bindings.bind_menu(ctx, actor, place)
    return commands.run_command(ctx, actor, name, args)  # `relier` without a code: the help


def on_press(
    ctx: Context,
    account: ChatAccount,
    place: bindings.ChatPlace,
    press: Press,
    language_hint: str | None = None,
    actor: Actor | None = None,
) -> Reply:
    """A button press; `actor`: who(ctx, account), when the caller has just resolved it."""
    actor = actor or who(ctx, account)
    if actor is None:
        fallback = normalize_language(language_hint or ctx.settings.default_language)
        return not_allowed(ctx, account, fallback)
    return actions.press(ctx, actor, press, place)


def failure_reply(error: BaseException, language_hint: str | None, ctx: Context) -> Reply:
    """What a front shows when a call into the handlers raised instead of replying (the
    database went away before a use case could say so itself): a clear message in the chat
    client's language, since the person's own cannot be read."""
    language = normalize_language(language_hint or ctx.settings.default_language)
    if is_database_outage(error):
        return outage_reply(language)
    return Reply(t(language, "faults.failed"), ok=False)
