"""Buttons that need text or a file, for fronts that cannot ask inline (Telegram).

A front sees only a button's action and reference. When that action needs input (a refusal
reason, domains, a member search, an identifiers file), the press is parked in
`bot_pending_input` and the front asks for it; the same person's next message in that chat
completes the press. A reply whose text asks for an answer (`Reply.awaits`) has its button's
press parked the same way, so typing the answer right away works (`listening`).
Which actions need input, and how they ask, is what each action declares
(handlers.core.actions.Action.input, the same InputRequest its use case renders), so a front
never hard-codes a prompt.
Kept in the database so that any replica (webhook mode) can receive the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select

from handlers.chat import actions
from handlers.chat import entry as chat
from handlers.chat.bindings import ChatPlace
from handlers.chat.identity import ACTOR_OF_ACCOUNT, actor_of_row
from handlers.chat.linking import ChatAccount
from handlers.community import settings
from handlers.core import limits
from handlers.core.actions import MAX_CALLBACK_BYTES, Press
from handlers.core.context import Actor, Context
from handlers.core.i18n import normalize_language, number, t
from handlers.core.markup import escape
from handlers.core.reply import Button, InputRequest, Reply
from handlers.core.rights import administered_names
from handlers.core.uow import storable, transaction
from storage.bot_models import PendingInput
from storage.clock import now

#: How long the bot waits for the answer before the press is forgotten.
LIFETIME = dt.timedelta(minutes=10)
SKIP = "input_skip"
CANCEL = "input_cancel"


def asks(action: str) -> Callable[[str], InputRequest] | None:
    """What a press of this action asks for before it runs, as declared with the action (the
    use cases render the same); None for the others. Any other button with an InputRequest is
    marked in its callback data (`button_data`)."""
    declared = actions.REGISTRY.get(action)
    return declared.input if declared is not None else None


#: Marked actions: MARK + kind code + action, for input buttons whose action declares none.
MARK = "~"
KINDS: dict[str, tuple[str, bool]] = {
    "t": ("text", False),
    "o": ("text", True),
    "f": ("file", False),
}


def button_data(button: Button) -> tuple[str, str]:
    """The (action, ref) a front puts in a button's callback data. A button asking for input
    whose action declares no input is marked with its kind, so that its press still asks."""
    if button.input is None or asks(button.action) is not None:
        return button.action, button.ref
    input_ = button.input
    code = "f" if input_.kind == "file" else ("o" if input_.optional else "t")
    return f"{MARK}{code}{button.action}", button.ref


def resolve(action: str, lang: str, label: str | None = None) -> tuple[str, InputRequest] | None:
    """The real action and what it asks for; None when the action needs no input."""
    if action.startswith(MARK):
        real = action[2:]
        if len(action) < 3 or action[1] not in KINDS or real not in actions.REGISTRY:
            return None
        kind, optional = KINDS[action[1]]
        prompt = t(lang, "input.generic", label=(label or "").strip() or "…")
        return real, InputRequest(prompt, optional=optional, kind=kind)  # type: ignore[arg-type]
    factory = asks(action)
    return (action, factory(lang)) if factory is not None else None


@dataclass(frozen=True)
class Answer:
    """What the front shows after a press or a message."""

    reply: Reply
    #: Set when `reply` asks the person for text or a file (Telegram: a ForceReply prompt).
    awaiting: InputRequest | None = None
    #: The front's reference of the message holding the button that started the exchange:
    #: a reply with `replaces_message` edits that message, not the prompt.
    origin: str | None = None


@dataclass(frozen=True)
class FileTarget:
    """Where a document goes, decided before the front downloads it."""

    press: Press | None = None
    reply: Reply | None = None
    origin: str | None = None


def _lang(ctx: Context, account: ChatAccount, hint: str | None) -> str:
    actor = chat.who(ctx, account)
    if actor is not None:
        return actor.language
    return normalize_language(hint or ctx.settings.default_language)


def _where(account: ChatAccount, place: ChatPlace):
    return (
        PendingInput.platform == account.platform,
        PendingInput.team_id == account.team_id,
        PendingInput.chat_id == place.chat_id,
        PendingInput.external_id == account.external_id,
    )


#: Built once: it runs before every command and press.
_WAITING = (
    select(PendingInput.id)
    .where(
        PendingInput.platform == bindparam("platform"),
        PendingInput.team_id == bindparam("team_id"),
        PendingInput.chat_id == bindparam("chat_id"),
        PendingInput.external_id == bindparam("external_id"),
    )
    .limit(1)
)


#: Who writes and whether a question waits for them, in one statement (a linked account).
_IDENTIFY = ACTOR_OF_ACCOUNT.add_columns(_WAITING.exists().label("waiting"))


def _identify(ctx: Context, account: ChatAccount, place: ChatPlace) -> tuple[Actor | None, bool]:
    """Who writes, and whether a question waits for their answer here: read only (most commands
    and presses have no question waiting, and need no write transaction)."""
    params = {
        "platform": account.platform,
        "team_id": account.team_id,
        "chat_id": place.chat_id,
        "external_id": account.external_id,
    }
    with ctx.sessions() as session:
        row = session.execute(_IDENTIFY, params).first()
        if row is None:  # not linked: only the question (left from a link since removed)
            return None, session.execute(_WAITING, params).first() is not None
        return actor_of_row(ctx, row, account.platform), bool(row.waiting)


def clear(ctx: Context, account: ChatAccount, place: ChatPlace) -> None:
    """Forget the question waiting for this person here."""
    with transaction(ctx, write=True) as session:
        session.execute(delete(PendingInput).where(*_where(account, place)))


def _take(ctx: Context, account: ChatAccount, place: ChatPlace) -> PendingInput | None:
    """The person's waiting press in this chat, removed (single use); None if none or expired."""
    with transaction(ctx, write=True) as session:
        row = session.scalars(select(PendingInput).where(*_where(account, place))).first()
        if row is None:
            return None
        session.delete(row)
        session.flush()
        session.expunge(row)
    return row if row.expires_at > now() else None


def _peek(ctx: Context, account: ChatAccount, place: ChatPlace) -> PendingInput | None:
    with ctx.sessions() as session:
        row = session.scalars(select(PendingInput).where(*_where(account, place))).first()
        if row is None or row.expires_at <= now():
            return None
        session.expunge(row)
        return row


def _park(
    ctx: Context, account: ChatAccount, place: ChatPlace, action: str, ref: str,
    origin: str | None,
) -> bool:  # fmt: skip
    """Wait for this person's next message here to complete a press of `action` (replacing any
    question waiting); False, and nothing parked, for a reference that cannot be stored."""
    if not storable(ref) or len(ref.encode()) > MAX_CALLBACK_BYTES or len(action) > 32:
        return False
    when = now()
    with transaction(ctx, write=True) as session:
        session.execute(delete(PendingInput).where(*_where(account, place)))
        session.add(
            PendingInput(
                platform=account.platform, team_id=account.team_id, chat_id=place.chat_id,
                external_id=account.external_id, action=action, ref=ref,
                prompt_ref=(origin or "")[:255] or None, created_at=when,
                expires_at=when + LIFETIME,
            )
        )  # fmt: skip
    return True


def listening(
    ctx: Context, account: ChatAccount, place: ChatPlace, reply: Reply, origin: str | None = None
) -> Answer:
    """A reply whose text asks for an answer (`Reply.awaits`): the press of that button is
    parked exactly as if it had been pressed (same person, chat, lifetime and limits; a command,
    another press or its cancel button abandons it), so the next message answers it. Only a
    reply that succeeded asks; the outcome of the answer is a new message (`origin` is None:
    the reply's own message is not known before it is sent)."""
    button = reply.awaits
    if button is None or not reply.ok:
        return Answer(reply, origin=origin)
    action, ref = button_data(button)
    resolved = resolve(action, "fr", button.label)
    if (
        resolved is None
        or resolved[1].kind != "text"
        or not _park(ctx, account, place, action, ref, None)
    ):
        return Answer(reply, origin=origin)
    return Answer(reply, awaiting=button.input or resolved[1], origin=origin)


def on_command(
    ctx: Context,
    account: ChatAccount,
    place: ChatPlace,
    name: str,
    args: list[str],
    language_hint: str | None = None,
) -> Answer:
    """A typed command abandons any question the bot was waiting an answer to; its reply may
    ask one of its own (`Reply.awaits`)."""
    actor, waiting = _identify(ctx, account, place)
    if waiting:
        clear(ctx, account, place)
    reply = chat.on_command(ctx, account, place, name, args, language_hint, actor)
    return listening(ctx, account, place, reply)


def on_press(
    ctx: Context,
    account: ChatAccount,
    place: ChatPlace,
    press: Press,
    language_hint: str | None = None,
    origin: str | None = None,
    label: str | None = None,
) -> Answer:
    """A button press: run it, or park it and ask for its input (`label`: the button's text,
    for the prompt of a marked action)."""
    if press.action in (SKIP, CANCEL):
        return _skip_or_cancel(ctx, account, place, press.action, language_hint)
    actor, waiting = _identify(ctx, account, place)
    resolved = resolve(press.action, actor.language if actor else "fr", label)
    if press.action.startswith(MARK) and resolved is None:
        lang = _lang(ctx, account, language_hint)
        return Answer(Reply(t(lang, "error.bad_button"), ok=False))
    if resolved is None or press.text is not None or press.file_content is not None:
        if waiting:
            clear(ctx, account, place)
        if resolved is not None:
            press = Press(resolved[0], press.ref, press.text, press.file_name,
                                  press.file_content)  # fmt: skip
        reply = chat.on_press(ctx, account, place, press, language_hint, actor)
        return listening(ctx, account, place, reply, origin)
    if actor is None:
        real = Press(resolved[0], press.ref)
        return Answer(chat.on_press(ctx, account, place, real, language_hint))
    if not _park(ctx, account, place, press.action, press.ref, origin):
        return Answer(Reply(t(actor.language, "error.bad_button"), ok=False))
    request = resolved[1]
    lang = actor.language
    row: list[Button] = []
    if request.optional:
        key = f"input.skip_{resolved[0]}"
        skip = t(lang, key)
        row.append(Button(t(lang, "input.skip") if skip == key else skip, SKIP))
    row.append(Button(t(lang, "common.cancel"), CANCEL))
    return Answer(Reply(request.prompt, (tuple(row),)), awaiting=request, origin=origin)


def _skip_or_cancel(
    ctx: Context, account: ChatAccount, place: ChatPlace, action: str, hint: str | None
) -> Answer:
    lang = _lang(ctx, account, hint)
    row = _take(ctx, account, place)
    if row is None:
        return Answer(Reply(t(lang, "input.expired"), ok=False))
    if action == CANCEL:
        return Answer(Reply(t(lang, "common.cancelled"), replaces_message=True))
    resolved = resolve(row.action, lang)
    if resolved is None or not resolved[1].optional:
        return Answer(Reply(t(lang, "error.bad_button"), ok=False))
    press = Press(resolved[0], row.ref, text="")
    reply = chat.on_press(ctx, account, place, press, hint)
    return listening(ctx, account, place, reply, row.prompt_ref)


def on_text(
    ctx: Context,
    account: ChatAccount,
    place: ChatPlace,
    text: str,
    language_hint: str | None = None,
) -> Answer | None:
    """A plain message: the answer the bot waits for, if any (None: nothing waits for it)."""
    waiting = _peek(ctx, account, place)
    if waiting is None:
        return None
    lang = _lang(ctx, account, language_hint)
    resolved = resolve(waiting.action, lang)
    if resolved is not None and resolved[1].kind == "file":
        request = resolved[1]
        return Answer(Reply(t(lang, "input.file_expected") + "\n" + request.prompt,
                            ok=False), awaiting=request)  # fmt: skip
    limit = answer_limit(resolved[0] if resolved else "")
    if len(text or "") > limit:  # refused before the question is consumed: answer again
        again = resolved[1] if resolved else None
        refusal = t(
            lang, "error.too_long", length=number(lang, len(text)), limit=number(lang, limit)
        )
        return Answer(Reply(refusal, ok=False), awaiting=again)
    row = _take(ctx, account, place)
    if row is None or resolved is None:
        return None
    press = Press(resolved[0], row.ref, text=text)
    reply = chat.on_press(ctx, account, place, press, language_hint)
    return listening(ctx, account, place, reply, row.prompt_ref)


def answer_limit(action: str) -> int:
    """The longest answer a parked press of this action accepts (handlers/core/limits.py)."""
    declared = actions.REGISTRY.get(action)
    if declared is None or declared.limit is None:
        return limits.MESSAGE
    return declared.limit


def file_target(
    ctx: Context,
    account: ChatAccount,
    place: ChatPlace,
    size: int | None,
    language_hint: str | None = None,
) -> FileTarget:
    """Where a document goes, before it is downloaded: the identifiers file the bot asked for;
    else, for someone who administers one community, that community's; else a question."""
    actor = chat.who(ctx, account)
    if actor is None:
        fallback = normalize_language(language_hint or ctx.settings.default_language)
        return FileTarget(reply=chat.not_allowed(ctx, account, fallback))
    lang = actor.language
    limit = ctx.settings.max_identifiers_file_bytes
    if size is not None and size > limit:
        return FileTarget(
            reply=Reply(
                t(lang, "validation.file_too_big", limit=number(lang, limit // 1024)), ok=False
            )
        )
    waiting = _peek(ctx, account, place)
    if waiting is not None:
        resolved = resolve(waiting.action, lang)
        if resolved is not None and resolved[1].kind == "file":
            row = _take(ctx, account, place)
            if row is not None:
                return FileTarget(press=Press(resolved[0], row.ref), origin=row.prompt_ref)
    if place.is_group:
        return FileTarget()  # a document shared in a group is not for the bot unless asked
    with transaction(ctx) as session:
        rows = administered_names(session, actor)
    if not rows:
        return FileTarget(reply=Reply(t(lang, "communities.none"), ok=False))
    if len(rows) == 1:
        return FileTarget(press=Press(settings.IDENTIFIERS.name, str(rows[0][0])))
    return FileTarget(
        reply=Reply(
            t(lang, "input.file_which_community"),
            tuple((settings.IDENTIFIERS.button(escape(name), id_),) for id_, name in rows[:50]),
            ok=False,
        )
    )


def on_file(
    ctx: Context,
    account: ChatAccount,
    place: ChatPlace,
    target: Press,
    file_name: str,
    content: bytes,
    language_hint: str | None = None,
) -> Reply:
    """The downloaded document, handed to the press `file_target` chose (rights re-checked)."""
    press = Press(target.action, target.ref, file_name=file_name, file_content=content)
    return chat.on_press(ctx, account, place, press, language_hint)
