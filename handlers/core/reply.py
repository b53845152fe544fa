"""The values a use case hands back to a front: plain data, rendered by each adapter.

Text uses a tiny markup every front can render (`handlers.core.markup`): `**bold**`, lines separated
by newlines; data in it is escaped (`i18n.t` does it), so it never forms a marker. A button
carries an action id and an opaque reference; the handler behind the action
re-validates both on every press.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ButtonStyle = Literal["primary", "danger"] | None


@dataclass(frozen=True)
class InputRequest:
    """A button that needs text from the user before it runs (a reason, a list of domains)."""

    prompt: str
    optional: bool = False
    kind: Literal["text", "file"] = "text"


@dataclass(frozen=True)
class Button:
    label: str
    action: str
    ref: str = ""
    style: ButtonStyle = None
    input: InputRequest | None = None


@dataclass(frozen=True)
class Image:
    png: bytes
    caption: str
    alt: str
    filename: str = "chart.png"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    images: tuple[Image, ...] = ()
    #: False when the request was refused or failed; nothing changed in the database then.
    ok: bool = True
    #: Set when the reply replaces the message that held the pressed button (outcome shown).
    replaces_message: bool = False
    files: tuple[tuple[str, bytes], ...] = field(default=())
    #: The text this reply asks for can be typed right away: the person's next message in this
    #: chat answers this button (one asking for text) as if they had pressed it and typed it.
    #: The chat fronts park it like a press (handlers.chat.pending_input); the console reads the
    #: next line. The button should stay among `buttons` for fronts that cannot listen.
    awaits: Button | None = None

    @property
    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]
