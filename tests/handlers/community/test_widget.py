"""The widget: the platform's page for it and the HTML snippet to paste in a website, derived
from [platform] base_url as the platform's client routes them (routes.yaml: community_widget,
community_get_widget)."""

from __future__ import annotations

import dataclasses

from handlers.chat import commands
from handlers.chat.actions import Press, press
from tests.handlers.helpers import actor


def test_the_widget_page_and_snippet_with_no_configuration(ctx, world):
    arc = world.communities["arc"]
    name, args = commands.parse(f"/widget@PassPassReferentBot {arc}")

    reply = commands.run_command(ctx, actor(ctx, world, "emilie"), name, args)

    assert reply.ok
    assert reply.text.splitlines() == [
        "**Widget de Arc France**",
        f"Aperçu et code sur la plateforme : https://www.passpasscovoiturage.fr/communaute/widget/get/{arc}",
        "Code HTML à coller dans votre site :",
        f'<iframe src="https://www.passpasscovoiturage.fr/communaute/widget/{arc}" width="100%" '
        'height="640px" frameborder="0" scrolling="no"></iframe>',
    ]


def test_another_platform_address_and_the_deprecated_widget_url(ctx, world):
    arc = world.communities["arc"]
    other = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, platform_url="https://covoit.example/")
    )
    lines = press(other, actor(other, world, "emilie"), Press("widget", str(arc))).text
    assert f"https://covoit.example/communaute/widget/get/{arc}" in lines
    assert f'<iframe src="https://covoit.example/communaute/widget/{arc}" ' in lines
    # [bot] widget_url, deprecated, still replaces the embedded widget's address
    old = dataclasses.replace(
        other,
        settings=dataclasses.replace(other.settings, widget_url="https://w.example/c/{id}"),
    )
    lines = press(old, actor(old, world, "emilie"), Press("widget", str(arc))).text
    assert f'<iframe src="https://w.example/c/{arc}" ' in lines
    assert f"https://covoit.example/communaute/widget/get/{arc}" in lines


def test_only_administrators_get_it(mail_ctx, world):
    reply = press(
        mail_ctx, actor(mail_ctx, world, "eddy"), Press("widget", str(world.communities["arc"]))
    )

    assert reply.ok is False
    assert (
        f"Communauté n° {world.communities['arc']} : introuvable parmi celles que vous administrez"
        in reply.text
    )
