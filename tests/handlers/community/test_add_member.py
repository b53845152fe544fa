"""Adding a member, as the web admin's "Ajouter un membre": found by e-mail or by name, joined
directly as member or moderator, dated as the platform dates it."""

from __future__ import annotations

import json

import pytest

from handlers.chat import commands
from handlers.chat.actions import Press, press
from handlers.community import admin
from storage import queries
from storage.clock import now
from storage.codes import MembershipStatus
from storage.community_admin import membership_of
from tests.handlers.community.helpers import assert_refused_full, emails, full_snapshot
from tests.handlers.helpers import (
    NOW_FR,
    actor,
    add_members,
    audit_entries,
    button,
    buttons,
)

#: A refusal about a community the person does not administer (never its name).
NOT_ADMINISTERED = "introuvable parmi celles que vous administrez"


def run(ctx, who, text: str):
    name, args = commands.parse(text)
    return commands.run_command(ctx, who, name, args)


def joined(ctx, world, person: str):
    with ctx.sessions() as session:
        return membership_of(session, world.communities["arc"], world.users[person])


def test_found_by_email_then_added_as_member_dated_as_the_platform(mail_ctx, world):
    emilie = actor(mail_ctx, world, "emilie")
    arc = world.communities["arc"]
    lila = world.users["lila"]

    choice = run(mail_ctx, emilie, f"ajouter {arc} LILA.Aubert@free.fr")

    assert choice.ok
    assert choice.text == "Ajouter Lila A. (free.fr) à Arc France en tant que :"
    assert buttons(choice) == [
        ("Membre", "add_as", f"{arc}:{lila}:1"),
        ("Modérateur", "add_as", f"{arc}:{lila}:2"),
        ("Annuler", "cancel", ""),
    ]
    reply = press(mail_ctx, emilie, Press("add_as", f"{arc}:{lila}:1"))

    assert reply.ok
    assert reply.text == (
        f"➕ Lila A. a été ajouté(e) à Arc France comme **membre** par Emilie F. le {NOW_FR}. "
        "Un e-mail l'en informe."
    )
    added = joined(mail_ctx, world, "lila")
    assert (added.status, added.admin_id) == (MembershipStatus.MEMBER, world.users["emilie"])
    assert added.created_date == added.accepted_date == added.updated_date == now()
    assert added.refused_date is None
    [entry] = audit_entries(mail_ctx)
    assert (entry.action, entry.target_user_id, entry.membership_id) == (
        "add_member",
        lila,
        added.id,
    )
    assert json.loads(entry.after) == {"status": 1}
    [mail] = emails(mail_ctx)
    assert (mail.to_address, mail.kind) == ("lila.aubert@free.fr", "added")
    assert mail.subject == "Vous faites partie de la communauté Arc France"
    assert "ajouté(e) à la communauté « Arc France » en tant que membre" in mail.body


def test_added_as_moderator_the_person_administers_the_community(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    reply = press(ctx, emilie, Press("add_as", f"{arc}:{world.users['lila']}:2"))

    assert reply.ok and "comme **modérateur**" in reply.text
    assert "e-mail" not in reply.text  # e-mail is off in this configuration
    assert joined(ctx, world, "lila").status == MembershipStatus.MODERATOR
    with ctx.sessions() as session:
        assert queries.is_administrator(session, world.users["lila"], arc)
    assert emails(ctx) == []


def test_by_name_with_a_choice_when_several_match(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    add_members(ctx, world, "lenord", 3, family="Vasseur")
    ids = [world.users[k] for k in world.users if k.startswith("extra")]

    several = run(ctx, emilie, f"ajouter {arc} vasseur")

    assert several.text == "3 comptes correspondent à « vasseur » : lequel ajouter à Arc France ?"
    assert [(a, r) for _, a, r in buttons(several)][:3] == [("add_pick", f"{arc}:{i}") for i in ids]
    assert buttons(several)[0][0] == "Membre00 V. (exemple.fr)"
    role = press(ctx, emilie, Press("add_pick", f"{arc}:{ids[1]}"))
    assert role.text == "Ajouter Membre01 V. (exemple.fr) à Arc France en tant que :"
    single = run(ctx, emilie, f"ajouter {arc} Lila Aub")
    assert single.text.startswith("Ajouter Lila A. (free.fr) à Arc France")


def test_the_card_button_asks_for_an_email_or_a_name(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    card = admin.community_card(ctx, emilie, arc)
    add = button(card, "add_member")

    assert add.input.prompt == "Adresse e-mail ou nom de la personne à ajouter :"
    reply = press(ctx, emilie, Press("add_member", add.ref, text=" lila.aubert@free.fr "))
    assert reply.text.startswith("Ajouter Lila A. (free.fr) à Arc France")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("inconnu@exemple.fr", "Aucun compte Pass Pass covoiturage n'a l'adresse « inconnu@"),
        ("Zorglub", "Aucun compte Pass Pass covoiturage ne correspond à « Zorglub »"),
        ("pierre.lambert@arcfrance.fr", "Pierre L. fait déjà partie de Arc France (statut : en"),
        ("nathalie.dupont@orange.fr", "Nathalie D. fait déjà partie de Arc France (statut : ref"),
        ("Marion", "Marion H. fait déjà partie de Arc France (statut : membre)"),
        ("   ", "Indiquez l'adresse e-mail ou le nom"),
    ],
)  # fmt: skip
def test_unknown_people_and_people_already_in_get_a_clear_message(mail_ctx, world, query, message):
    emilie = actor(mail_ctx, world, "emilie")
    before = full_snapshot(mail_ctx)

    reply = press(mail_ctx, emilie, Press("add_member", str(world.communities["arc"]), text=query))

    assert_refused_full(mail_ctx, reply, before, message, "Rien n'a été modifié")


def test_adding_someone_already_in_by_an_old_button_changes_nothing(mail_ctx, world):
    emilie = actor(mail_ctx, world, "emilie")
    arc = world.communities["arc"]
    press(mail_ctx, emilie, Press("add_as", f"{arc}:{world.users['lila']}:1"))
    before = full_snapshot(mail_ctx)

    for ref in (f"{arc}:{world.users['lila']}:2", f"{arc}:{world.users['pierre']}:1"):
        reply = press(mail_ctx, emilie, Press("add_as", ref))
        assert_refused_full(mail_ctx, reply, before, "fait déjà partie de Arc France")


def test_only_administrators_add_and_forged_buttons_change_nothing(mail_ctx, world):
    arc = world.communities["arc"]
    lila = world.users["lila"]
    before = full_snapshot(mail_ctx)

    for person in ("marion", "eddy", "pierre"):
        who = actor(mail_ctx, world, person)
        for p in (
            Press("add_as", f"{arc}:{lila}:1"),
            Press("add_member", str(arc), text="lila.aubert@free.fr"),
            Press("add_pick", f"{arc}:{lila}"),
        ):
            assert_refused_full(mail_ctx, press(mail_ctx, who, p), before,
                                f"Communauté n° {arc} : {NOT_ADMINISTERED}")  # fmt: skip
    emilie = actor(mail_ctx, world, "emilie")
    for ref in (f"{arc}:{lila}:0", f"{arc}:{lila}:3", f"{arc}:999999:1", f"999999:{lila}:1"):
        assert press(mail_ctx, emilie, Press("add_as", ref)).ok is False
    assert full_snapshot(mail_ctx) == before


def test_an_operator_adds_in_any_community(ctx, world):
    operator = actor(ctx, world, "operator")
    gsk = world.communities["gsk"]

    reply = press(ctx, operator, Press("add_as", f"{gsk}:{world.users['lila']}:1"))

    assert reply.ok and "ajouté(e) à GSK Saint Amand les Eaux" in reply.text
