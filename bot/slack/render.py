"""Reply -> Block Kit: plain data in, Slack JSON out; no rule about communities lives here.

Buttons carry `handlers.chat.actions.callback_data` as their value, so a press is re-validated
by the handler like any other. Some groups of buttons read better as one select menu (a member's
status, the validation type, as their actions declare): those are rendered as a static_select
whose options carry the same values.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.chat import pending_input
from handlers.chat.actions import REGISTRY, callback_data
from handlers.chat.home import Home
from handlers.core import markup
from handlers.core.i18n import t
from handlers.core.markup import spans
from handlers.core.reply import Button, Reply

#: Action ids of button presses and select choices; the rest of the id only keeps it unique.
BUTTON_PREFIX = "rb:"
SELECT_PREFIX = "rbs:"
SECTION_LIMIT = 3000
LABEL_LIMIT = 75
MAX_BLOCKS = 50
#: A Home tab view holds up to 100 blocks.
MAX_HOME_BLOCKS = 100
MAX_ELEMENTS = 25
MAX_OPTIONS = 100


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: Slack has no escape for its formatting characters; a date token with an invalid format
#: shows its fallback as plain text, so each of them is written as one (as jsx-slack does).
LITERAL = "<!date^00000000^{{_}}|{}>"
FORMATTING = re.compile(r"[*_~`]")
#: An emoji shortcode such as `:rocket:`: the catalogs write emoji as characters, so one in
#: the text is data, and its first colon is made literal.
SHORTCODE = re.compile(r":(?=[\w+-]+:)")
#: A quote at the start of a line; a soft hyphen (invisible) before it keeps it a character.
QUOTE = re.compile(r"^(?=&gt;)", re.M)


def literal(text: str) -> str:
    """Text shown exactly as written in mrkdwn: control characters escaped, and no formatting,
    mention, link, emoji shortcode or quote read in it."""
    text = FORMATTING.sub(lambda m: LITERAL.format(m.group()), escape(text))
    return SHORTCODE.sub(LITERAL.format(":"), text)


def mrkdwn(text: str) -> str:
    """The handlers' neutral markup (`handlers.core.markup`) as mrkdwn: bold pieces in `*…*`, all
    the text literal."""
    rendered = "".join(
        f"*{literal(piece)}*" if bold else literal(piece) for piece, bold in _bold_spans(text)
    )
    return QUOTE.sub("\u00ad", rendered)


def _bold_spans(text: str) -> list[tuple[str, bool]]:
    """Bold pieces cut at line breaks (Slack's `*…*` does not span lines)."""
    pieces: list[tuple[str, bool]] = []
    for piece, bold in spans(text):
        if not bold:
            pieces.append((piece, bold))
            continue
        for index, line in enumerate(piece.split("\n")):
            if index:
                pieces.append(("\n", False))
            if line:
                pieces.append((line, True))
    return pieces


def plain(text: str, limit: int = LABEL_LIMIT) -> dict[str, Any]:
    text = markup.plain(text)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def fallback_text(reply: Reply) -> str:
    """The notification text (`text` beside `blocks`): markup removed, user data escaped
    (Slack reads mentions and links in it: a member named `<!channel>` must not ping anyone)."""
    return escape(markup.plain(reply.text))[:SECTION_LIMIT]


def _cut(line: str) -> int:
    """Where to cut an over-long line: at the limit, but never inside an `<…>` token or an
    `&…;` entity (half of one would show as raw text)."""
    cut = SECTION_LIMIT
    for start, end in (("<", ">"), ("&", ";")):
        opened = line.rfind(start, 0, cut)
        if opened > 0 and end not in line[opened:cut]:
            cut = opened
    return cut


def sections(text: str) -> list[dict[str, Any]]:
    """Split on line boundaries so that no section exceeds Slack's 3000 characters."""
    blocks: list[str] = []
    chunk = ""
    for line in mrkdwn(text).split("\n"):
        while len(line) > SECTION_LIMIT:
            if chunk:
                blocks.append(chunk)
                chunk = ""
            cut = _cut(line)
            blocks.append(line[:cut])
            line = line[cut:]
        candidate = f"{chunk}\n{line}" if chunk else line
        if len(candidate) > SECTION_LIMIT:
            blocks.append(chunk)
            chunk = line
        else:
            chunk = candidate
    if chunk or not blocks:
        blocks.append(chunk or " ")
    return [{"type": "section", "text": {"type": "mrkdwn", "text": b}} for b in blocks]


def _button(button: Button, index: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(button.label),
        "action_id": f"{BUTTON_PREFIX}{index}",
        # An input button whose action declares none is marked, as on Telegram, so that its
        # press still asks (a modal).
        "value": callback_data(*pending_input.button_data(button)),
    }
    if button.style:
        element["style"] = button.style
    return element


def _select(placeholder: str, buttons: list[Button], index: int) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": f"{SELECT_PREFIX}{index}",
        "placeholder": plain(placeholder),
        "options": [
            {"text": plain(b.label), "value": callback_data(b.action, b.ref)}
            for b in buttons[:MAX_OPTIONS]
        ],
    }


def select_group(button: Button) -> str | None:
    """The select menu its action's buttons are merged into (its placeholder's catalog key)."""
    action = REGISTRY.get(button.action)
    return action.select if action is not None else None


def action_blocks(reply: Reply, language: str) -> list[dict[str, Any]]:
    """One actions block per row; buttons of a select group are gathered where it first shows."""
    groups: dict[str, list[Button]] = {}
    for button in reply.all_buttons:
        key = select_group(button)
        if key is not None:
            groups.setdefault(key, []).append(button)
    # A lone button stays a button: a one-option menu would only hide it.
    grouped = {key for key, members in groups.items() if len(members) > 1}
    blocks: list[dict[str, Any]] = []
    placed: set[str] = set()
    index = 0
    for row in reply.buttons:
        elements: list[dict[str, Any]] = []
        for button in row:
            key = select_group(button)
            if key in grouped:
                if key not in placed:
                    placed.add(key)
                    elements.append(_select(t(language, key), groups[key], index))
                    index += 1
                continue
            elements.append(_button(button, index))
            index += 1
        for start in range(0, len(elements), MAX_ELEMENTS):
            blocks.append({"type": "actions", "elements": elements[start : start + MAX_ELEMENTS]})
    return blocks


def blocks(reply: Reply, language: str) -> list[dict[str, Any]]:
    """The whole message: text sections, then the buttons (within Slack's 50 blocks)."""
    text = sections(reply.text)
    actions = action_blocks(reply, language)
    room = MAX_BLOCKS - len(actions)
    return text[: max(room, 1)] + actions[: MAX_BLOCKS - 1]


def home_view(home: Home) -> dict[str, Any]:
    """The App Home tab (views.publish): each section's text with its buttons right under it,
    a divider after each row of buttons; sections that would pass Slack's 100 blocks are left
    out (the Home lists a bounded number of communities and requests)."""
    out: list[dict[str, Any]] = []
    for section in home.sections:
        part = sections(section.text) + action_blocks(section, home.language)
        if out and out[-1]["type"] == "actions":
            part.insert(0, {"type": "divider"})
        if len(out) + len(part) > MAX_HOME_BLOCKS:
            break
        out += part
    return {"type": "home", "blocks": out}


def input_modal(
    language: str, prompt: str, optional: bool, metadata: str, multiline: bool
) -> dict[str, Any]:
    """The modal asking for a refusal reason, domains or a name to search."""
    return {
        "type": "modal",
        "callback_id": "rb_input",
        "private_metadata": metadata,
        "title": plain(t(language, "slack.modal.title"), 24),
        "submit": plain(t(language, "slack.modal.submit"), 24),
        "close": plain(t(language, "slack.modal.cancel"), 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "answer",
                "optional": optional,
                "label": plain(prompt, 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": multiline,
                    "max_length": 3000,
                },
            }
        ],
    }
