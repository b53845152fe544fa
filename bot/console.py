"""The terminal front: the same use cases, buttons shown as numbered choices.

It is how a newcomer tries the bot without any token, and how an operator checks a community
from a shell. Like the other adapters it only translates: text in, Reply out.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from handlers.chat import actions, commands
from handlers.chat.identity import actor_for_email, actor_for_user
from handlers.core.actions import Press
from handlers.core.context import Actor, Context
from handlers.core.i18n import number, t
from handlers.core.markup import escape, spans
from handlers.core.present import short_name
from handlers.core.reply import Button, Reply
from handlers.core.uow import transaction
from storage import queries

QUIT_WORDS = {"quitter", "quit", "exit", "q"}
MAX_FILE_READ = 64 * 1024 * 1024
#: Control characters (but line breaks and tabs) would drive the terminal (an escape sequence
#: in a name could clear the screen or rewrite what shows): each is shown as its symbol.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def terminal(text: str, ansi: bool = False) -> str:
    """The handlers' neutral markup for a terminal: bold in ANSI (or nothing), every piece of
    text, data included, shown as written and never read as an escape sequence."""
    return "".join(
        f"\033[1m{CONTROL.sub(_shown, piece)}\033[0m"
        if bold and ansi
        else CONTROL.sub(_shown, piece)
        for piece, bold in spans(text)
    )


def render(reply: Reply, buttons: list[Button], ansi: bool) -> str:
    """The reply's text with **bold** rendered, then its buttons numbered from 1."""
    lines = [terminal(reply.text, ansi)]
    if reply.buttons:
        number = 1
        for row in reply.buttons:
            cells = []
            for button in row:
                cells.append(f"[{number}] {terminal(button.label)}")
                number += 1
            lines.append("   ".join(cells))
    return "\n".join(lines)


class Console:
    def __init__(
        self,
        ctx: Context,
        user_id: int,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        output_dir: Path | None = None,
    ) -> None:
        self.ctx = ctx
        #: Where chart images and CSV files of replies are saved (default: the current folder).
        self.output_dir = output_dir
        self.user_id = user_id
        self.stdin = stdin
        self.stdout = stdout
        self.ansi = stdout.isatty()
        self.buttons: list[Button] = []
        #: The button the next line answers (`Reply.awaits`: "type the exact name"...).
        self.awaiting: Button | None = None

    def actor(self) -> Actor:
        """Re-read on every input, so rights and language are always current."""
        actor = actor_for_user(self.ctx, self.user_id, "console")
        if actor is None:
            raise SystemExit("this user no longer exists")
        return actor

    def say(self, text: str) -> None:
        """A text in the neutral markup (a catalog message, data escaped), as the terminal shows
        it."""
        self.print(terminal(text, self.ansi))

    def print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def ask(self, prompt: str) -> str | None:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return None
        return line.rstrip("\r\n")

    def show(self, reply: Reply) -> None:
        if reply.buttons:
            self.buttons = reply.all_buttons
        self.awaiting = reply.awaits if reply.ok else None
        self.print(render(reply, self.buttons, self.ansi))
        for name, content, caption in [(i.filename, i.png, i.caption) for i in reply.images] + [
            (name, content, "") for name, content in reply.files
        ]:
            path = (self.output_dir or Path.cwd()) / Path(name).name
            path.write_bytes(content)
            where = escape(str(path))  # data, shown as written
            self.say(f"🖼 {where} — {caption}" if caption else f"📄 {where}")
        self.print("")

    def loop(self) -> None:
        actor = self.actor()
        with transaction(self.ctx) as session:
            from storage.models import User

            email = session.get_one(User, self.user_id).email
        self.say(t(actor.language, "console.welcome", name=actor.name, email=email))
        self.show(commands.run_command(self.ctx, actor, "communautes", []))
        while True:
            actor = self.actor()
            line = self.ask(t(actor.language, "console.prompt"))
            if line is None or line.strip().lower() in QUIT_WORDS:
                self.say(t(actor.language, "console.bye"))
                return
            line = line.strip()
            if not line:
                continue
            reply = self.handle(actor, line)
            if reply is not None:
                self.show(reply)

    def handle(self, actor: Actor, line: str) -> Reply | None:
        awaiting, self.awaiting = self.awaiting, None  # answered once, like a parked press
        if awaiting is not None and not (line.isdigit() and 0 < int(line) <= len(self.buttons)):
            # The reply asked for text: this line is it (a shown button's number still
            # presses that button, the cancel one included).
            return actions.press(self.ctx, actor, Press(awaiting.action, awaiting.ref, text=line))
        if line.isdigit():
            index = int(line) - 1
            if not 0 <= index < len(self.buttons):
                self.say(bad_choice(actor.language, len(self.buttons)))
                return None
            return self.press(actor, self.buttons[index])
        name, args = commands.parse(line)
        return commands.run_command(self.ctx, actor, name, args)

    def press(self, actor: Actor, button: Button) -> Reply | None:
        press = Press(button.action, button.ref)
        if button.input is not None:
            if button.input.kind == "file":
                loaded = self.read_file(actor, button.input.prompt)
                if loaded is None:
                    return None
                press = Press(button.action, button.ref, file_name=loaded[0],
                              file_content=loaded[1])  # fmt: skip
            else:
                text = self.ask(button.input.prompt + " ")
                if text is None:
                    return None
                if not text.strip() and not button.input.optional:
                    return Reply(t(actor.language, "common.cancelled"))
                press = Press(button.action, button.ref, text=text)
        return actions.press(self.ctx, actor, press)

    def read_file(self, actor: Actor, prompt: str) -> tuple[str, bytes] | None:
        self.say(prompt)
        raw = self.ask(t(actor.language, "console.file_path"))
        if raw is None or not raw.strip():
            return None
        path = Path(raw.strip().strip("'\"")).expanduser()
        try:
            with path.open("rb") as handle:
                content = handle.read(MAX_FILE_READ + 1)
        except OSError:
            self.say(t(actor.language, "console.file_unreadable", path=path))
            return None
        return path.name, content


def _rendering(say: Callable[[str], None]) -> Callable[[str], None]:
    """`say` for texts in the neutral markup (rendering twice changes nothing)."""
    return lambda text: say(terminal(text))


def pick_user(
    ctx: Context, email: str | None, ask: Callable[[str], str | None], say: Callable[[str], None]
) -> int | None:
    """The user to act as: `--as EMAIL`, else a choice among the people who administer."""
    language = ctx.settings.default_language
    say = _rendering(say)
    if email:
        actor = actor_for_email(ctx, email, "console")
        if actor is None:
            say(t(language, "console.unknown_user", email=email))
            return None
        return actor.user_id
    candidates = administrators(ctx)
    say(t(language, "console.choose_user"))
    for index, (_, label) in enumerate(candidates, start=1):
        say(f"[{index}] {label}")
    while True:
        answer = ask("> ")
        if answer is None:
            return None
        answer = answer.strip()
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return candidates[int(answer) - 1][0]
        if "@" in answer:
            return pick_user(ctx, answer, ask, say)
        say(bad_choice(language, len(candidates)))


def bad_choice(language: str, choices: int) -> str:
    """What a number outside the numbered choices (or a stray word) gets: the valid range."""
    if choices == 0:
        return t(language, "console.no_choice")
    return t(language, "console.bad_choice", count=choices)


def administrators(ctx: Context, limit: int = 12) -> list[tuple[int, str]]:
    """People who administer a community, those with the most pending requests first."""
    language = ctx.settings.default_language
    with transaction(ctx) as session:
        return [
            (
                user.id,
                t(
                    language,
                    "console.user_line",
                    name=short_name(user),
                    email=user.email,
                    communities=", ".join(names),
                    pending=number(language, pending),
                ),
            )  # fmt: skip
            for user, names, pending in queries.administrators_overview(session, limit)
        ]
