"""My communities, and a community's card as the web admin shows it."""

from __future__ import annotations

from handlers.core.context import Actor, Context
from handlers.core.i18n import date, datetime, number, t
from handlers.core.paging import PAGE_SIZE, page_buttons, page_count
from handlers.core.present import parse_domains_column, short_name, validation_label
from handlers.core.reply import Button, InputRequest, Reply
from handlers.core.rights import administered, administered_community
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.models import User

#: The columns a referent edits (handlers.community.admin), in the order of the card's buttons.
FIELDS = ("name", "description", "full_description")
#: Longest full description shown on the card.
CARD_FULL_DESCRIPTION = 300


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
            Button(
                t(lang, "communities.open", name=row.community.name, pending=row.pending)
                if row.pending
                else row.community.name,
                "card",
                str(row.community.id),
            ),
        )
        for row in shown
    ]
    nav = page_buttons(lang, "communities", page, pages, lambda p: str(p))
    if nav:
        lines.append(t(lang, "common.page", page=page + 1, pages=pages))
        buttons.append(nav)
    return Reply("\n".join(lines), tuple(buttons))


@use_case
def community_card(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
        members, pending = queries.community_counts(session, community.id)
        referent = session.get(User, community.user_id) if community.user_id else None
        address = queries.address_of(session, community.address_id)
        files = queries.security_files(session, community.id)
    yes, no = t(lang, "common.yes"), t(lang, "common.no")
    domains = parse_domains_column(community.domain)
    lines = [
        t(lang, "card.title", name=community.name, id=community.id),
        t(lang, "card.members", members=number(members), pending=number(pending)),
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
    cid = str(community.id)
    members_hidden_label = "card.show_members" if community.members_hidden else "card.hide_members"
    ads_hidden_label = "card.show_ads" if community.proposals_hidden else "card.hide_ads"
    buttons = (
        (
            Button(t(lang, "card.pending_button", count=pending), "pending", cid, "primary"),
            Button(t(lang, "card.members_button"), "members", f"{cid}:a:0"),
        ),
        (
            Button(
                t(lang, members_hidden_label),
                "members_hidden",
                f"{cid}:{0 if community.members_hidden else 1}",
            ),
            Button(
                t(lang, ads_hidden_label),
                "ads_hidden",
                f"{cid}:{0 if community.proposals_hidden else 1}",
            ),
        ),
        (
            Button(t(lang, "card.validation_button"), "validation", cid),
            Button(t(lang, "card.history_button"), "history", cid),
        ),
    ) + card_rows(lang, community.id)
    return Reply("\n".join(lines), buttons)


def format_address(address) -> str:
    town = " ".join(p for p in (address.postal_code, address.address_locality) if p)
    return ", ".join(p for p in (address.street_address, town) if p) or "—"


def card_rows(lang: str, community_id: int) -> tuple[tuple[Button, ...], ...]:
    """The card's rows for handlers.community.admin: add a member (asks for an e-mail or a
    name), the widget, edit or delete. Built here so that admin imports the card, not the
    reverse."""
    cid = str(community_id)
    return (
        (
            Button(
                t(lang, "admin.add_button"),
                "add_member",
                cid,
                input=InputRequest(t(lang, "admin.add_prompt")),
            ),
            Button(t(lang, "admin.widget_button"), "widget", cid),
        ),
        tuple(
            Button(
                t(lang, f"admin.{name if name != 'name' else 'rename'}_button"),
                f"edit_{name}",
                cid,
                input=InputRequest(t(lang, f"admin.{name}_prompt")),
            )
            for name in FIELDS
        ),
        (Button(t(lang, "admin.delete_button"), "delete_ask", cid, "danger"),),
    )


def full_description_line(lang: str, text: str | None) -> str | None:
    """The card's line for the full description, shortened to stay readable in a chat."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > CARD_FULL_DESCRIPTION:
        text = text[: CARD_FULL_DESCRIPTION - 1].rstrip() + "…"
    return t(lang, "admin.full_description", text=text)


__all__ = ["my_communities", "community_card", "date"]
