"""My communities, and a community's card as the web admin shows it."""

from __future__ import annotations

from handlers.community.admin_buttons import card_rows, full_description_line
from handlers.core.actions import Action, Command, Ids
from handlers.core.context import Actor, Context
from handlers.core.i18n import date, datetime, number, t
from handlers.core.present import parse_domains_column, short_name, validation_label
from handlers.core.reply import Button, Reply
from handlers.core.rights import administered, administered_community
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.models import User

PAGE = 10


@use_case
def my_communities(ctx: Context, actor: Actor, page: int = 0) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        rows = administered(session, actor)
    if not rows:
        return Reply(t(lang, "communities.none"))
    pages = max(1, -(-len(rows) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE : (page + 1) * PAGE]
    lines = [t(lang, "communities.title", count=number(len(rows)))]
    for row in shown:
        lines.append(
            t(
                lang,
                "communities.line",
                name=row.community.name,
                id=row.community.id,
                members=number(row.members),
                pending=number(row.pending),
            )
        )
    buttons: list[tuple[Button, ...]] = [
        (
            CARD.button(
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


@use_case
def community_card(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        members_count, pending_count = queries.community_counts(session, community.id)
        referent = session.get(User, community.user_id) if community.user_id else None
        address = queries.address_of(session, community.address_id)
        files = queries.security_files(session, community.id)
    yes, no = t(lang, "common.yes"), t(lang, "common.no")
    domains = parse_domains_column(community.domain)
    lines = [
        t(lang, "card.title", name=community.name, id=community.id),
        t(lang, "card.members", members=number(members_count), pending=number(pending_count)),
        t(lang, "card.referent", name=short_name(referent) if referent else "—"),
        t(
            lang,
            "card.validation",
            validation=validation_label(lang, community.validation_type, bool(files)),
        ),  # fmt: skip
        t(lang, "card.domains", domains=", ".join(domains) if domains else "—"),
    ]
    if files:
        lines.append(t(lang, "card.identifiers", name=files[-1].original_name))
    lines += [
        t(lang, "card.members_hidden", value=yes if community.members_hidden else no),
        t(lang, "card.ads_hidden", value=yes if community.proposals_hidden else no),
        t(lang, "card.address", address=format_address(address) if address else "—"),
        t(lang, "card.created", when=datetime(community.created_date, lang)),
        t(lang, "card.updated", when=datetime(community.updated_date, lang)),
    ]
    if community.description:
        lines.append(t(lang, "card.description", text=community.description))
    if full := full_description_line(lang, community.full_description):
        lines.append(full)
    # The card leads to use cases that show it again: their modules are imported when it is
    # drawn.
    from handlers.community import history, members, pending, settings

    cid = community.id
    members_hidden_label = "card.show_members" if community.members_hidden else "card.hide_members"
    ads_hidden_label = "card.show_ads" if community.proposals_hidden else "card.hide_ads"
    buttons = (
        (
            pending.PENDING.button(
                t(lang, "card.pending_button", count=pending_count), cid, style="primary"
            ),
            members.MEMBERS.button(t(lang, "card.members_button"), cid),
        ),
        (
            settings.MEMBERS_HIDDEN.button(
                t(lang, members_hidden_label), cid, not community.members_hidden
            ),
            settings.ADS_HIDDEN.button(
                t(lang, ads_hidden_label), cid, not community.proposals_hidden
            ),
        ),
        (
            settings.VALIDATION.button(t(lang, "card.validation_button"), cid),
            history.HISTORY.button(t(lang, "card.history_button"), cid),
        ),
    ) + card_rows(lang, community.id)
    return Reply("\n".join(lines), buttons)


def format_address(address) -> str:
    town = " ".join(p for p in (address.postal_code, address.address_locality) if p)
    return ", ".join(p for p in (address.street_address, town) if p) or "—"


def page_buttons(lang: str, action: str, page: int, pages: int, ref) -> tuple[Button, ...]:
    """Previous/next buttons; `ref(page)` builds each button's reference."""
    nav: list[Button] = []
    if page > 0:
        nav.append(Button(t(lang, "common.previous"), action, ref(page - 1)))
    if page < pages - 1:
        nav.append(Button(t(lang, "common.next"), action, ref(page + 1)))
    return tuple(nav)


COMMUNITIES = Action("communities", Ids(0, 1), my_communities)
CARD = Action("card", Ids(1), community_card)
ACTIONS = (COMMUNITIES, CARD)

MINE = Command(
    "communautes",
    "communities",
    lambda ctx, actor, cid, args: my_communities(ctx, actor),
    aliases=("communautés",),
)
SETTINGS = Command(
    "parametres",
    "settings",
    lambda ctx, actor, cid, args: community_card(ctx, actor, cid),
    pick=CARD,
    aliases=("paramètres",),
)

__all__ = ["my_communities", "community_card", "page_buttons", "date"]
