"""Per-user preferences kept by the bot: language, push on or off, quiet hours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from handlers.core import limits
from handlers.core.actions import Action, Command, Word
from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import LANGUAGES, t
from handlers.core.reply import Reply
from handlers.core.uow import transaction, use_case
from storage.bot_models import Preference
from storage.clock import now


@use_case
def language_menu(ctx: Context, actor: Actor) -> Reply:
    return Reply(
        t(actor.language, "language.menu"),
        (tuple(LANGUAGE.button(t(code, "language.name"), code) for code in LANGUAGES),),
    )


@use_case
def set_language(ctx: Context, actor: Actor, language: str) -> Reply:
    code = (language or "").strip().lower()
    if code not in LANGUAGES:
        raise Refusal("language.unknown", languages=", ".join(LANGUAGES))
    with transaction(ctx, write=True) as session:
        preference = session.get(Preference, actor.user_id)
        if preference is None:
            session.add(Preference(user_id=actor.user_id, language=code, push_enabled=True,
                                   updated_at=now()))  # fmt: skip
        else:
            preference.language = code
            preference.updated_at = now()
    actor = dataclasses.replace(actor, language=code)
    return Reply(t(code, "language.changed"), replaces_message=True)


QUIET = re.compile(r"^(\d{1,2})(?:[:h](\d{2})?)?\s*-\s*(\d{1,2})(?:[:h](\d{2})?)?$")
OFF_WORDS = {"off", "non", "no", "aucun", "none", "0"}
ON_WORDS = {"on", "oui", "yes", "1"}


def _preference(session, user_id: int) -> Preference:
    preference = session.get(Preference, user_id)
    if preference is None:
        preference = Preference(user_id=user_id, push_enabled=True)
        session.add(preference)
    preference.updated_at = now()
    return preference


@use_case
def set_push(ctx: Context, actor: Actor, words: list[str]) -> Reply:
    """`notifications on|off`: whether new requests are pushed to this person's chats."""
    word = (words[0] if words else "").strip().lower()
    if word not in ON_WORDS | OFF_WORDS:
        with transaction(ctx) as session:
            current = session.get(Preference, actor.user_id)
        state = "on" if current is None or current.push_enabled else "off"
        return Reply(
            t(actor.language, f"push.state_{state}") + "\n" + t(actor.language, "push.usage")
        )
    with transaction(ctx, write=True) as session:
        _preference(session, actor.user_id).push_enabled = word in ON_WORDS
    return Reply(t(actor.language, "push.on" if word in ON_WORDS else "push.off"))


@use_case
def set_quiet_hours(ctx: Context, actor: Actor, words: list[str]) -> Reply:
    """`silence 22:00-07:00` (or `silence off`): pushes in that window wait for its end."""
    text = " ".join(words).strip()
    limits.check(text, limits.QUIET_HOURS)
    text = text.lower()
    if text in OFF_WORDS:
        start = end = None
    else:
        match = QUIET.match(text)
        if not match:
            raise Refusal("quiet.usage")
        try:
            start = dt.time(int(match[1]), int(match[2] or 0))
            end = dt.time(int(match[3]), int(match[4] or 0))
        except ValueError as error:
            raise Refusal("quiet.usage") from error
        if start == end:
            raise Refusal("quiet.usage")
    with transaction(ctx, write=True) as session:
        preference = _preference(session, actor.user_id)
        preference.quiet_start, preference.quiet_end = start, end
    if start is None or end is None:
        return Reply(t(actor.language, "quiet.off"))
    return Reply(
        t(actor.language, "quiet.set", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))
    )


def _language(ctx: Context, actor: Actor, community_id: int | None, args: list[str]) -> Reply:
    if args:
        return set_language(ctx, actor, args[0])
    return language_menu(ctx, actor)


LANGUAGE = Action("language", Word(), set_language)
ACTIONS = (LANGUAGE,)

LANGUAGE_COMMAND = Command("langue", "language", _language)
PUSH = Command("notifications", "push", lambda ctx, actor, cid, args: set_push(ctx, actor, args))
QUIET_HOURS = Command(
    "silence", "quiet", lambda ctx, actor, cid, args: set_quiet_hours(ctx, actor, args)
)
