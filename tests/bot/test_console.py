"""The terminal front: typed commands and numbered buttons reach the same use cases."""

from __future__ import annotations

import io
import re

from bot.console import Console, bad_choice, pick_user
from storage.codes import MembershipStatus
from tests.handlers.helpers import audit_entries, membership


def run_console(ctx, user_id: int, lines: list[str]) -> str:
    stdin = io.StringIO("\n".join(lines) + "\n")
    stdout = io.StringIO()
    Console(ctx, user_id, stdin=stdin, stdout=stdout).loop()
    return stdout.getvalue()


def test_a_referent_approves_a_pending_member_with_numbered_buttons(ctx, world):
    # Emilie administers one community: the console opens on it; 1 = Arc France,
    # 1 = "En attente (3)", 1 = approve Pierre L.
    out = run_console(ctx, world.users["emilie"], ["1", "1", "1", "quitter"])
    assert "Connecté en tant que Emilie F. (emilie.fournier@arcfrance.fr)" in out
    assert "[1] Arc France (3 en attente)" in out
    assert "Demandes en attente : Arc France (3)" in out
    assert "• Pierre L. — arcfrance.fr ✓ domaine — demandé le 11/01/2024" in out
    # The list is printed again: what is still pending, then the outcome.
    assert "Demandes en attente : Arc France (2)" in out
    assert "✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02" in out
    assert out.rstrip().endswith("Au revoir.")
    row = membership(ctx, world.membership("arc", "pierre"))
    assert row.status == MembershipStatus.MEMBER
    assert row.admin_id == world.users["emilie"]
    assert [e.front for e in audit_entries(ctx)] == ["console"]


def test_refusal_with_a_reason_typed_at_the_prompt(ctx, world):
    out = run_console(
        ctx, world.users["emilie"], ["attente", "4", "Ne travaille pas chez Arc", "historique"]
    )
    assert "Motif du refus (facultatif" in out
    assert "❌ Hélène B. : refusée par Emilie F. le 17/01/2024 à 10:02" in out
    assert "a refusé Hélène B. — motif : Ne travaille pas chez Arc" in out
    assert membership(ctx, world.membership("arc", "helene")).status == MembershipStatus.REFUSED


def test_several_decisions_in_a_row_from_one_printed_list(ctx, world):
    """After each decision the list is printed again, numbered afresh: 1 accepts the first
    request left each time; then 2 refuses the last one, with a reason."""
    out = run_console(
        ctx, world.users["emilie"], ["attente", "1", "1", "2", "Hors périmètre", "quitter"]
    )
    screens = out.split("\n> ")
    after_first, after_second, after_last = screens[2], screens[3], screens[4]
    assert after_first.splitlines() == [
        "Demandes en attente : Arc France (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        "✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02",
        "[1] ✅ Hélène B.   [2] ❌ Hélène B.",
        "[3] ✅ François B.   [4] ❌ François B.",
        "[5] Tout accepter (2)   [6] Tout refuser (2)",
    ]
    assert after_second.splitlines() == [
        "Demandes en attente : Arc France (1)",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        "✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02",
        "✅ Hélène B. : acceptée par Emilie F. le 17/01/2024 à 10:02",
        "[1] ✅ François B.   [2] ❌ François B.",
        "[3] Tout accepter (1)   [4] Tout refuser (1)",
    ]
    # The answer to the reason prompt is typed on its line; the list follows it.
    assert after_last.split("historique seulement. ", 1)[1].splitlines() == [
        "Aucune demande en attente pour Arc France.",
        "✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02",
        "✅ Hélène B. : acceptée par Emilie F. le 17/01/2024 à 10:02",
        "❌ François B. : refusée par Emilie F. le 17/01/2024 à 10:02",
        "Motif : Hors périmètre",
    ]
    statuses = [
        membership(ctx, world.membership("arc", p)).status for p in ("pierre", "helene", "francois")
    ]
    assert statuses == [MembershipStatus.MEMBER, MembershipStatus.MEMBER, MembershipStatus.REFUSED]


def test_bad_choices_and_unknown_commands_change_nothing(ctx, world):
    out = run_console(
        ctx, world.users["emilie"], ["9", "detruire tout", "supprimer Arc France", "quit"]
    )
    # the communities list shows one button, Arc France
    assert "> Choix invalide. Le seul numéro proposé est le 1.\n" in out
    assert "Commande inconnue : « detruire »" in out
    # `supprimer` exists now, but a moderator may not delete the community
    assert "Seuls le référent de Arc France (son créateur) et les opérateurs" in out
    assert audit_entries(ctx) == []


def test_identifier_file_sent_by_path(ctx, world, tmp_path):
    path = tmp_path / "salaries.csv"
    path.write_bytes(b"12345;01/02/1980\n67890;15/06/1975\n")
    arc = world.communities["arc"]
    # validation menu of Arc France: [1] automatic [2] manual [3] domain [4] secured
    out = run_console(ctx, world.users["emilie"], [f"parametres {arc}", "5", "4", str(path)])
    assert "Chemin du fichier" in out
    assert "validation sécurisée** activée" not in out  # bold is rendered, not shown as **
    assert "validation sécurisée activée avec le fichier « salaries.csv » (2 paires" in out


def test_user_picker_lists_administrators_busiest_first(ctx, world):
    answers = iter(["7", "2"])
    said: list[str] = []
    user_id = pick_user(ctx, None, lambda prompt: next(answers), said.append)
    assert said[0] == "Sous quel compte utiliser le bot ?"
    assert said[1].startswith("[1] Jean-Marc M. <jean-marc.morel@arcfrance.fr> — Arc France")
    assert said[-1] == "Choix invalide. Choisissez un numéro entre 1 et 4."
    assert user_id == world.users["emilie"]


def test_user_picker_by_email(ctx, world):
    said: list[str] = []
    assert pick_user(ctx, "EDDY.lefebvre@lenord.fr", input, said.append) == world.users["eddy"]
    assert pick_user(ctx, "nobody@example.org", input, said.append) is None
    assert said == ["Aucun utilisateur n'a l'adresse « nobody@example.org »."]


def test_a_wrong_number_or_a_word_says_which_numbers_are_valid(ctx, world):
    arc = world.communities["arc"]
    # the card of Arc France: several numbered buttons; 0 and 99 are none of them
    out = run_console(ctx, world.users["emilie"], [f"parametres {arc}", "0", "99", "quit"])
    shown = max(int(n) for n in re.findall(r"^\[(\d+)\]", out, re.M))
    assert shown > 1
    expected = f"Choix invalide. Choisissez un numéro entre 1 et {shown}."
    assert out.count(expected) == 2
    # the account picker: a word that is not an e-mail address is a wrong choice too
    answers = iter(["personne", "1"])
    said: list[str] = []
    pick_user(ctx, None, lambda prompt: next(answers), said.append)
    assert said[-1] == "Choix invalide. Choisissez un numéro entre 1 et 4."
    assert audit_entries(ctx) == []


def test_a_number_when_no_choice_is_shown_and_in_english(ctx, world):
    console = Console(ctx, world.users["emilie"], stdin=io.StringIO(), stdout=io.StringIO())
    assert console.handle(console.actor(), "3") is None
    assert console.stdout.getvalue().strip() == (
        "Aucun choix numéroté n'est affiché : tapez une commande (aide pour la liste)."
    )
    assert bad_choice("en", 7) == "Invalid choice. Pick a number between 1 and 7."
    assert bad_choice("en", 1) == "Invalid choice. The only number offered is 1."
