"""The chat fronts' common entry: unlinked people get only the way to link; groups get bound."""

from __future__ import annotations

from sqlalchemy import select

from handlers.chat import entry as chat
from handlers.chat.actions import Press
from handlers.chat.bindings import ChatPlace, migrate_chat
from handlers.chat.linking import ChatAccount, issue_link_code
from storage.bot_models import ChatBinding
from storage.codes import MembershipStatus
from tests.handlers.helpers import membership, snapshot

#: A refusal about a community the person does not administer (never its name).
NOT_ADMINISTERED = "introuvable parmi celles que vous administrez"

EMILIE = ChatAccount("telegram", "1001", display_name="Emilie")
STRANGER = ChatAccount("telegram", "6666")
PRIVATE = ChatPlace("telegram", "1001")
GROUP = ChatPlace("telegram", "-100200", is_group=True)


def link(ctx, account, email):
    code = issue_link_code(ctx, email).code
    reply = chat.on_command(ctx, account, PRIVATE, "start", [code])
    assert reply.ok, reply.text


def bindings(ctx) -> list[tuple[str, int, bool]]:
    with ctx.sessions() as session:
        return [
            (b.chat_id, b.community_id, b.active)
            for b in session.scalars(select(ChatBinding).order_by(ChatBinding.id))
        ]


def test_an_unlinked_person_is_told_how_to_link_and_gets_nothing_else(ctx, world):
    before = snapshot(ctx)
    for name, args in (("attente", []), ("communautes", []), ("lier", ["1"]), ("start", [])):
        reply = chat.on_command(ctx, STRANGER, PRIVATE, name, args)
        assert not reply.ok
        assert "n'est pas relié à un compte Pass Pass covoiturage" in reply.text
        assert reply.buttons == ()
    pressed = chat.on_press(
        ctx, STRANGER, PRIVATE, Press("approve", str(world.membership("arc", "pierre"))), "en"
    )
    assert pressed.text.startswith("Your chat account is not linked")
    assert snapshot(ctx) == before


def test_once_linked_commands_and_buttons_work(ctx, world):
    link(ctx, EMILIE, "emilie.fournier@arcfrance.fr")
    listing = chat.on_command(ctx, EMILIE, PRIVATE, "pending", [])
    assert "**Demandes en attente : Arc France** (3)" in listing.text
    approve = next(b for b in listing.all_buttons if b.action == "approve_listed")
    done = chat.on_press(ctx, EMILIE, PRIVATE, Press(approve.action, approve.ref))
    assert done.text.startswith("**Demandes en attente : Arc France** (2)")
    assert done.text.endswith("✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02")
    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.MEMBER
    assert chat.on_command(ctx, EMILIE, PRIVATE, "delier", []).text.startswith("Compte délié")
    assert not chat.on_command(ctx, EMILIE, PRIVATE, "attente", []).ok


def test_lier_binds_a_group_to_the_community(ctx, world):
    link(ctx, EMILIE, "emilie.fournier@arcfrance.fr")
    private = chat.on_command(ctx, EMILIE, PRIVATE, "lier", [])
    assert not private.ok and "dans un groupe" in private.text
    reply = chat.on_command(ctx, EMILIE, GROUP, "lier", [])
    assert (
        reply.text == "Ce groupe recevra désormais les nouvelles demandes d'adhésion de Arc France."
    )
    assert bindings(ctx) == [("-100200", world.communities["arc"], True)]
    again = chat.on_command(ctx, EMILIE, GROUP, "lier", [str(world.communities["arc"])])
    assert again.text == "Ce groupe reçoit déjà les demandes de Arc France."
    refused = chat.on_command(ctx, EMILIE, GROUP, "lier", [str(world.communities["lenord"])])
    assert (
        not refused.ok
        and f"Communauté n° {world.communities['lenord']} : {NOT_ADMINISTERED}" in refused.text
    )
    assert migrate_chat(ctx, "telegram", "-100200", "-100999") == 1
    assert bindings(ctx) == [("-100999", world.communities["arc"], True)]


def test_delier_in_a_group_unbinds_it_for_a_referent_only(ctx, world):
    link(ctx, EMILIE, "emilie.fournier@arcfrance.fr")
    assert chat.on_command(ctx, EMILIE, GROUP, "lier", []).ok
    marion = ChatAccount("telegram", "1003")
    link(ctx, marion, "marion.hennebert@arcfrance.fr")  # a plain member of Arc France
    before = snapshot(ctx)
    refused = chat.on_command(ctx, marion, GROUP, "delier", [])
    assert (
        not refused.ok
        and f"Communauté n° {world.communities['arc']} : {NOT_ADMINISTERED}" in refused.text
    )
    assert snapshot(ctx) == before and bindings(ctx)[0][2] is True
    done = chat.on_command(ctx, EMILIE, GROUP, "delier", [])
    assert done.text == "Ce groupe ne recevra plus les demandes de : Arc France."
    assert bindings(ctx) == [("-100200", world.communities["arc"], False)]
    # Emilie is still linked: /delier in the group unbound the group, not her.
    assert chat.on_command(ctx, EMILIE, PRIVATE, "attente", []).ok
    again = chat.on_command(ctx, EMILIE, GROUP, "delier", [])
    assert again.text == "Ce groupe n'est lié à aucune communauté que vous administrez."


def test_an_operator_picks_the_community_to_bind(ctx, world):
    operator = ChatAccount("telegram", "42")
    link(ctx, operator, "operateur@hautsdefrance-mobilites.fr")
    menu = chat.on_command(ctx, operator, GROUP, "lier", [])
    assert menu.text == "Pour quelle communauté ?"
    gsk = next(b for b in menu.all_buttons if b.label == "GSK Saint Amand les Eaux")
    bound = chat.on_press(ctx, operator, GROUP, Press(gsk.action, gsk.ref))
    assert "GSK Saint Amand les Eaux" in bound.text
    assert bindings(ctx) == [("-100200", world.communities["gsk"], True)]
    forged = chat.on_press(ctx, operator, GROUP, Press("bind", "12;DROP"))
    assert not forged.ok and "bouton n'est pas valide" in forged.text
