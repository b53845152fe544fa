"""The widget: its link and the HTML snippet to paste in a website, from [bot] widget_url."""

from __future__ import annotations

from handlers import commands
from handlers.actions import Press, press
from tests.handlers.helpers import actor


def test_the_widget_link_and_snippet(mail_ctx, world):
    arc = world.communities["arc"]
    name, args = commands.parse(f"/widget@PassPassReferentBot {arc}")

    reply = commands.run_command(mail_ctx, actor(mail_ctx, world, "emilie"), name, args)

    url = f"https://www.passpasscovoiturage.fr/communaute/{arc}/widget"
    assert reply.ok
    assert reply.text.splitlines() == [
        "**Widget de Arc France**",
        f"Lien : {url}",
        "Code HTML à coller dans votre site :",
        f'<iframe src="{url}" title="Covoiturage — Arc France" width="100%" height="440" '
        'frameborder="0" style="border:0"></iframe>',
    ]


def test_without_a_configured_url_the_bot_says_so(ctx, world):
    reply = press(ctx, actor(ctx, world, "emilie"), Press("widget", str(world.communities["arc"])))

    assert reply.ok is False
    assert reply.text.startswith("Le widget n'est pas configuré pour ce bot ([bot] widget_url)")


def test_only_administrators_get_it(mail_ctx, world):
    reply = press(
        mail_ctx, actor(mail_ctx, world, "eddy"), Press("widget", str(world.communities["arc"]))
    )

    assert reply.ok is False
    assert "Vous n'administrez pas la communauté « Arc France »" in reply.text
