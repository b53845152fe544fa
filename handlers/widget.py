"""The community's widget ("Voir le widget"): its link and the HTML snippet for a website."""

from __future__ import annotations

import html

from handlers.context import Actor, Context
from handlers.i18n import t
from handlers.reply import Reply
from handlers.rights import administered_community
from handlers.uow import transaction, use_case


def widget_url(pattern: str, community_id: int) -> str:
    return pattern.replace("{id}", str(community_id))


def snippet(url: str, title: str) -> str:
    """An iframe as the platform's widget page expects to be embedded."""
    return (
        f'<iframe src="{html.escape(url)}" title="{html.escape(title)}" '
        'width="100%" height="440" frameborder="0" style="border:0"></iframe>'
    )


@use_case
def widget(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
    if not ctx.settings.widget_url:
        return Reply(t(lang, "widget.not_configured"), ok=False)
    url = widget_url(ctx.settings.widget_url, community.id)
    code = snippet(url, t(lang, "widget.title", community=community.name))
    return Reply(t(lang, "widget.text", community=community.name, url=url, snippet=code))
