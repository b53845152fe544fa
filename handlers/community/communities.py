"""My communities: the list a referent starts from; each opens its card (community.admin)."""

from __future__ import annotations

from handlers.community import admin
from handlers.core.actions import Action, Command, Ids
from handlers.core.context import Actor, Context
from handlers.core.i18n import number, t
from handlers.core.paging import PAGE_SIZE, page_buttons, page_count
from handlers.core.reply import Button, Reply
from handlers.core.rights import administered
from handlers.core.uow import transaction, use_case


@use_case
def my_communities(ctx: Context, actor: Actor, page: int = 0) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        rows = administered(session, actor)
    if not rows:
        return Reply(t(lang, "communities.none"))
    pages = page_count(len(rows))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [t(lang, "communities.title", count=len(rows))]
    for row in shown:
        lines.append(
            t(
                lang,
                "communities.line",
                name=row.community.name,
                id=row.community.id,
                count=row.members,
                pending=number(lang, row.pending),
            )
        )
    buttons: list[tuple[Button, ...]] = [
        (
            admin.CARD.button(
                t(lang, "communities.open", name=row.community.name, pending=row.pending)
                if row.pending
                else row.community.name,
                row.community.id,
            ),
        )
        for row in shown
    ]
    nav = page_buttons(lang, COMMUNITIES.name, page, pages, COMMUNITIES.ref.build)
    if nav:
        lines.append(t(lang, "common.page", page=page + 1, pages=pages))
        buttons.append(nav)
    return Reply("\n".join(lines), tuple(buttons))


COMMUNITIES = Action("communities", Ids(0, 1), my_communities)
ACTIONS = (COMMUNITIES,)

MINE = Command(
    "communautes",
    "communities",
    lambda ctx, actor, cid, args: my_communities(ctx, actor),
    aliases=("communautés",),
)
