"""Pending members: the list, one decision, all at once, and who may decide at all."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from handlers.chat.actions import Press, press
from handlers.community import pending
from storage import clock
from storage.codes import MembershipStatus
from storage.models import CommunitySecurity, CommunityUser
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
    set_status_directly,
    snapshot,
)

NOW = dt.datetime(2024, 1, 17, 10, 2)
#: A refusal that does not name the community (it would tell its name to anyone).
NOT_ADMIN = "introuvable parmi celles que vous administrez. Rien n'a été modifié."


# --- The list ---------------------------------------------------------------------------------


def test_the_pending_list_shows_name_domain_match_and_date(ctx, world):
    arc = world.communities["arc"]

    reply = pending.list_pending(ctx, actor(ctx, world, "emilie"), arc)

    assert reply.ok
    assert reply.text.splitlines() == [
        "**Demandes en attente : Arc France** (3)",
        "• Pierre L. — arcfrance.fr ✓ domaine — demandé le 11/01/2024",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        # compared exactly, as the platform's CommunityManager::canJoin: ARCFRANCE.fr does not
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
    ]
    m = world.memberships
    # Decided from the list, the list stays: the buttons carry the community and the page.
    assert buttons(reply) == [
        ("✅ Pierre L.", "approve_listed", f"{m[('arc', 'pierre')]}:{arc}:0"),
        ("❌ Pierre L.", "refuse_listed", f"{m[('arc', 'pierre')]}:{arc}:0"),
        ("✅ Hélène B.", "approve_listed", f"{m[('arc', 'helene')]}:{arc}:0"),
        ("❌ Hélène B.", "refuse_listed", f"{m[('arc', 'helene')]}:{arc}:0"),
        ("✅ François B.", "approve_listed", f"{m[('arc', 'francois')]}:{arc}:0"),
        ("❌ François B.", "refuse_listed", f"{m[('arc', 'francois')]}:{arc}:0"),
        ("Tout accepter (3)", "approve_all", str(arc)),
        ("Tout refuser (3)", "refuse_all", str(arc)),
    ]
    refuse = button(reply, "refuse_listed", "Pierre")
    assert refuse.style == "danger"
    assert refuse.input is not None and refuse.input.optional
    assert refuse.input.prompt.startswith("Motif du refus (facultatif")
    assert button(reply, "approve_listed", "Pierre").style == "primary"


def test_a_community_without_domains_shows_no_match_mark(ctx, world):
    reply = pending.list_pending(ctx, actor(ctx, world, "cyrielle"), world.communities["gsk"])

    assert reply.text.splitlines() == [
        "**Demandes en attente : GSK Saint Amand les Eaux** (1)",
        "• Aurélien G. — gmail.com — demandé le 12/12/2023",
    ]


def test_no_pending_request_is_said_plainly(ctx, world):
    reply = pending.list_pending(ctx, actor(ctx, world, "eddy"), world.communities["lenord"])

    assert reply.ok
    assert reply.text == "Aucune demande en attente pour LeNord covoiture."
    assert reply.buttons == ()


def test_the_pending_list_pages_by_ten(ctx, world):
    add_members(ctx, world, "arc", 9, status=MembershipStatus.PENDING)
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    first = pending.list_pending(ctx, emilie, arc)
    second = press(ctx, emilie, Press("pending", f"{arc}:1"))

    assert first.text.splitlines()[0] == "**Demandes en attente : Arc France** (12)"
    assert len([b for b in first.all_buttons if b.action == "approve_listed"]) == 10
    assert "Page 1/2" in first.text
    assert ("Suivant ▶", "pending", f"{arc}:1") in buttons(first)
    assert ("Tout accepter (12)", "approve_all", str(arc)) in buttons(first)
    assert len([b for b in second.all_buttons if b.action == "approve_listed"]) == 2
    assert all(b.ref.endswith(f":{arc}:1") for b in second.all_buttons if "listed" in b.action)
    assert "Page 2/2" in second.text
    assert ("◀ Précédent", "pending", f"{arc}:0") in buttons(second)


def test_a_page_gone_since_shows_the_last_one(ctx, world):
    """ "Suivant" pressed on an old list, after requests were decided: the last page there is."""
    add_members(ctx, world, "arc", 9, status=MembershipStatus.PENDING)
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    gone = press(ctx, emilie, Press("pending", f"{arc}:5"))

    assert gone.text.splitlines()[0] == "**Demandes en attente : Arc France** (12)"
    assert "Page 2/2" in gone.text
    assert len([b for b in gone.all_buttons if b.action == "approve_listed"]) == 2
    assert all(b.ref.endswith(f":{arc}:1") for b in gone.all_buttons if "listed" in b.action)
    assert ("Tout accepter (12)", "approve_all", str(arc)) in buttons(gone)


# --- One decision -----------------------------------------------------------------------------


def test_approving_writes_what_the_platform_writes_and_the_audit_entry(ctx, world):
    pierre = world.membership("arc", "pierre")

    reply = press(ctx, actor(ctx, world, "emilie", "telegram"), Press("approve", str(pierre)))

    assert reply.ok
    assert reply.replaces_message
    assert reply.text == (
        f"✅ Pierre L. : demande acceptée dans Arc France par Emilie F. le {NOW_FR}."
    )
    row = membership(ctx, pierre)
    assert row.status == MembershipStatus.MEMBER
    assert row.accepted_date == NOW
    assert row.refused_date is None
    assert row.admin_id == world.users["emilie"]
    assert row.updated_date == NOW
    (entry,) = audit_entries(ctx)
    assert (entry.action, entry.actor_user_id, entry.front) == (
        "approve",
        world.users["emilie"],
        "telegram",
    )
    assert entry.community_id == world.communities["arc"]
    assert entry.target_user_id == world.users["pierre"]
    assert entry.membership_id == pierre
    assert json.loads(entry.before) == {"status": 0}
    assert json.loads(entry.after) == {"status": 1}
    assert entry.created_at == NOW
    assert entry.reason is None


def test_refusing_with_a_reason_keeps_it_in_the_audit_and_the_history(ctx, world):
    helene = world.membership("arc", "helene")
    jeanmarc = actor(ctx, world, "jeanmarc")

    reply = press(ctx, jeanmarc, Press("refuse", str(helene), text="  Adresse personnelle  "))

    assert reply.ok
    assert reply.text.splitlines() == [
        f"❌ Hélène B. : demande refusée dans Arc France par Jean-Marc M. le {NOW_FR}.",
        "Motif : Adresse personnelle",
    ]
    row = membership(ctx, helene)
    assert row.status == MembershipStatus.REFUSED
    assert row.refused_date == NOW
    assert row.accepted_date is None
    assert row.admin_id == world.users["jeanmarc"]
    assert row.updated_date == NOW
    (entry,) = audit_entries(ctx)
    assert entry.action == "refuse"
    assert entry.reason == "Adresse personnelle"
    assert json.loads(entry.after) == {"status": 3}
    history = press(ctx, jeanmarc, Press("history", str(world.communities["arc"])))
    assert (
        f"• {NOW_FR} — Jean-Marc M. (terminal) : a refusé Hélène B. — motif : Adresse personnelle"
        in history.text
    )


def test_refusing_clears_an_accepted_date(ctx, world):
    """A pending row with a leftover accepted date (written by hand) is made consistent."""
    helene = world.membership("arc", "helene")
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(CommunityUser)
            .where(CommunityUser.id == helene)
            .values(accepted_date=dt.datetime(2024, 1, 1))
        )

    pending.refuse(ctx, actor(ctx, world, "emilie"), helene, "   ")

    row = membership(ctx, helene)
    assert (row.status, row.accepted_date, row.refused_date) == (3, None, NOW)
    assert audit_entries(ctx)[0].reason is None  # a blank reason is no reason


def test_a_reason_too_long_is_refused(ctx, world):
    before = snapshot(ctx)

    reply = pending.refuse(
        ctx, actor(ctx, world, "emilie"), world.membership("arc", "helene"), "x" * 1001
    )

    too_long = "Texte trop long : 1\u202f001 caractères pour 1\u202f000 au plus"
    assert_refused(ctx, reply, before, too_long)


@pytest.mark.parametrize("second", ["approve", "refuse"])
def test_the_second_decider_is_told_who_decided_first_and_nothing_changes(ctx, world, second):
    pierre = world.membership("arc", "pierre")
    pending.approve(ctx, actor(ctx, world, "emilie"), pierre)
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "jeanmarc"), Press(second, str(pierre), text="non"))

    assert_refused(
        ctx,
        reply,
        before,
        f"Déjà traité : Pierre L. a été accepté(e) par Emilie F. le {NOW_FR}. {NOTHING_CHANGED}",
    )
    assert reply.replaces_message
    assert membership(ctx, pierre).admin_id == world.users["emilie"]


def test_a_refusal_decided_first_is_named_as_a_refusal(ctx, world):
    pierre = world.membership("arc", "pierre")
    pending.refuse(ctx, actor(ctx, world, "jeanmarc"), pierre)
    before = snapshot(ctx)

    reply = pending.approve(ctx, actor(ctx, world, "emilie"), pierre)

    assert_refused(
        ctx, reply, before, f"Déjà traité : Pierre L. a été refusé(e) par Jean-Marc M. le {NOW_FR}."
    )


def test_a_request_accepted_by_the_platform_itself_is_stale_too(ctx, world):
    """No admin_id: the platform accepted it (automatic validation), the date is still given."""
    pierre = world.membership("arc", "pierre")
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(CommunityUser)
            .where(CommunityUser.id == pierre)
            .values(status=1, accepted_date=dt.datetime(2024, 1, 16, 8, 15))
        )
    before = snapshot(ctx)

    reply = pending.approve(ctx, actor(ctx, world, "emilie"), pierre)

    assert_refused(
        ctx,
        reply,
        before,
        "Déjà traité : Pierre L. est déjà membre (depuis le 16/01/2024 à 08:15).",
        NOTHING_CHANGED,
    )


def test_a_deleted_request_is_said_to_be_gone(ctx, world):
    pierre = world.membership("arc", "pierre")
    with ctx.sessions() as session, session.begin():
        session.execute(delete(CommunityUser).where(CommunityUser.id == pierre))
    before = snapshot(ctx)

    for action in ("approve", "refuse"):
        reply = press(ctx, actor(ctx, world, "emilie"), Press(action, str(pierre)))
        assert_refused(ctx, reply, before, "Cette demande n'existe plus", NOTHING_CHANGED)


def test_the_decision_and_its_audit_entry_are_one_transaction(ctx, world, monkeypatch):
    """If writing the audit entry fails, the decision is rolled back with it."""
    before = snapshot(ctx)

    def broken_audit(session, *args, **kwargs):
        session.add(CommunitySecurity(community_id=None, filename="x", original_name="x"))
        session.flush()  # NOT NULL violation, as a failing audit insert would raise

    monkeypatch.setattr(pending, "audit", broken_audit)
    with pytest.raises(IntegrityError):
        pending.approve(ctx, actor(ctx, world, "emilie"), world.membership("arc", "pierre"))

    assert snapshot(ctx) == before
    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.PENDING


# --- Several in a row from one list -----------------------------------------------------------


def listed(world, person: str, page: int = 0, community: str = "arc") -> str:
    """The reference a list's decision button carries: membership, community, page."""
    return f"{world.membership(community, person)}:{world.communities[community]}:{page}"


def test_decisions_from_the_list_keep_it_until_it_is_empty(ctx, world):
    emilie = actor(ctx, world, "emilie", "telegram")
    arc = world.communities["arc"]
    m = world.memberships

    first = press(ctx, emilie, Press("approve_listed", listed(world, "pierre")))

    assert (first.ok, first.replaces_message) == (True, True)
    assert first.text.splitlines() == [
        "**Demandes en attente : Arc France** (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW_FR}",
    ]
    assert buttons(first) == [
        ("✅ Hélène B.", "approve_listed", f"{m[('arc', 'helene')]}:{arc}:0"),
        ("❌ Hélène B.", "refuse_listed", f"{m[('arc', 'helene')]}:{arc}:0"),
        ("✅ François B.", "approve_listed", f"{m[('arc', 'francois')]}:{arc}:0"),
        ("❌ François B.", "refuse_listed", f"{m[('arc', 'francois')]}:{arc}:0"),
        ("Tout accepter (2)", "approve_all", str(arc)),
        ("Tout refuser (2)", "refuse_all", str(arc)),
    ]
    assert button(first, "refuse_listed", "Hélène").input is not None

    second = press(
        ctx, emilie, Press("refuse_listed", listed(world, "helene"), text="Hors périmètre")
    )

    assert (second.ok, second.replaces_message) == (True, True)
    assert second.text.splitlines() == [
        "**Demandes en attente : Arc France** (1)",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW_FR}",
        f"❌ Hélène B. : refusée par Emilie F. le {NOW_FR}",
        "Motif : Hors périmètre",
    ]
    assert buttons(second) == [
        ("✅ François B.", "approve_listed", f"{m[('arc', 'francois')]}:{arc}:0"),
        ("❌ François B.", "refuse_listed", f"{m[('arc', 'francois')]}:{arc}:0"),
        ("Tout accepter (1)", "approve_all", str(arc)),
        ("Tout refuser (1)", "refuse_all", str(arc)),
    ]

    last = press(ctx, emilie, Press("approve_listed", listed(world, "francois")))

    assert (last.ok, last.replaces_message, last.buttons) == (True, True, ())
    assert last.text.splitlines() == [
        "Aucune demande en attente pour Arc France.",
        f"✅ Pierre L. : acceptée par Emilie F. le {NOW_FR}",
        f"❌ Hélène B. : refusée par Emilie F. le {NOW_FR}",
        f"✅ François B. : acceptée par Emilie F. le {NOW_FR}",
    ]
    statuses = [membership(ctx, m[("arc", p)]).status for p in ("pierre", "helene", "francois")]
    assert statuses == [MembershipStatus.MEMBER, MembershipStatus.REFUSED, MembershipStatus.MEMBER]
    entries = audit_entries(ctx)
    assert [(e.action, e.front, e.reason) for e in entries] == [
        ("approve", "telegram", None),
        ("refuse", "telegram", "Hors périmètre"),
        ("approve", "telegram", None),
    ]


def test_the_list_after_a_decision_in_english(ctx, world):
    emilie = replace(actor(ctx, world, "emilie"), language="en")

    reply = press(ctx, emilie, Press("refuse_listed", listed(world, "pierre"), text="! Not staff"))

    assert reply.text.splitlines() == [
        "**Pending requests: Arc France** (2)",
        "• Hélène B. — gmail.com ✗ domain — requested on 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domain — requested on 13/01/2024",
        "❌ Pierre L.: refused by Emilie F. on 17/01/2024 at 10:02",
        "Reason: Not staff",
    ]
    assert ("Accept all (2)", "approve_all", str(world.communities["arc"])) in buttons(reply)


def test_only_my_recent_single_decisions_on_this_community_are_shown(ctx, world):
    """The outcome lines: this referent's, on this community, in the last 15 minutes, one by
    one (a bulk decision has its own message; someone else's decisions are theirs to show)."""
    extra = add_members(ctx, world, "arc", 3, status=MembershipStatus.PENDING)
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    started = clock.now()
    clock.set_now(started - dt.timedelta(minutes=16))
    pending.approve(ctx, emilie, world.membership("arc", "pierre"))  # too long ago
    clock.set_now(started - dt.timedelta(minutes=14))
    pending.refuse(ctx, emilie, world.membership("arc", "helene"))  # recent, from a push
    pending.approve(ctx, actor(ctx, world, "jeanmarc"), world.membership("arc", "francois"))
    clock.set_now(started)

    reply = press(ctx, emilie, Press("approve_listed", f"{extra[0]}:{arc}:0"))

    assert reply.text.splitlines() == [
        "**Demandes en attente : Arc France** (2)",
        "• Membre01 E. — exemple.fr ✗ domaine — demandé le 30/04/2024",
        "• Membre02 E. — exemple.fr ✗ domaine — demandé le 30/04/2024",
        "❌ Hélène B. : refusée par Emilie F. le 17/01/2024 à 09:48",
        f"✅ Membre00 E. : acceptée par Emilie F. le {NOW_FR}",
    ]
    ask = pending.ask_bulk(ctx, emilie, "approve_all", arc)
    pending.confirm_bulk(ctx, emilie, "approve_all", arc, 2)  # audited, not shown below
    assert ask.ok
    none = press(ctx, emilie, Press("approve_listed", f"{extra[0]}:{arc}:0"))
    assert none.ok is False
    assert none.text.splitlines() == [
        "Déjà traité : Membre00 E. a été accepté(e) par Emilie F. le 17/01/2024 à 10:02. "
        "Rien n'a été modifié.",
        "Aucune demande en attente pour Arc France.",
        "❌ Hélène B. : refusée par Emilie F. le 17/01/2024 à 09:48",
        f"✅ Membre00 E. : acceptée par Emilie F. le {NOW_FR}",
    ]


def test_deciding_on_a_later_page_stays_on_it_then_shows_the_last_one(ctx, world):
    add_members(ctx, world, "arc", 9, status=MembershipStatus.PENDING)
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    second = press(ctx, emilie, Press("pending", f"{arc}:1"))
    refs = [b.ref for b in second.all_buttons if b.action == "approve_listed"]
    assert len(refs) == 2 and all(ref.endswith(f":{arc}:1") for ref in refs)

    one = press(ctx, emilie, Press("approve_listed", refs[0]))

    assert one.text.splitlines()[0] == "**Demandes en attente : Arc France** (11)"
    assert "Page 2/2" in one.text
    assert [b.ref for b in one.all_buttons if b.action == "approve_listed"] == [refs[1]]
    assert ("Tout accepter (11)", "approve_all", str(arc)) in buttons(one)

    emptied = press(ctx, emilie, Press("approve_listed", refs[1]))

    # Page 2 is gone: the last page there is (the first), whose buttons say so.
    assert emptied.text.splitlines()[0] == "**Demandes en attente : Arc France** (10)"
    assert "Page" not in emptied.text
    assert not [b for b in emptied.all_buttons if b.action == "pending"]
    approvals = [b.ref for b in emptied.all_buttons if b.action == "approve_listed"]
    assert len(approvals) == 10 and all(ref.endswith(f":{arc}:0") for ref in approvals)
    assert ("Tout accepter (10)", "approve_all", str(arc)) in buttons(emptied)
    assert emptied.text.count("acceptée par Emilie F.") == 2


def test_deciding_on_the_first_page_brings_up_the_next_request(ctx, world):
    add_members(ctx, world, "arc", 9, status=MembershipStatus.PENDING)
    emilie = actor(ctx, world, "emilie")

    reply = press(ctx, emilie, Press("approve_listed", listed(world, "pierre")))

    assert reply.text.splitlines()[0] == "**Demandes en attente : Arc France** (11)"
    assert "Page 1/2" in reply.text
    assert len([b for b in reply.all_buttons if b.action == "approve_listed"]) == 10
    assert "• Membre07 E." in reply.text  # the 11th request, from page 2 before
    assert ("Suivant ▶", "pending", f"{world.communities['arc']}:1") in buttons(reply)


def test_someone_deciding_first_is_said_on_the_list_and_nothing_changes(ctx, world):
    pending.approve(ctx, actor(ctx, world, "jeanmarc"), world.membership("arc", "pierre"))
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "emilie"), Press("refuse_listed", listed(world, "pierre")))

    assert_refused(ctx, reply, before)
    assert reply.replaces_message
    assert reply.text.splitlines() == [
        f"Déjà traité : Pierre L. a été accepté(e) par Jean-Marc M. le {NOW_FR}. "
        f"{NOTHING_CHANGED}.",
        "**Demandes en attente : Arc France** (2)",
        "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
        "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
    ]
    assert len([b for b in reply.all_buttons if b.action == "approve_listed"]) == 2


def test_a_request_gone_from_the_list_is_said_on_it(ctx, world):
    pierre = world.membership("arc", "pierre")
    with ctx.sessions() as session, session.begin():
        session.execute(delete(CommunityUser).where(CommunityUser.id == pierre))
    before = snapshot(ctx)

    for action in ("approve_listed", "refuse_listed"):
        reply = press(ctx, actor(ctx, world, "emilie"), Press(action, listed(world, "pierre")))
        assert_refused(ctx, reply, before)
        assert reply.replaces_message
        lines = reply.text.splitlines()
        assert lines[0].startswith("Cette demande n'existe plus")
        assert lines[1:] == [
            "**Demandes en attente : Arc France** (2)",
            "• Hélène B. — gmail.com ✗ domaine — demandé le 12/01/2024",
            "• François B. — ARCFRANCE.fr ✗ domaine — demandé le 13/01/2024",
        ]


def test_a_gone_request_with_a_forged_community_is_refused(ctx, world):
    """When the request is gone, the list shown is the reference's community: rights first."""
    pierre = world.membership("arc", "pierre")
    with ctx.sessions() as session, session.begin():
        session.execute(delete(CommunityUser).where(CommunityUser.id == pierre))
    before = snapshot(ctx)
    lenord = world.communities["lenord"]

    reply = press(ctx, actor(ctx, world, "emilie"), Press("approve_listed", f"{pierre}:{lenord}:0"))

    assert_refused(ctx, reply, before, f"Communauté n° {lenord} : introuvable")
    assert "LeNord" not in reply.text


def test_the_community_of_the_reference_is_only_a_pointer(ctx, world):
    """A list button naming another community still decides the request's own, which is the
    one checked and shown."""
    eddy = actor(ctx, world, "eddy")
    lenord = world.communities["lenord"]
    before = snapshot(ctx)
    pierre = world.membership("arc", "pierre")

    reply = press(ctx, eddy, Press("approve_listed", f"{pierre}:{lenord}:0"))

    assert_refused(ctx, reply, before, NOT_ADMIN)


@pytest.mark.parametrize("ref", ["{p}", "{p}:{arc}", "{p}:{arc}:0:1", "{p}:{arc}:x", "{p}:-1:0"])
def test_a_malformed_list_reference_changes_nothing(ctx, world, ref):
    before = snapshot(ctx)
    forged = ref.format(p=world.membership("arc", "pierre"), arc=world.communities["arc"])

    reply = press(ctx, actor(ctx, world, "emilie"), Press("approve_listed", forged))

    assert_refused(ctx, reply, before)


def test_a_too_long_reason_from_the_list_is_refused(ctx, world):
    before = snapshot(ctx)

    reply = press(
        ctx,
        actor(ctx, world, "emilie"),
        Press("refuse_listed", listed(world, "helene"), "x" * 1001),
    )

    assert_refused(
        ctx, reply, before, "Texte trop long : 1\u202f001 caractères pour 1\u202f000 au plus"
    )


# --- All at once ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ask", "confirm_label", "style", "status", "done"),
    [
        (
            "approve_all",
            "Accepter les 3 demandes en attente de Arc France ?",
            "Oui, accepter les 3",
            "primary",
            MembershipStatus.MEMBER,
            "✅ 3 demandes acceptées dans Arc France par Emilie F. le {now} : "
            "Pierre L., Hélène B., François B.",
        ),
        (
            "refuse_all",
            "Refuser les 3 demandes en attente de Arc France ?",
            "Oui, refuser les 3",
            "danger",
            MembershipStatus.REFUSED,
            "❌ 3 demandes refusées dans Arc France par Emilie F. le {now} : "
            "Pierre L., Hélène B., François B.",
        ),
    ],
)
def test_deciding_all_asks_with_the_count_then_applies_to_all(
    ctx, world, kind, ask, confirm_label, style, status, done
):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    before = snapshot(ctx)

    asked = press(ctx, emilie, Press(kind, str(arc)))

    assert asked.ok
    assert asked.text == ask
    assert snapshot(ctx) == before  # asking changes nothing
    assert [[(b.label, b.action, b.ref, b.style) for b in row] for row in asked.buttons] == [
        [(confirm_label, f"{kind}_ok", f"{arc}:3", style), ("Annuler", "cancel", "", None)]
    ]

    confirm = asked.all_buttons[0]
    reply = press(ctx, emilie, Press(confirm.action, confirm.ref))

    assert reply.ok
    assert reply.text == done.format(now=NOW_FR)
    for person in ("pierre", "helene", "francois"):
        row = membership(ctx, world.membership("arc", person))
        assert row.status == status
        assert row.admin_id == world.users["emilie"]
        assert row.updated_date == NOW
    entries = audit_entries(ctx)
    assert [e.membership_id for e in entries] == [
        world.membership("arc", p) for p in ("pierre", "helene", "francois")
    ]
    assert {json.loads(e.after)["bulk"] for e in entries} == {kind}
    # the other communities are untouched
    assert membership(ctx, world.membership("gsk", "aurelien")).status == MembershipStatus.PENDING


def test_cancel_changes_nothing(ctx, world):
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "emilie"), Press("cancel"))

    assert reply.text == "Annulé : rien n'a été modifié."
    assert snapshot(ctx) == before


def test_a_confirmation_with_an_outdated_count_changes_nothing_and_asks_again(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    asked = pending.ask_bulk(ctx, emilie, "approve_all", arc)
    pending.refuse(ctx, actor(ctx, world, "jeanmarc"), world.membership("arc", "helene"))
    before = snapshot(ctx)

    confirm = asked.all_buttons[0]
    reply = press(ctx, emilie, Press(confirm.action, confirm.ref))

    assert_refused(
        ctx,
        reply,
        before,
        f"Le nombre de demandes a changé : 3 annoncées, 2 maintenant. {NOTHING_CHANGED}",
        "Accepter les 2 demandes en attente de Arc France ?",
    )
    assert buttons(reply)[0] == ("Oui, accepter les 2", "approve_all_ok", f"{arc}:2")

    again = press(ctx, emilie, Press("approve_all_ok", f"{arc}:2"))
    assert again.ok
    assert again.text.endswith(": Pierre L., François B.")
    assert membership(ctx, world.membership("arc", "helene")).status == MembershipStatus.REFUSED


def test_asking_to_decide_all_when_none_is_pending(ctx, world):
    reply = press(
        ctx, actor(ctx, world, "eddy"), Press("approve_all", str(world.communities["lenord"]))
    )

    assert reply.text == "Aucune demande en attente pour LeNord covoiture."
    assert reply.buttons == ()


# --- Who may decide ---------------------------------------------------------------------------

#: (action, reference template, typed text) for every button about Arc France.
ARC_BUTTONS = [
    ("card", "{arc}", None),
    ("pending", "{arc}", None),
    ("pending", "{arc}:0", None),
    ("approve", "{pierre}", None),
    ("refuse", "{pierre}", "non"),
    ("approve_listed", "{pierre}:{arc}:0", None),
    ("refuse_listed", "{pierre}:{arc}:0", "non"),
    ("approve_all", "{arc}", None),
    ("refuse_all", "{arc}", None),
    ("approve_matching", "{arc}", None),
    ("approve_all_ok", "{arc}:3", None),
    ("refuse_all_ok", "{arc}:3", None),
    ("approve_matching_ok", "{arc}:2", None),
    ("members", "{arc}:a:0", None),
    ("members_search", "{arc}:a", "Lambert"),
    ("member", "{marion}", None),
    ("set_status", "{marion}:2:1", None),
    ("remove", "{marion}:1", None),
    ("remove_ok", "{marion}:1", None),
    ("members_hidden", "{arc}:1", None),
    ("ads_hidden", "{arc}:1", None),
    ("validation", "{arc}", None),
    ("validation_set", "{arc}:0", None),
    ("domains", "{arc}", "evil.example"),
    ("identifiers", "{arc}", None),
    ("history", "{arc}", None),
]


def arc_press(world, action: str, template: str, text: str | None) -> Press:
    ref = template.format(
        arc=world.communities["arc"],
        pierre=world.membership("arc", "pierre"),
        marion=world.membership("arc", "marion"),
    )
    if action == "identifiers":
        return Press(action, ref, file_name="ids.csv", file_content=b"123;01/02/1980\n")
    return Press(action, ref, text=text)


@pytest.mark.parametrize("person", ["marion", "eddy", "pierre"])
def test_no_arc_france_button_works_for_someone_who_does_not_administer_it(
    ctx, world, settings, person
):
    """A plain member, the moderator of another community and a pending member: forged or
    old buttons pointing into Arc France are all refused."""
    before = snapshot(ctx)
    someone = actor(ctx, world, person)

    for action, template, text in ARC_BUTTONS:
        reply = press(ctx, someone, arc_press(world, action, template, text))
        assert_refused(ctx, reply, before, NOT_ADMIN, NOTHING_CHANGED)
    assert not settings.security_folder.exists() or not any(settings.security_folder.iterdir())


def test_a_demoted_moderator_can_no_longer_press_the_buttons_they_still_have(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    old = pending.list_pending(ctx, emilie, arc)
    # the web admin makes Emilie a plain member
    set_status_directly(ctx, world.membership("arc", "emilie"), MembershipStatus.MEMBER)
    before = snapshot(ctx)

    for old_button in old.all_buttons:
        reply = press(ctx, emilie, Press(old_button.action, old_button.ref, text="non"))
        assert_refused(ctx, reply, before, NOT_ADMIN)
    for action, template, text in ARC_BUTTONS:
        reply = press(ctx, emilie, arc_press(world, action, template, text))
        assert_refused(ctx, reply, before, NOT_ADMIN)


def test_eddy_cannot_decide_an_arc_france_request_by_forging_its_id(ctx, world):
    """The reference is only a pointer: a LeNord moderator pressing 'approve' on an Arc
    France membership id is checked against Arc France."""
    before = snapshot(ctx)
    eddy = actor(ctx, world, "eddy")

    for person in ("pierre", "helene", "francois"):
        reply = pending.approve(ctx, eddy, world.membership("arc", person))
        assert_refused(ctx, reply, before, NOT_ADMIN)


@pytest.mark.parametrize(
    ("action", "ref"),
    [("pending", "987654"), ("approve_all", "987654"), ("approve_all_ok", "987654:1")],
)
def test_an_unknown_community_is_refused(ctx, world, action, ref):
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "operator"), Press(action, ref))

    assert_refused(
        ctx,
        reply,
        before,
        "Communauté n° 987654 : introuvable parmi celles que vous administrez.",
        NOTHING_CHANGED,
    )


def test_an_unknown_membership_is_refused(ctx, world):
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "operator"), Press("approve", "987654"))

    assert_refused(ctx, reply, before, "Cette demande n'existe plus", NOTHING_CHANGED)


def test_an_operator_decides_in_any_community(ctx, world):
    aurelien = world.membership("gsk", "aurelien")

    reply = pending.approve(ctx, actor(ctx, world, "operator"), aurelien)

    assert reply.ok
    assert reply.text == (
        f"✅ Aurélien G. : demande acceptée dans GSK Saint Amand les Eaux par Opérateur H. "
        f"le {NOW_FR}."
    )
    row = membership(ctx, aurelien)
    assert (row.status, row.admin_id) == (MembershipStatus.MEMBER, world.users["operator"])
    assert audit_entries(ctx)[0].actor_user_id == world.users["operator"]
