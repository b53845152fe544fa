"""The Home's content (handlers/chat/home.py): what a referent, an operator, someone with no
community and someone not linked read first, and that every button is a declared action."""

from __future__ import annotations

import dataclasses
import datetime as dt

from handlers.chat.actions import REGISTRY, callback_data
from handlers.chat.home import HOME_COMMUNITIES, HOME_REQUESTS, home, open_home
from handlers.chat.linking import ChatAccount
from handlers.community import pending
from handlers.core.reply import Button
from storage.codes import MembershipStatus, ValidationType
from storage.models import Community
from tests.handlers.helpers import actor, add_members, membership
from tests.support.world import T0


def texts(found) -> list[str]:
    return [section.text for section in found.sections]


def buttons(found) -> list[Button]:
    return [b for section in found.sections for b in section.all_buttons]


def test_a_referent_reads_their_community_oldest_requests_and_figures(ctx, world):
    found = home(ctx, actor(ctx, world, "jeanmarc"))
    arc = world.communities["arc"]
    assert found.language == "fr"
    assert texts(found) == [
        "**Vos communautés** (1)",
        f"• Arc France (n° {arc}) : 3 membres, 3 en attente",
        "**Demandes les plus anciennes** (3 en attente en tout)",
        "• Pierre L. — arcfrance.fr ✓ domaine — demandé le 11/01/2024 — Arc France",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024 — Arc France",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024 — Arc France",
        "**Synthèse au 17/01/2024 : Arc France**\nDonnées jusqu'au 17/01/2024 à 10:02.\n"
        "• CO₂ économisé : 0,000 t\n• Annonces publiées : 0\n• Utilisateurs : 3\n"
        "• Utilisateurs solidaires : 0\n• Communautés : 1",
        "Mis à jour le 17/01/2024 à 10:02.",
    ]
    # Each request's buttons are the pending list's own; they decide like anywhere else.
    pierre = world.membership("arc", "pierre")
    request_buttons = found.sections[3].buttons
    assert request_buttons == (
        pending.decision_buttons("fr", pending.describe(*_pierre(ctx, world))),
    )
    approve = request_buttons[0][0]
    assert (approve.action, approve.ref) == ("approve", str(pierre))
    reply = REGISTRY.get("approve").run(ctx, actor(ctx, world, "jeanmarc"), pierre)
    assert reply.ok and membership(ctx, pierre).status == MembershipStatus.MEMBER


def _pierre(ctx, world):
    from storage.models import CommunityUser, User

    with ctx.sessions() as session:
        m = session.get(CommunityUser, world.membership("arc", "pierre"))
        return m, session.get(User, m.user_id), session.get(Community, m.community_id)


def test_every_button_is_a_declared_action_within_telegrams_callback_size(ctx, world):
    for person in ("jeanmarc", "operator", "cyrielle"):
        for button in buttons(home(ctx, actor(ctx, world, person))):
            assert REGISTRY.get(button.action) is not None, button
            REGISTRY.get(button.action).arguments(_press(button))  # the format parses it
            callback_data(button.action, button.ref)  # raises past 64 bytes


def _press(button: Button):
    from handlers.core.actions import Press

    return Press(button.action, button.ref)


def test_an_operator_sees_every_community_oldest_first_and_the_platform(ctx, world):
    found = home(ctx, actor(ctx, world, "operator"))
    text = "\n".join(texts(found))
    assert "**Vos communautés** (3)" in text
    # The communities with most requests first, then by name.
    lines = [t for t in texts(found) if t.startswith("• ") and " (n° " in t]  # community lines
    assert [line.split(" (n°")[0] for line in lines] == [
        "• Arc France", "• GSK Saint Amand les Eaux", "• LeNord covoiture",
    ]  # fmt: skip
    requests = [t for t in texts(found) if "demandé le" in t]
    assert (
        requests[0]
        == "• Aurélien G. — gmail.com — demandé le 12/12/2023 — GSK Saint Amand les Eaux"
    )
    assert "**Synthèse au 17/01/2024 : Toute la plateforme**" in text


def test_many_communities_and_requests_are_bounded(ctx, world):
    with ctx.sessions() as session, session.begin():
        for n in range(HOME_COMMUNITIES):
            session.add(Community(name=f"Zone {n:02d}", validation_type=int(ValidationType.MANUAL),
                                  description="Zone", full_description="Zone",
                                  user_id=world.users["jeanmarc"], created_date=T0,
                                  members_hidden=False, proposals_hidden=False))  # fmt: skip
    add_members(ctx, world, "arc", HOME_REQUESTS + 2, status=MembershipStatus.PENDING)
    found = home(ctx, actor(ctx, world, "jeanmarc"))
    text = "\n".join(texts(found))
    assert "**Vos communautés** (9)" in text
    assert sum(1 for t in texts(found) if t.startswith("• ") and " (n° " in t) == HOME_COMMUNITIES
    assert "… et 1 autre communauté." in text
    assert ("communities", "") in [(b.action, b.ref) for b in buttons(found)]
    assert "(10 en attente en tout)" in text
    assert sum(1 for t in texts(found) if "demandé le" in t) == HOME_REQUESTS
    assert "Arc France (n° " in texts(found)[1]  # the one with requests comes first


def test_no_community_and_english(ctx, world):
    marion = actor(ctx, world, "marion")
    assert texts(home(ctx, marion)) == ["Vous n'administrez aucune communauté."]
    english = dataclasses.replace(actor(ctx, world, "jeanmarc"), language="en")
    found = home(ctx, english)
    assert found.language == "en"
    assert texts(found)[0] == "**Your communities** (1)"
    assert "**Oldest requests** (3 pending in all)" in texts(found)


def test_someone_not_linked_reads_how_to_link_and_is_not_remembered(ctx, world):
    shown = open_home(ctx, ChatAccount("slack", "U0NOBODY", team_id="T1"), "en-GB")
    assert shown.opened is None
    assert texts(shown.home) == [
        "Your chat account is not linked to a Pass Pass covoiturage account. Ask Hauts-de-France "
        "Mobilités for a link code, then send it to the bot."
    ]
    assert buttons(shown.home) == []


def test_the_notice_of_a_press_stays_on_top_for_half_an_hour(ctx, world):
    from handlers.chat.linking import issue_link_code, redeem_link_code
    from storage import clock

    account = ChatAccount("slack", "U0JM", team_id="T1")
    code = issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code
    assert redeem_link_code(ctx, account, code, "fr").ok
    shown = open_home(ctx, account, None, "✅ fait")
    assert texts(shown.home)[0] == "✅ fait"
    assert texts(open_home(ctx, account).home)[0] == "✅ fait"  # still there on reopening
    clock.set_now(clock.now() + dt.timedelta(minutes=31))
    assert texts(open_home(ctx, account).home)[0] == "**Vos communautés** (1)"
