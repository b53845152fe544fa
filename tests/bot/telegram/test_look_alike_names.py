"""Look-alike community names through the real Telegram stack (issue 18, point 3)."""

from __future__ import annotations

import pytest

from tests.bot.telegram.conftest import EDDY, link, reply_to
from tests.handlers.community.helpers import full_snapshot
from tests.handlers.helpers import community

pytestmark = [pytest.mark.asyncio, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]


async def test_look_alike_names_are_refused_and_an_honest_one_accepted(api, front, ctx, world):
    await link(api, ctx, EDDY)  # the referent of LeNord covoiture
    lenord, arc = world.communities["lenord"], world.communities["arc"]
    before = full_snapshot(ctx)

    api.send_text(EDDY, f"/renommer {lenord} Arc Franc\u0435")  # Cyrillic е
    cyrillic = await reply_to(api, EDDY["id"], 2)
    api.send_text(EDDY, f"/renommer {lenord} Arc\u200bFrance")
    invisible = await reply_to(api, EDDY["id"], 3)
    api.send_text(EDDY, f"/renommer {lenord} \u202eecnarF crA\u202c")  # displays "Arc France"
    reversed_ = await reply_to(api, EDDY["id"], 4)
    api.send_text(EDDY, f"/renommer {lenord} ARC FRANCE")
    taken = await reply_to(api, EDDY["id"], 5)

    assert f"ressemble à « Arc France » (n° {arc})" in cyrillic.text
    assert "U+200B zero width space" in invisible.text
    assert "U+202E right-to-left override" in reversed_.text
    assert f"est déjà celui d'une autre communauté de la plateforme (n° {arc})" in taken.text
    for refusal in (cyrillic, invisible, reversed_, taken):
        assert refusal.text.endswith("Rien n'a été modifié."), refusal.text
    assert full_snapshot(ctx) == before

    api.send_text(EDDY, f"/renommer {lenord} Nord Covoit")
    renamed = await reply_to(api, EDDY["id"], 6)
    assert "« LeNord covoiture » → « Nord Covoit »" in renamed.text
    assert community(ctx, lenord).name == "Nord Covoit"
