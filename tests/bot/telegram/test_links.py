"""How the Telegram front hands a link code over: a deep link to the bot."""

from __future__ import annotations

from bot.telegram.links import deep_link
from handlers.chat.linking import issue_link_code, looks_like_code


def test_an_issued_code_becomes_a_deep_link_to_the_bot(ctx, world):
    issued = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")
    assert looks_like_code(issued.code)
    assert (
        deep_link("PassPassReferentBot", issued.code)
        == f"https://t.me/PassPassReferentBot?start={issued.code}"
    )
