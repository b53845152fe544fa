"""The new use cases reach every front through handlers.chat.commands and handlers.chat.actions:
here the terminal front, with its numbered buttons and typed answers to a button's question."""

from __future__ import annotations

from storage.codes import MembershipStatus
from storage.community_admin import membership_of
from tests.bot.test_console import run_console
from tests.handlers.community.helpers import emails
from tests.handlers.helpers import community


def test_in_the_terminal_a_referent_adds_a_member_and_renames_the_community(mail_ctx, world):
    arc = world.communities["arc"]
    out = run_console(
        mail_ctx,
        world.users["jeanmarc"],
        [f"ajouter {arc} lila.aubert@free.fr", "2", f"renommer {arc}", "1", "Arc Covoiturage",
         "quitter"],
    )  # fmt: skip

    assert "Ajouter Lila A. (free.fr) à Arc France en tant que :" in out
    assert "➕ Lila A. a été ajouté(e) à Arc France comme modérateur par Jean-Marc M. le " in out
    assert "« Arc France » → « Arc Covoiturage »" in out
    with mail_ctx.sessions() as session:
        added = membership_of(session, arc, world.users["lila"])
    assert added.status == MembershipStatus.MODERATOR
    assert community(mail_ctx, arc).name == "Arc Covoiturage"
    assert [m.kind for m in emails(mail_ctx)] == ["added"]


def test_in_the_terminal_deleting_asks_for_the_exact_name(ctx, world):
    gsk = world.communities["gsk"]
    out = run_console(ctx, world.users["cyrielle"], ["supprimer", "1", "GSK Saint Amand les Eaux"])

    assert "Pour confirmer, tapez le nom exact de la communauté : GSK Saint Amand les Eaux" in out
    assert "a été supprimée par Cyrielle G." in out
    assert community(ctx, gsk) is None
