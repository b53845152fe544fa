"""The longest text accepted for each free-text input, in one place (README, "Input sizes").

Each use case checks its text here before any query: longer text is refused with its length
and the limit, in the person's language, and nothing changes (a 60,000-character search never
reaches the database).
"""

from __future__ import annotations

from handlers.core.errors import Refusal
from handlers.core.i18n import Num

#: Any typed command or answer, whatever it is for (Telegram's own limit for a message).
MESSAGE = 4096
#: Community name (`community.name` is VARCHAR(255)), and the name typed to confirm a deletion.
NAME = 255
#: Short description (`community.description`, VARCHAR(255)).
DESCRIPTION = 255
#: Full description (`community.full_description` is a TEXT): what a chat message can show.
FULL_DESCRIPTION = 4000
#: Refusal reason, after the `!` that shares it with the member (`bot_audit.reason`, e-mail).
REASON = 1000
#: `ajouter`: an e-mail or a name to look for (`user.email`, names: VARCHAR(255)).
PERSON_SEARCH = 255
#: Member search: it rides in the page buttons' 64 bytes of callback data.
MEMBER_SEARCH = 40
#: Domains as typed (separators included); the stored list must also fit its column (255).
DOMAINS = 1000
#: A typed date (`31/01/2024`).
DATE = 20
#: Quiet hours (`22:00-07:00`, `off`).
QUIET_HOURS = 20
#: A link code has exactly 10 characters (handlers.chat.linking.CODE_LENGTH); anything else is not
#: looked up.
#: A parked press (handlers/chat/pending_input.py) checks its answer against the limit its
#: action declares (handlers.core.actions.Action.limit), before the question is consumed.


def check(text: str | None, limit: int) -> None:
    """Refuse `text` longer than `limit` characters (Refusal: the use case replies)."""
    if text is not None and len(text) > limit:
        raise Refusal("error.too_long", length=Num(len(text)), limit=Num(limit))
