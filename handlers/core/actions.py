"""Buttons and typed commands as declarations: each action and command is declared once, next
to its use case, and the chat layer assembles a Registry from those declarations.

An action names its reference format, which both builds the reference a button carries and
parses it back strictly: a reference is only ever a pointer (every use case re-checks rights
and state), and a malformed one raises BadRef, so that the press changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.reply import Button, ButtonStyle, InputRequest, Reply

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


# --- Reference formats --------------------------------------------------------------------------


class RefFormat(Protocol):
    """Builds a button's reference from values, and parses it back into the use case's
    arguments (raising BadRef)."""

    def build(self, *args: Any) -> str: ...

    def parse(self, ref: str) -> tuple[Any, ...]: ...


@dataclass(frozen=True)
class Ids:
    """'12' or '12:34': `count` ids, or up to `most` (the last ones optional, e.g. a page)."""

    count: int
    most: int | None = None

    def build(self, *ids: int) -> str:
        if not self.count <= len(ids) <= (self.most or self.count):
            raise ValueError(f"{len(ids)} ids for {self}")
        return ":".join(str(int(i)) for i in ids)

    def parse(self, ref: str) -> tuple[Any, ...]:
        parts = ref.split(":") if ref else []
        if not self.count <= len(parts) <= (self.most or self.count):
            raise BadRef(ref)
        if not all(is_id(p) for p in parts):
            raise BadRef(ref)
        return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class IdAndFlag(Ids):
    """'12:1': an id and a value to set (0 or 1), never a toggle."""

    count: int = 2

    def build(self, *args: Any) -> str:
        identifier, flag = args
        return super().build(identifier, int(bool(flag)))

    def parse(self, ref: str) -> tuple[Any, ...]:
        identifier, value = super().parse(ref)
        if value not in (0, 1):
            raise BadRef(ref)
        return identifier, bool(value)


@dataclass(frozen=True)
class Word:
    """The reference as it is (a language code, a chart scope), checked by `check` if given
    (a ValueError from it is a bad reference)."""

    check: Callable[[str], object] | None = None

    def build(self, *args: Any) -> str:
        (word,) = args
        return str(word)

    def parse(self, ref: str) -> tuple[Any, ...]:
        if self.check is not None:
            try:
                self.check(ref)
            except ValueError as error:
                raise BadRef(ref) from error
        return (ref,)


@dataclass(frozen=True)
class NoRef:
    """No reference: whatever a press carries is ignored."""

    def build(self, *args: Any) -> str:
        assert not args
        return ""

    def parse(self, ref: str) -> tuple[Any, ...]:
        return ()


@dataclass(frozen=True)
class Codec:
    """A reference that is one value of `kind`: built with `kind(*args).ref()`, parsed with
    `kind.from_ref(ref)`, which raises ValueError (e.g. ChartRequest, members.MembersRef)."""

    kind: Any

    def build(self, *args: Any) -> str:
        if len(args) == 1 and isinstance(args[0], self.kind):
            return str(args[0].ref())
        return str(self.kind(*args).ref())

    def parse(self, ref: str) -> tuple[Any, ...]:
        try:
            return (self.kind.from_ref(ref),)
        except ValueError as error:
            raise BadRef(ref) from error


@dataclass(frozen=True)
class Parsed:
    """A reference written by `encode(*args)` and read by `decode(ref)` into arguments."""

    encode: Callable[..., str]
    decode: Callable[[str], tuple[Any, ...]]

    def build(self, *args: Any) -> str:
        return self.encode(*args)

    def parse(self, ref: str) -> tuple[Any, ...]:
        try:
            return tuple(self.decode(ref))
        except ValueError as error:
            raise BadRef(ref) from error


# --- Declarations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button's action: its name (in the callback data), its reference format and the use
    case a press runs, as `run(ctx, actor, [place,] *ref_args, [text | file_name, content])`."""

    name: str
    ref: RefFormat
    run: Callable[..., Reply]
    #: What the press brings besides its reference: the text typed, or a file (name, content).
    takes: Literal["text", "file"] | None = None
    #: The input a front asks for before the press (Telegram parks it, Slack opens a modal),
    #: in a language. Other buttons with an InputRequest are marked by the Telegram front.
    input: Callable[[str], InputRequest] | None = None
    #: The input is a free reason (Slack: a multi-line box).
    reason: bool = False
    #: Longest answer accepted for a parked press, checked before it is consumed
    #: (handlers/core/limits.py); None: any message.
    limit: int | None = None
    #: Buttons of one group read better as one select menu (Slack): its placeholder's key.
    select: str | None = None
    #: The use case needs the chat place (binding a group): only the chat entry runs it.
    place: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name,)

    def button(
        self,
        label: str,
        *args: Any,
        style: ButtonStyle = None,
        input: InputRequest | None = None,
    ) -> Button:
        """A button pressing this action, its reference built from `args`."""
        return Button(label, self.name, self.ref.build(*args), style, input)

    def arguments(self, press: Press) -> tuple[Any, ...]:
        """The use case's arguments after ctx and actor (and place); BadRef if malformed."""
        args = self.ref.parse(press.ref)
        if self.takes == "text":
            return (*args, press.text)
        if self.takes == "file":
            return (*args, press.file_name, press.file_content)
        return args


def _cancel(ctx: Context, actor: Actor) -> Reply:
    return Reply(t(actor.language, "common.cancelled"), replaces_message=True)


#: The cancel button of a confirmation: nothing happens, the question goes.
CANCEL = Action("cancel", NoRef(), _cancel)

#: `run(ctx, actor, community_id, words)`: the community id is an int for a command with `pick`
#: (the command's own id, or the only community the actor administers, or the one picked) and
#: None for the others; typed Any because one field holds both kinds.
CommandRun = Callable[[Context, Actor, Any, list[str]], Reply]


@dataclass(frozen=True)
class Command:
    """A typed command, the same words on every front (`attente 12`)."""

    name: str  # the French name, canonical
    english: str
    #: None: the chat entry runs it itself (it needs the chat account or place).
    run: CommandRun | None
    #: For commands about one community: the action that opens it for a community id.
    pick: Action | None = None
    aliases: tuple[str, ...] = ()
    #: The reply is only for the person who typed it, even when it succeeded (Slack).
    private: bool = False
    #: Shown in the command menu (setMyCommands, help screens).
    listed: bool = True

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.name, self.english, *self.aliases)))


class Declared(Protocol):
    @property
    def words(self) -> tuple[str, ...]: ...


D = TypeVar("D", bound=Declared)


class Registry(Generic[D]):
    """Declarations by every word they answer to; a word declared twice is refused."""

    def __init__(self, *groups: Iterable[D]) -> None:
        self._items: list[D] = []
        self._by_word: dict[str, D] = {}
        for group in groups:
            for item in group:
                for word in item.words:
                    if word in self._by_word:
                        raise ValueError(f"{word!r} is declared twice")
                    self._by_word[word] = item
                self._items.append(item)

    def get(self, word: str) -> D | None:
        return self._by_word.get(word)

    def __getitem__(self, word: str) -> D:
        return self._by_word[word]

    def __contains__(self, word: object) -> bool:
        return word in self._by_word

    def __iter__(self) -> Iterator[D]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def words(self) -> list[str]:
        return list(self._by_word)
