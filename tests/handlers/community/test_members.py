"""Members of a community: pages, filters, search, detail, status changes and removal."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from handlers.chat.actions import Press, press
from handlers.community import members
from storage.codes import MembershipStatus
from tests.handlers.helpers import (
    NOTHING_CHANGED,
    NOW_FR,
    actor,
    add_members,
    assert_refused,
    audit_entries,
    button,
    buttons,
    membership,
    snapshot,
)

NOW = dt.datetime(2024, 1, 17, 10, 2)
JOINED_MARION = dt.datetime(2023, 10, 15, 9, 30)
ARC_LINES = [
    "• Jean-Marc M. — modérateur · référent — rejoint le 13/10/2023",
    "• Emilie F. — modérateur — rejoint le 14/10/2023",
    "• Marion H. — membre — rejoint le 15/10/2023",
    "• Nathalie D. — refusé — demandé le 16/10/2023",
    "• Pierre L. — en attente — demandé le 11/01/2024",
    "• Hélène B. — en attente — demandé le 12/01/2024",
    "• François B. — en attente — demandé le 13/01/2024",
]


def test_the_member_list_shows_status_and_join_date(ctx, world):
    arc = world.communities["arc"]

    reply = members.list_members(ctx, actor(ctx, world, "emilie"), arc)

    assert reply.ok
    assert reply.text.splitlines() == ["**Membres de Arc France** — Tous : 7", *ARC_LINES]
    m = world.memberships
    assert buttons(reply) == [
        ("Jean-Marc M.", "member", str(m[("arc", "jeanmarc")])),
        ("Emilie F.", "member", str(m[("arc", "emilie")])),
        ("Marion H.", "member", str(m[("arc", "marion")])),
        ("Nathalie D.", "member", str(m[("arc", "nathalie")])),
        ("Pierre L.", "member", str(m[("arc", "pierre")])),
        ("Hélène B.", "member", str(m[("arc", "helene")])),
        ("François B.", "member", str(m[("arc", "francois")])),
        ("Membres", "members", f"{arc}:m:0"),
        ("Modérateurs", "members", f"{arc}:o:0"),
        ("En attente", "members", f"{arc}:p:0"),
        ("Refusés", "members", f"{arc}:r:0"),
        ("🔎 Chercher un membre", "members_search", f"{arc}:a"),
    ]
    assert button(reply, "members_search").input.prompt == "Nom ou prénom à chercher :"


def test_members_come_ten_per_page_with_a_range_and_page_buttons(ctx, world):
    add_members(ctx, world, "arc", 16)
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")

    first = members.list_members(ctx, emilie, arc)
    second = press(ctx, emilie, Press("members", f"{arc}:a:1"))
    third = press(ctx, emilie, Press("members", f"{arc}:a:2"))
    beyond = press(ctx, emilie, Press("members", f"{arc}:a:9"))

    assert first.text.splitlines()[0] == "**Membres de Arc France** — Tous : 23"
    assert first.text.splitlines()[1:8] == ARC_LINES
    assert first.text.splitlines()[-1] == "1-10 de 23"
    assert len([b for b in first.all_buttons if b.action == "member"]) == 10
    assert ("Suivant ▶", "members", f"{arc}:a:1") in buttons(first)
    assert not any(label == "◀ Précédent" for label, _, _ in buttons(first))

    assert second.text.splitlines()[-1] == "11-20 de 23"
    assert second.text.splitlines()[1] == "• Membre03 E. — membre — rejoint le 30/04/2024"
    assert ("◀ Précédent", "members", f"{arc}:a:0") in buttons(second)
    assert ("Suivant ▶", "members", f"{arc}:a:2") in buttons(second)

    assert third.text.splitlines()[-1] == "21-23 de 23"
    assert len([b for b in third.all_buttons if b.action == "member"]) == 3
    assert ("◀ Précédent", "members", f"{arc}:a:1") in buttons(third)
    assert not any(label == "Suivant ▶" for label, _, _ in buttons(third))
    # a page past the end shows the last one
    assert beyond.text == third.text


@pytest.mark.parametrize(
    ("code", "header", "lines"),
    [
        ("m", "Membres : 3", ARC_LINES[:3]),
        ("o", "Modérateurs : 2", ARC_LINES[:2]),
        ("p", "En attente : 3", ARC_LINES[4:]),
        ("r", "Refusés : 1", ["• Nathalie D. — refusé — demandé le 16/10/2023"]),
    ],
)
def test_members_filtered_by_status(ctx, world, code, header, lines):
    arc = world.communities["arc"]

    reply = press(ctx, actor(ctx, world, "jeanmarc"), Press("members", f"{arc}:{code}:0"))

    assert reply.text.splitlines() == [f"**Membres de Arc France** — {header}", *lines]
    # the other filters are offered, with 'all' first
    filters = [ref for _, action, ref in buttons(reply) if action == "members"]
    assert filters[0] == f"{arc}:a:0"
    assert f"{arc}:{code}:0" not in filters


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("LAMB", ["Pierre L."]),  # case-insensitive on every backend
        ("hél", ["Hélène B."]),
        ("Jean-Marc Mor", ["Jean-Marc M."]),  # given and family name together
        ("@gmail.com", ["Hélène B."]),  # the e-mail
        ("  pierre  ", ["Pierre L."]),
        ("%", []),  # LIKE wildcards are searched for literally
        ("_", []),
        ("zzz", []),
    ],
)
def test_search_members_by_name(ctx, world, search, found):
    arc = world.communities["arc"]

    reply = press(ctx, actor(ctx, world, "emilie"), Press("members_search", f"{arc}:a", search))

    assert reply.ok
    names = [label for label, action, _ in buttons(reply) if action == "member"]
    assert names == found
    assert f"Recherche : « {search.strip()} »" in reply.text.splitlines()
    if not found:
        assert "Aucun membre ne correspond." in reply.text.splitlines()
        assert "Tous : 0" in reply.text


def test_a_search_survives_paging(ctx, world):
    add_members(ctx, world, "arc", 12, family="Durand")
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")

    first = press(ctx, emilie, Press("members_search", f"{arc}:m", "durand"))
    following = button(first, "members", "Suivant")
    second = press(ctx, emilie, Press(following.action, following.ref))

    assert "**Membres de Arc France** — Membres : 12" in first.text
    assert first.text.splitlines()[-1] == "1-10 de 12"
    assert following.ref == f"{arc}:m:1:durand"
    assert second.text.splitlines()[1] == "Recherche : « durand »"
    assert second.text.splitlines()[-1] == "11-12 de 12"


def test_an_unknown_filter_is_refused(ctx, world):
    before = snapshot(ctx)

    reply = press(
        ctx, actor(ctx, world, "emilie"), Press("members", f"{world.communities['arc']}:x:0")
    )

    assert_refused(ctx, reply, before, "Filtre inconnu.", NOTHING_CHANGED)


def test_member_detail(ctx, world):
    marion = world.membership("arc", "marion")

    reply = press(ctx, actor(ctx, world, "emilie"), Press("member", str(marion)))

    assert reply.text.splitlines() == [
        "**Marion H.** — Arc France",
        "Statut : membre",
        "Domaine de l'adresse e-mail : arcfrance.fr",
        "Rejoint le 15/10/2023",
        "Accepté le 15/10/2023",
        "Décision de : Jean-Marc M.",
        "Dernière connexion : 21/01/2024",
    ]
    arc = world.communities["arc"]
    assert [[(b.label, b.action, b.ref) for b in row] for row in reply.buttons] == [
        [
            ("En attente", "set_status", f"{marion}:0:1"),
            ("Modérateur", "set_status", f"{marion}:2:1"),
            ("Refusé", "set_status", f"{marion}:3:1"),
        ],
        [("Retirer", "remove", f"{marion}:1"), ("↩ Retour", "members", f"{arc}:a:0")],
    ]
    assert button(reply, "remove").style == "danger"


def test_detail_of_a_pending_member_has_no_decision(ctx, world):
    reply = members.member_detail(
        ctx, actor(ctx, world, "emilie"), world.membership("arc", "helene")
    )

    assert reply.text.splitlines() == [
        "**Hélène B.** — Arc France",
        "Statut : en attente",
        "Domaine de l'adresse e-mail : gmail.com",
        "Rejoint le 12/01/2024",
        "Dernière connexion : 21/01/2024",
    ]


# --- Status changes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "old", "new", "label", "accepted", "refused", "admin"),
    [
        ("marion", 1, 2, "modérateur", JOINED_MARION, None, "emilie"),  # accepted date kept
        ("emilie", 2, 1, "membre", dt.datetime(2023, 10, 14, 9, 30), None, "emilie"),
        ("marion", 1, 0, "en attente", None, None, None),  # pending clears both and admin_id
        ("marion", 1, 3, "refusé", None, NOW, "emilie"),
        ("nathalie", 3, 1, "membre", NOW, None, "emilie"),
    ],
)
def test_setting_a_status_writes_what_the_platform_writes(
    ctx, world, person, old, new, label, accepted, refused, admin
):
    mid = world.membership("arc", person)
    emilie = actor(ctx, world, "emilie")

    reply = press(ctx, emilie, Press("set_status", f"{mid}:{new}:{old}"))

    assert reply.ok, reply.text
    name = {"marion": "Marion H.", "emilie": "Emilie F.", "nathalie": "Nathalie D."}[person]
    assert reply.text == f"{name} : statut changé en **{label}** par Emilie F. le {NOW_FR}."
    row = membership(ctx, mid)
    assert row.status == new
    assert row.accepted_date == accepted
    assert row.refused_date == refused
    assert row.admin_id == (world.users[admin] if admin else None)
    assert row.updated_date == NOW
    (entry,) = audit_entries(ctx)
    assert (entry.action, entry.membership_id, entry.target_user_id) == (
        "set_status",
        mid,
        world.users[person],
    )
    assert (json.loads(entry.before), json.loads(entry.after)) == ({"status": old}, {"status": new})


def test_a_status_change_from_a_stale_screen_is_refused(ctx, world):
    marion = world.membership("arc", "marion")
    before = snapshot(ctx)

    # the referent saw Marion refused; she is a member now
    reply = press(ctx, actor(ctx, world, "emilie"), Press("set_status", f"{marion}:2:3"))

    assert_refused(
        ctx,
        reply,
        before,
        f"Le statut de Marion H. a changé entre-temps (maintenant : membre). {NOTHING_CHANGED}",
    )


def test_setting_the_same_status_changes_nothing(ctx, world):
    marion = world.membership("arc", "marion")
    before = snapshot(ctx)

    reply = members.set_member_status(ctx, actor(ctx, world, "emilie"), marion, 1, 1)

    assert reply.text == f"Marion H. a déjà ce statut. {NOTHING_CHANGED}."
    assert snapshot(ctx) == before


@pytest.mark.parametrize("ref", ["{m}:7:1", "{m}:1:9"])
def test_an_unknown_status_is_refused(ctx, world, ref):
    before = snapshot(ctx)

    reply = press(
        ctx,
        actor(ctx, world, "emilie"),
        Press("set_status", ref.format(m=world.membership("arc", "marion"))),
    )

    assert_refused(ctx, reply, before, "Ce bouton n'est pas valide", NOTHING_CHANGED)


@pytest.mark.parametrize("new", [0, 1, 3])
def test_the_last_moderator_cannot_be_demoted(ctx, world, new):
    eddy = world.membership("lenord", "eddy")
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "eddy"), Press("set_status", f"{eddy}:{new}:2"))

    assert_refused(ctx, reply, before, "Impossible : c'est le dernier modérateur de la communauté.")


def test_of_two_moderators_one_may_step_down_but_not_the_second(ctx, world):
    jeanmarc = actor(ctx, world, "jeanmarc")
    emilie, jm = world.membership("arc", "emilie"), world.membership("arc", "jeanmarc")

    assert press(ctx, jeanmarc, Press("set_status", f"{emilie}:1:2")).ok
    before = snapshot(ctx)
    reply = press(ctx, jeanmarc, Press("set_status", f"{jm}:1:2"))

    assert_refused(ctx, reply, before, "dernier modérateur", NOTHING_CHANGED)
    assert membership(ctx, jm).status == MembershipStatus.MODERATOR


# --- Removal ----------------------------------------------------------------------------------


def test_removing_a_member_asks_then_deletes_the_row(ctx, world):
    marion = world.membership("arc", "marion")
    emilie = actor(ctx, world, "emilie")
    before = snapshot(ctx)

    asked = press(ctx, emilie, Press("remove", f"{marion}:1"))

    assert asked.text == "Retirer Marion H. de Arc France ?"
    assert [(b.label, b.action, b.ref, b.style) for b in asked.all_buttons] == [
        ("Oui, retirer", "remove_ok", f"{marion}:1", "danger"),
        ("Annuler", "cancel", "", None),
    ]
    assert snapshot(ctx) == before

    reply = press(ctx, emilie, Press("remove_ok", f"{marion}:1"))

    assert reply.ok
    assert reply.text == f"Marion H. a été retiré(e) de Arc France par Emilie F. le {NOW_FR}."
    assert membership(ctx, marion) is None
    (entry,) = audit_entries(ctx)
    assert (entry.action, entry.membership_id, entry.target_user_id, entry.actor_user_id) == (
        "remove",
        marion,
        world.users["marion"],
        world.users["emilie"],
    )
    assert json.loads(entry.before)["status"] == 1

    # pressing the confirmation again: the member is gone
    before = snapshot(ctx)
    again = press(ctx, emilie, Press("remove_ok", f"{marion}:1"))
    assert_refused(ctx, again, before, "Ce membre n'est plus dans la communauté.", NOTHING_CHANGED)


def test_removal_with_a_stale_status_is_refused(ctx, world):
    before = snapshot(ctx)

    reply = press(
        ctx,
        actor(ctx, world, "emilie"),
        Press("remove_ok", f"{world.membership('arc', 'marion')}:2"),
    )

    assert_refused(ctx, reply, before, "Le statut de Marion H. a changé entre-temps")


def test_the_last_moderator_cannot_be_removed(ctx, world):
    eddy = world.membership("lenord", "eddy")
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "operator"), Press("remove_ok", f"{eddy}:2"))

    assert_refused(ctx, reply, before, "dernier modérateur", NOTHING_CHANGED)
    assert membership(ctx, eddy) is not None


@pytest.mark.parametrize("action", ["member", "set_status", "remove", "remove_ok"])
def test_a_membership_that_no_longer_exists(ctx, world, action):
    before = snapshot(ctx)
    ref = {"member": "987654", "set_status": "987654:1:0"}.get(action, "987654:1")

    reply = press(ctx, actor(ctx, world, "emilie"), Press(action, ref))

    assert_refused(ctx, reply, before, "Ce membre n'est plus dans la communauté.")
