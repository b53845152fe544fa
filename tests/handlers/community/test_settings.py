"""A community's settings: visibility of members and ads, and the validation of new members."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import select

from handlers.chat.actions import Press, press
from handlers.community import settings as community_settings
from handlers.core.context import Context
from storage import clock
from storage.codes import MembershipStatus, ValidationType
from storage.models import CommunitySecurity
from tests.handlers.helpers import (
    NOTHING_CHANGED,
    NOW_FR,
    actor,
    assert_refused,
    audit_entries,
    button,
    buttons,
    community,
    membership,
    snapshot,
)

NOW = dt.datetime(2024, 1, 17, 10, 2)


def security_rows(ctx: Context) -> list[tuple[int, str, str]]:
    with ctx.sessions() as session:
        rows = session.scalars(select(CommunitySecurity).order_by(CommunitySecurity.id))
        return [(r.community_id, r.filename, r.original_name) for r in rows]


def stored_files(ctx: Context) -> list[str]:
    folder = ctx.settings.security_folder
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- Visibility -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "column", "on", "off"),
    [
        (
            "members_hidden",
            "members_hidden",
            "Arc France : les membres sont maintenant **cachés** dans l'espace communauté.",
            "Arc France : les membres sont maintenant **visibles** dans l'espace communauté.",
        ),
        (
            "ads_hidden",
            "proposals_hidden",
            "Arc France : les annonces sont maintenant **masquées** aux non-membres.",
            "Arc France : les annonces sont maintenant **visibles** de tous.",
        ),
    ],
)
def test_hiding_and_showing_is_set_not_flipped(ctx, world, action, column, on, off):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie", "slack")

    reply = press(ctx, emilie, Press(action, f"{arc}:1"))

    assert (reply.ok, reply.text, reply.replaces_message) == (True, on, True)
    assert getattr(community(ctx, arc), column) is True
    assert community(ctx, arc).updated_date == NOW
    (entry,) = audit_entries(ctx)
    assert (entry.action, entry.community_id, entry.actor_user_id, entry.front) == (
        column,
        arc,
        world.users["emilie"],
        "slack",
    )
    assert (json.loads(entry.before), json.loads(entry.after)) == ({column: False}, {column: True})

    # the same (old) button pressed again, later: idempotent, nothing written
    clock.set_now(NOW + dt.timedelta(hours=1))
    before = snapshot(ctx)
    again = press(ctx, emilie, Press(action, f"{arc}:1"))
    assert again.text == on
    assert snapshot(ctx) == before
    assert community(ctx, arc).updated_date == NOW

    shown = press(ctx, emilie, Press(action, f"{arc}:0"))
    assert shown.text == off
    assert getattr(community(ctx, arc), column) is False
    assert community(ctx, arc).updated_date == NOW + dt.timedelta(hours=1)
    assert len(audit_entries(ctx)) == 2
    # the other community is untouched
    assert getattr(community(ctx, world.communities["lenord"]), column) is False


@pytest.mark.parametrize("ref", ["{arc}:2", "{arc}", "{arc}:1:1", "x:1"])
def test_a_visibility_button_with_a_bad_value_is_refused(ctx, world, ref):
    before = snapshot(ctx)

    reply = press(
        ctx,
        actor(ctx, world, "emilie"),
        Press("members_hidden", ref.format(arc=world.communities["arc"])),
    )

    assert_refused(ctx, reply, before, "Ce bouton n'est pas valide", NOTHING_CHANGED)


# --- Validation: the menu, automatic and manual -----------------------------------------------


def test_the_validation_menu(ctx, world):
    arc = world.communities["arc"]

    reply = press(ctx, actor(ctx, world, "emilie"), Press("validation", str(arc)))

    assert reply.text.splitlines() == [
        "**Type de validation de Arc France** : validation par modérateur",
        "Domaines : arcfrance.fr",
        "• Automatique : l'adhérent fait automatiquement partie de la communauté.",
        "• Par modérateur : l'adhérent attend qu'un modérateur valide son adhésion.",
        "• Par domaine : l'adhérent est validé si son adresse e-mail correspond à un domaine "
        "défini.",
        "• Sécurisée : l'adhérent est validé s'il figure dans le fichier des identifiants "
        "autorisés.",
    ]
    assert buttons(reply) == [
        ("validation automatique", "validation_set", f"{arc}:0"),
        ("validation par modérateur", "validation_set", f"{arc}:1"),
        ("validation par domaine", "domains", str(arc)),
        ("validation sécurisée", "identifiers", str(arc)),
    ]
    assert button(reply, "domains").input.kind == "text"
    assert button(reply, "identifiers").input.kind == "file"


def test_automatic_validation_offers_to_accept_the_pending_members(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")

    reply = press(ctx, emilie, Press("validation_set", f"{arc}:0"))

    assert reply.ok
    assert reply.text == (
        "Arc France : type de validation changé en **validation automatique**.\n\n"
        "3 demandes sont en attente : en validation automatique, elles auraient été "
        "acceptées. Les accepter maintenant ?"
    )
    assert buttons(reply) == [("Oui, accepter les 3", "approve_all_ok", f"{arc}:3")]
    saved = community(ctx, arc)
    assert (saved.validation_type, saved.domain, saved.updated_date) == (0, "arcfrance.fr", NOW)
    (entry,) = audit_entries(ctx)
    assert entry.action == "validation"
    assert json.loads(entry.before) == {"validation_type": 1, "domain": "arcfrance.fr"}
    assert json.loads(entry.after) == {"validation_type": 0}

    accepted = press(ctx, emilie, Press("approve_all_ok", f"{arc}:3"))

    assert accepted.ok
    assert accepted.text.endswith(": Pierre L., Hélène B., François B.")
    for person in ("pierre", "helene", "francois"):
        assert membership(ctx, world.membership("arc", person)).status == MembershipStatus.MEMBER


def test_manual_validation_makes_no_offer(ctx, world):
    lenord = world.communities["lenord"]

    reply = press(ctx, actor(ctx, world, "eddy"), Press("validation_set", f"{lenord}:1"))

    assert (
        reply.text
        == "LeNord covoiture : type de validation changé en **validation par modérateur**."
    )
    assert reply.buttons == ()
    assert community(ctx, lenord).validation_type == ValidationType.MANUAL


def test_choosing_the_current_validation_changes_nothing(ctx, world):
    before = snapshot(ctx)

    reply = press(
        ctx, actor(ctx, world, "emilie"), Press("validation_set", f"{world.communities['arc']}:1")
    )

    assert reply.text == (
        "Arc France : le type de validation était déjà **validation par modérateur**. "
        "Rien n'a été modifié."
    )
    assert snapshot(ctx) == before


@pytest.mark.parametrize("value", [2, 3, 4])
def test_domain_and_secured_need_their_own_input(ctx, world, value):
    before = snapshot(ctx)

    reply = press(
        ctx,
        actor(ctx, world, "emilie"),
        Press("validation_set", f"{world.communities['arc']}:{value}"),
    )

    assert_refused(ctx, reply, before, "Ce bouton n'est pas valide", NOTHING_CHANGED)


# --- Validation by domain ---------------------------------------------------------------------


def test_domains_are_stored_as_the_platform_stores_them(ctx, world):
    gsk = world.communities["gsk"]

    reply = press(
        ctx, actor(ctx, world, "cyrielle"), Press("domains", str(gsk), "@gsk.com; GSK-intl.com ;")
    )

    assert reply.text == (
        "GSK Saint Amand les Eaux : type de validation changé en **validation par domaine**.\n"
        "Domaines : gsk.com, GSK-intl.com"
    )
    assert reply.buttons == ()  # Aurélien's gmail.com address matches neither
    saved = community(ctx, gsk)
    # case kept: the platform compares exactly (CommunityManager::canJoin)
    assert (saved.validation_type, saved.domain) == (ValidationType.DOMAIN, "gsk.com;GSK-intl.com")
    (entry,) = audit_entries(ctx)
    assert json.loads(entry.after) == {"validation_type": 2, "domain": "gsk.com;GSK-intl.com"}


def test_switching_to_domains_offers_to_accept_exactly_the_matching_requests(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")

    reply = press(ctx, emilie, Press("domains", str(arc), "@arcfrance.fr; arc-intl.com"))

    assert reply.text == (
        "Arc France : type de validation changé en **validation par domaine**.\n"
        "Domaines : arcfrance.fr, arc-intl.com\n\n"
        "1 demande en attente a une adresse e-mail de ces domaines. L'accepter maintenant ?"
    )
    # François's ARCFRANCE.fr is refused by the platform's case-sensitive check: not offered
    assert buttons(reply) == [("Oui, accepter 1 demande", "approve_matching_ok", f"{arc}:1")]
    assert community(ctx, arc).domain == "arcfrance.fr;arc-intl.com"

    accepted = press(ctx, emilie, Press("approve_matching_ok", f"{arc}:1"))

    assert accepted.text == (
        f"✅ 1 demande acceptée dans Arc France (domaine reconnu) par Emilie F. le {NOW_FR}"
        " : Pierre L."
    )
    statuses = {
        p: membership(ctx, world.membership("arc", p)).status
        for p in ("pierre", "helene", "francois")
    }
    assert statuses == {"pierre": 1, "helene": 0, "francois": 0}
    assert [e.membership_id for e in audit_entries(ctx) if e.action == "approve"] == [
        world.membership("arc", "pierre"),
    ]
    history = press(ctx, emilie, Press("history", str(arc)))
    assert "a choisi la validation par domaine (arcfrance.fr, arc-intl.com)" in history.text


def test_an_internationalised_domain_is_stored_as_typed(ctx, world):
    """Not in punycode: the platform compares it with e-mails as they are stored."""
    gsk = world.communities["gsk"]

    press(ctx, actor(ctx, world, "cyrielle"), Press("domains", str(gsk), "café.fr"))

    assert community(ctx, gsk).domain == "café.fr"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("not a domain", "not, a, domain"),
        ("exa mple", "exa, mple"),
        ("-bad.fr", "-bad.fr"),
        ("arcfrance.fr; -bad.fr", "-bad.fr"),
        ("arcfrance.fr;bad-.fr", "bad-.fr"),
        ("arcfrance", "arcfrance"),
        ("arcfrance.123", "arcfrance.123"),
        ("a..b.fr", "a..b.fr"),
        ("ex_ample.fr", "ex_ample.fr"),
        ("x" * 64 + ".fr", "x" * 64 + ".fr"),
    ],
)
def test_an_invalid_domain_is_refused_and_named(ctx, world, text, named):
    before = snapshot(ctx)

    reply = press(
        ctx, actor(ctx, world, "emilie"), Press("domains", str(world.communities["arc"]), text)
    )

    assert_refused(ctx, reply, before, f"Nom de domaine invalide : {named}. {NOTHING_CHANGED}")
    assert reply.buttons == ()


@pytest.mark.parametrize("text", ["", "  ", " ; , @ "])
def test_no_domain_is_refused(ctx, world, text):
    before = snapshot(ctx)

    reply = community_settings.set_domains(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], text
    )

    assert_refused(ctx, reply, before, "Aucun nom de domaine donné.", NOTHING_CHANGED)


def test_a_domain_list_too_long_for_the_column_is_refused(ctx, world):
    before = snapshot(ctx)
    text = ";".join(f"filiale-{n:03d}.arcfrance.fr" for n in range(12))  # 12 x 25 characters

    reply = community_settings.set_domains(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], text
    )

    assert_refused(
        ctx, reply, before, f"La liste des domaines dépasse 255 caractères. {NOTHING_CHANGED}"
    )


# --- Secured validation: the identifiers file -------------------------------------------------

UTF8_FILE = "E1234;01/02/1980\nDupré;Amélie\nE5678;12/12/1975\n".encode()
CP1252_FILE = "E1234;01/02/1980\r\nDupré;Amélie\r\nBœuf;Hélène\r\n".encode("cp1252")


@pytest.mark.parametrize(("content", "pairs"), [(UTF8_FILE, 3), (CP1252_FILE, 3)])
def test_a_valid_identifiers_file_makes_the_community_secured(ctx, world, content, pairs):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")

    reply = press(
        ctx,
        emilie,
        Press("identifiers", str(arc), file_name="salariés.csv", file_content=content),
    )

    assert reply.ok, reply.text
    assert reply.text == (
        "Arc France : **validation sécurisée** activée avec le fichier « salariés.csv » "
        f"({pairs} paires d'identifiants). Il remplace les fichiers précédents."
    )
    saved = community(ctx, arc)
    assert (saved.validation_type, saved.updated_date) == (ValidationType.SECURED, NOW)
    ((community_id, filename, original_name),) = security_rows(ctx)
    assert (community_id, original_name) == (arc, "salariés.csv")
    assert stored_files(ctx) == [filename]
    assert (ctx.settings.security_folder / filename).read_bytes() == content
    (entry,) = audit_entries(ctx)
    assert entry.action == "identifiers"
    assert json.loads(entry.after) == {"validation_type": 3, "file": "salariés.csv", "pairs": pairs}
    card = press(ctx, emilie, Press("card", str(arc)))
    assert "Type de validation : validation sécurisée" in card.text
    assert "Fichier des identifiants : salariés.csv" in card.text


def test_a_second_file_replaces_the_first(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    community_settings.set_identifiers(ctx, emilie, arc, "janvier.csv", UTF8_FILE)
    ((_, first, _),) = security_rows(ctx)

    reply = community_settings.set_identifiers(ctx, emilie, arc, "fevrier.txt", b"A;B\nC;D\n")

    assert reply.ok
    assert "« fevrier.txt » (2 paires d'identifiants)" in reply.text
    ((community_id, second, original_name),) = security_rows(ctx)
    assert (community_id, original_name) == (arc, "fevrier.txt")
    assert second != first
    assert stored_files(ctx) == [second]  # the old file is removed
    assert (ctx.settings.security_folder / second).read_bytes() == b"A;B\nC;D\n"


def test_a_file_with_bad_lines_is_refused_with_their_numbers(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    community_settings.set_identifiers(ctx, emilie, arc, "janvier.csv", UTF8_FILE)
    rows, files, before = security_rows(ctx), stored_files(ctx), snapshot(ctx)
    content = b"A1;B1\nseul\n\nA2;B2;C2\n;B3\nA4;\n   ;   \nA5;B5\n"

    reply = press(
        ctx, emilie, Press("identifiers", str(arc), file_name="mars.csv", file_content=content)
    )

    assert_refused(ctx, reply, before)
    assert reply.text.splitlines() == [
        "Fichier refusé, comme la plateforme le refuserait : 6 lignes ne sont pas une paire "
        "« identifiant;identifiant ». Rien n'a été modifié.",
        "ligne 2 : 1 colonne au lieu de 2 — « seul »",
        "ligne 3 : ligne vide — «  »",
        "ligne 4 : 3 colonnes au lieu de 2 — « A2;B2;C2 »",
        "ligne 5 : premier identifiant vide — « ;B3 »",
        "ligne 6 : second identifiant vide — « A4; »",
        "ligne 7 : premier identifiant vide — «    ;    »",
    ]
    # the first file is still in place, nothing else was stored
    assert security_rows(ctx) == rows
    assert stored_files(ctx) == files


def test_only_the_first_ten_bad_lines_are_listed(ctx, world):
    before = snapshot(ctx)
    content = b"".join(b"ligne%d\n" % n for n in range(1, 13))

    reply = community_settings.set_identifiers(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], "x.csv", content
    )

    assert_refused(
        ctx,
        reply,
        before,
        "Fichier refusé, comme la plateforme le refuserait : 12 lignes",
        "ligne 10 : 1 colonne au lieu de 2 — « ligne10 »",
    )
    assert "ligne 11 :" not in reply.text
    assert reply.text.splitlines()[-1] == "… et 2 autres lignes"
    assert security_rows(ctx) == [] and stored_files(ctx) == []


def test_a_file_over_the_size_limit_is_refused(ctx, world):
    small = Context(
        ctx.sessions, dataclasses.replace(ctx.settings, max_identifiers_file_bytes=2048)
    )
    before = snapshot(ctx)

    reply = community_settings.set_identifiers(
        small, actor(small, world, "emilie"), world.communities["arc"], "gros.csv", b"A;B\n" * 513
    )

    assert_refused(ctx, reply, before, f"Fichier trop volumineux (2 Ko au plus). {NOTHING_CHANGED}")
    assert security_rows(ctx) == [] and stored_files(ctx) == []


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("rapport.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf"),
        ("ids.csv", b"\x00\x01\x02\x03E1;E2\n", "application/octet-stream"),
        ("vide.csv", b"", "application/x-empty"),
    ],
)
def test_a_file_of_another_type_is_refused(ctx, world, name, content, mime):
    """By its content, as the platform's MIME check (CommunitySecurityManager::MIME_TYPES)."""
    before = snapshot(ctx)

    reply = community_settings.set_identifiers(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], name, content
    )

    assert_refused(
        ctx,
        reply,
        before,
        f"« {name} » n'est pas un fichier texte ou CSV (type {mime}) : la plateforme le "
        f"refuserait. {NOTHING_CHANGED}",
    )
    assert security_rows(ctx) == [] and stored_files(ctx) == []


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf"])  # a byte order mark alone: empty
def test_a_file_without_pairs_is_refused(ctx, world, content):
    before = snapshot(ctx)

    reply = community_settings.set_identifiers(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], "vide.csv", content
    )

    assert_refused(
        ctx,
        reply,
        before,
        "« vide.csv » n'est pas un fichier texte ou CSV (type application/x-empty)",
    )
    assert security_rows(ctx) == [] and stored_files(ctx) == []


def test_the_stored_name_ignores_folders_in_the_sent_name(ctx, world):
    community_settings.set_identifiers(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], "../../etc/ids.csv", UTF8_FILE
    )

    ((_, filename, original_name),) = security_rows(ctx)
    assert original_name == "ids.csv"
    assert stored_files(ctx) == [filename]


def test_the_identifiers_button_without_a_file_asks_for_it(ctx, world):
    before = snapshot(ctx)

    reply = press(
        ctx, actor(ctx, world, "emilie"), Press("identifiers", str(world.communities["arc"]))
    )

    assert_refused(ctx, reply, before, "Envoyez le fichier des identifiants autorisés")
