"""Per-user preferences kept by the bot: the language of its messages."""

from __future__ import annotations

import dataclasses

from handlers.context import Actor, Context
from handlers.errors import Refusal
from handlers.i18n import LANGUAGES, t
from handlers.reply import Button, Reply
from handlers.uow import transaction, use_case
from storage.bot_models import Preference
from storage.clock import now


@use_case
def language_menu(ctx: Context, actor: Actor) -> Reply:
    return Reply(
        t(actor.language, "language.menu"),
        (tuple(Button(t(code, "language.name"), "language", code) for code in LANGUAGES),),
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
