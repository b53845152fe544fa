"""The community's widget ("Voir le widget"): the platform's page for it and the HTML snippet
for a website, both derived from [platform] base_url as the platform's client routes them."""

from __future__ import annotations

import html

from handlers.core.actions import Action, Command, Ids
from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.platform_urls import widget_code_page, widget_embed
from handlers.core.reply import Reply
from handlers.core.rights import administered_community
from handlers.core.uow import transaction, use_case


def snippet(url: str) -> str:
    """The iframe the platform's widget page gives to copy (client CommunityGetWidget.vue,
    translation widget.textDetails.p2)."""
    return (
        f'<iframe src="{html.escape(url)}" width="100%" height="640px" frameborder="0" '
        'scrolling="no"></iframe>'
    )


@use_case
def widget(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
    settings = ctx.settings
    page = widget_code_page(settings.platform_url, community.id)
    code = snippet(widget_embed(settings.platform_url, community.id, settings.widget_url))
    return Reply(t(lang, "widget.text", community=community.name, page=page, snippet=code))


WIDGET = Action("widget", Ids(1), widget)
ACTIONS = (WIDGET,)
COMMAND = Command(
    "widget", "widget", lambda ctx, actor, cid, args: widget(ctx, actor, cid), pick=WIDGET
)
