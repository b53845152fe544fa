"""The community card's buttons for adding a member, editing, the widget and deleting.

Kept apart from handlers.community.admin so that the card (handlers.community.communities) can show
them without importing the use cases, which themselves show the card.
"""

from __future__ import annotations

from handlers.core.i18n import t
from handlers.core.reply import Button, InputRequest

#: The columns a referent edits, in the order of the card's buttons.
FIELDS = ("name", "description", "full_description")
#: Longest full description shown on the card.
CARD_FULL_DESCRIPTION = 300


# --- Buttons on the community card --------------------------------------------------------------


def card_rows(lang: str, community_id: int) -> tuple[tuple[Button, ...], ...]:
    """The card's extra rows: add a member (asks for an e-mail or a name), edit or delete."""
    # The use cases show the card again: their module is imported when the card is drawn.
    from handlers.community import admin, widget

    cid = community_id
    return (
        (
            admin.ADD_MEMBER.button(
                t(lang, "admin.add_button"), cid, input=InputRequest(t(lang, "admin.add_prompt"))
            ),
            widget.WIDGET.button(t(lang, "admin.widget_button"), cid),
        ),
        tuple(
            admin.EDIT[name].button(
                t(lang, f"admin.{name if name != 'name' else 'rename'}_button"),
                cid,
                input=InputRequest(t(lang, f"admin.{name}_prompt")),
            )
            for name in FIELDS
        ),
        (admin.DELETE_ASK.button(t(lang, "admin.delete_button"), cid, style="danger"),),
    )


def full_description_line(lang: str, text: str | None) -> str | None:
    """The card's line for the full description, shortened to stay readable in a chat."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > CARD_FULL_DESCRIPTION:
        text = text[: CARD_FULL_DESCRIPTION - 1].rstrip() + "…"
    return t(lang, "admin.full_description", text=text)
