"""My communities and a community's card, as a referent reads them."""

from __future__ import annotations

import dataclasses

import pytest

from handlers.chat.actions import Press, press
from handlers.community import admin, communities
from storage.models import Community
from tests.handlers.helpers import (
    NOTHING_CHANGED,
    actor,
    add_members,
    assert_refused,
    buttons,
    snapshot,
)


def test_a_moderator_sees_the_communities_they_administer_with_pending_counts(ctx, world):
    reply = communities.my_communities(ctx, actor(ctx, world, "emilie"))

    arc = world.communities["arc"]
    assert reply.ok
    assert reply.text.splitlines() == [
        "**Vos communautés** (1)",
        f"• Arc France (n° {arc}) : 3 membres, 3 en attente",
    ]
    assert buttons(reply) == [("Arc France (3 en attente)", "card", str(arc))]


def test_the_creator_sees_the_community_they_created(ctx, world):
    reply = communities.my_communities(ctx, actor(ctx, world, "eddy"))

    lenord = world.communities["lenord"]
    assert reply.text.splitlines() == [
        "**Vos communautés** (1)",
        f"• LeNord covoiture (n° {lenord}) : 2 membres, 0 en attente",
    ]
    # no pending request: the button is the bare name
    assert buttons(reply) == [("LeNord covoiture", "card", str(lenord))]


def test_an_operator_sees_every_community_by_name(ctx, world):
    reply = communities.my_communities(ctx, actor(ctx, world, "operator"))

    c = world.communities
    assert reply.text.splitlines() == [
        "**Vos communautés** (3)",
        f"• Arc France (n° {c['arc']}) : 3 membres, 3 en attente",
        f"• GSK Saint Amand les Eaux (n° {c['gsk']}) : 1 membre, 1 en attente",
        f"• LeNord covoiture (n° {c['lenord']}) : 2 membres, 0 en attente",
    ]
    assert [(action, ref) for _, action, ref in buttons(reply)] == [
        ("card", str(c["arc"])),
        ("card", str(c["gsk"])),
        ("card", str(c["lenord"])),
    ]


def test_english_counts_say_one_member_and_use_english_separators(ctx, world):
    add_members(ctx, world, "arc", 1000)
    english = dataclasses.replace(actor(ctx, world, "operator"), language="en")
    lines = communities.my_communities(ctx, english).text.splitlines()
    c = world.communities
    assert lines[1] == f"• Arc France (#{c['arc']}): 1,003 members, 3 pending"
    assert lines[2] == f"• GSK Saint Amand les Eaux (#{c['gsk']}): 1 member, 1 pending"


@pytest.mark.parametrize("person", ["marion", "nathalie", "pierre", "lila"])
def test_someone_who_administers_nothing_is_told_so(ctx, world, person):
    before = snapshot(ctx)

    reply = communities.my_communities(ctx, actor(ctx, world, person))

    assert reply.text == "Vous n'administrez aucune communauté."
    assert reply.buttons == ()
    assert snapshot(ctx) == before


def test_counts_use_french_number_separators(ctx, world):
    add_members(ctx, world, "arc", 1000)

    reply = communities.my_communities(ctx, actor(ctx, world, "jeanmarc"))

    assert "Arc France" in reply.text
    assert ": 1\u202f003 membres, 3 en attente" in reply.text


def test_the_community_card_shows_what_the_web_admin_shows(ctx, world):
    arc = world.communities["arc"]

    reply = admin.community_card(ctx, actor(ctx, world, "emilie"), arc)

    assert reply.ok
    assert reply.text.splitlines() == [
        f"**Arc France** (n° {arc})",
        "Membres : 3 · En attente : 3",
        "Référent : Jean-Marc M.",
        "Type de validation : validation par modérateur",
        "Domaines : arcfrance.fr",
        "Membres cachés : non",
        "Annonces masquées : non",
        "Adresse : 51 Rue Gustave Delory, 59000 Lille",
        "Créée le 13/09/2023 à 09:30",
        "Mise à jour le —",
        "Présentation courte : Covoiturage Arc France",
        "Présentation complète : La communauté Arc France.",
    ]
    assert [[(b.label, b.action, b.ref, b.style) for b in row] for row in reply.buttons] == [
        [
            ("En attente (3)", "pending", str(arc), "primary"),
            ("Membres", "members", f"{arc}:a:0", None),
        ],
        [
            ("Cacher les membres", "members_hidden", f"{arc}:1", None),
            ("Masquer les annonces", "ads_hidden", f"{arc}:1", None),
        ],
        [
            ("Type de validation", "validation", str(arc), None),
            ("Historique", "history", str(arc), None),
        ],
        [
            ("➕ Ajouter un membre", "add_member", str(arc), None),
            ("🧩 Widget", "widget", str(arc), None),
        ],
        [
            ("✏️ Nom", "edit_name", str(arc), None),
            ("✏️ Présentation courte", "edit_description", str(arc), None),
            ("✏️ Présentation complète", "edit_full_description", str(arc), None),
        ],
        [("🗑 Supprimer la communauté", "delete_ask", str(arc), "danger")],
    ]


def test_the_card_after_hiding_offers_to_show_again_and_dates_the_update(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    press(ctx, emilie, Press("members_hidden", f"{arc}:1"))
    press(ctx, emilie, Press("ads_hidden", f"{arc}:1"))

    reply = press(ctx, emilie, Press("card", str(arc)))

    assert "Membres cachés : oui" in reply.text
    assert "Annonces masquées : oui" in reply.text
    assert "Mise à jour le 17/01/2024 à 10:02" in reply.text
    assert ("Rendre les membres visibles", "members_hidden", f"{arc}:0") in buttons(reply)
    assert ("Rendre les annonces visibles", "ads_hidden", f"{arc}:0") in buttons(reply)


def test_a_community_without_domain_shows_a_dash(ctx, world):
    reply = admin.community_card(ctx, actor(ctx, world, "eddy"), world.communities["lenord"])

    assert "Domaines : —" in reply.text.splitlines()
    assert "Type de validation : validation automatique" in reply.text.splitlines()
    assert "Référent : Eddy L." in reply.text.splitlines()


def test_the_card_is_refused_to_a_plain_member(ctx, world):
    before = snapshot(ctx)

    reply = admin.community_card(ctx, actor(ctx, world, "marion"), world.communities["arc"])

    assert_refused(
        ctx,
        reply,
        before,
        f"Communauté n° {world.communities['arc']} : introuvable parmi celles que vous administrez",
        NOTHING_CHANGED,
    )
    assert reply.buttons == ()


def test_the_card_of_an_unknown_community_is_refused(ctx, world):
    before = snapshot(ctx)

    reply = admin.community_card(ctx, actor(ctx, world, "operator"), 987654)

    assert_refused(
        ctx,
        reply,
        before,
        "Communauté n° 987654 : introuvable parmi celles que vous administrez.",
        NOTHING_CHANGED,
    )


def test_an_operator_opens_any_card(ctx, world):
    reply = admin.community_card(ctx, actor(ctx, world, "operator"), world.communities["gsk"])

    assert reply.ok
    assert reply.text.splitlines()[:3] == [
        f"**GSK Saint Amand les Eaux** (n° {world.communities['gsk']})",
        "Membres : 1 · En attente : 1",
        "Référent : Cyrielle G.",
    ]


def test_my_communities_pages_by_ten(ctx, world):
    with ctx.sessions() as session, session.begin():
        base = session.get(Community, world.communities["lenord"])
        for n in range(12):
            session.add(
                Community(
                    name=f"Zone {n:02d}", validation_type=1, user_id=world.users["eddy"],
                    description="", full_description="", created_date=base.created_date,
                )
            )  # fmt: skip
    eddy = actor(ctx, world, "eddy")

    first = communities.my_communities(ctx, eddy)
    second = press(ctx, eddy, Press("communities", "1"))

    assert first.text.splitlines()[0] == "**Vos communautés** (13)"
    assert first.text.splitlines()[-1] == "Page 1/2"
    assert len(first.text.splitlines()) == 1 + 10 + 1
    assert buttons(first)[-1] == ("Suivant ▶", "communities", "1")
    assert second.text.splitlines()[-1] == "Page 2/2"
    assert "• Zone 11" in second.text
    assert buttons(second)[-1] == ("◀ Précédent", "communities", "0")
