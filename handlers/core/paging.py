"""Lists shown a page at a time: the one page size and the previous/next buttons.

Every paged list (my communities, pending members, members) reads the same size, so that a
referent meets pages of 10 everywhere (README) and a button reference never outgrows its page.
"""

from __future__ import annotations

from collections.abc import Callable

from handlers.core.i18n import t
from handlers.core.reply import Button

PAGE_SIZE = 10


def page_count(total: int) -> int:
    """Pages needed for `total` rows; an empty list still shows one (empty) page."""
    return max(1, -(-total // PAGE_SIZE))


def page_buttons(
    lang: str, action: str, page: int, pages: int, ref: Callable[[int], str]
) -> tuple[Button, ...]:
    """Previous/next buttons; `ref(page)` builds each button's reference."""
    nav: list[Button] = []
    if page > 0:
        nav.append(Button(t(lang, "common.previous"), action, ref(page - 1)))
    if page < pages - 1:
        nav.append(Button(t(lang, "common.next"), action, ref(page + 1)))
    return tuple(nav)
