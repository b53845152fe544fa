"""Telling the member: decisions taken through the bot queue an e-mail in the same transaction."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from handlers.chat.actions import Press, press
from handlers.community import members, pending
from storage.codes import MembershipStatus
from storage.models import Language, User
from tests.handlers.community.helpers import emails, full_snapshot
from tests.handlers.helpers import actor, audit_entries, membership, set_status_directly


def test_approving_queues_a_french_welcome_to_the_member(mail_ctx, world):
    reply = pending.approve(
        mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre")
    )

    assert reply.ok
    [mail] = emails(mail_ctx)
    assert (mail.to_address, mail.kind, mail.language, mail.state) == (
        "pierre.lambert@arcfrance.fr", "accepted", "fr", "pending")  # fmt: skip
    assert mail.subject == "Bienvenue dans la communauté Arc France"
    assert mail.body.startswith("Bonjour Pierre,\n\nVotre demande d'adhésion à la communauté "
                                "« Arc France » a été acceptée.")  # fmt: skip
    assert "Et maintenant ?" in mail.body
    assert mail.membership_id == world.membership("arc", "pierre")


def test_a_refusal_says_no_reason_unless_the_referent_shares_it(mail_ctx, world):
    emilie = actor(mail_ctx, world, "emilie")
    pierre, helene = world.membership("arc", "pierre"), world.membership("arc", "helene")

    press(mail_ctx, emilie, Press("refuse", str(pierre), text="Adresse personnelle"))
    press(mail_ctx, emilie, Press("refuse", str(helene), text="! Réservé aux salariés d'Arc"))

    kept, shared = emails(mail_ctx)
    assert kept.subject == "Votre demande d'adhésion à la communauté Arc France"
    assert "n'a pas été acceptée" in kept.body
    assert "Adresse personnelle" not in kept.body and "Motif" not in kept.body
    assert "\n\n\n" not in kept.body
    assert "Motif indiqué par le référent : Réservé aux salariés d'Arc" in shared.body
    first, second = audit_entries(mail_ctx)
    assert (first.reason, json.loads(first.after)) == ("Adresse personnelle", {"status": 3})
    assert second.reason == "Réservé aux salariés d'Arc"  # the marker is not part of it
    assert json.loads(second.after) == {"status": 3, "reason_shared": True}


def test_the_refusal_prompt_tells_how_to_share_the_reason(mail_ctx, world):
    reply = pending.list_pending(
        mail_ctx, actor(mail_ctx, world, "emilie"), world.communities["arc"]
    )

    refuse = [b for b in reply.all_buttons if b.action == "refuse_listed"][0]
    assert "commencez le motif par « ! »" in refuse.input.prompt


def test_the_member_reads_it_in_their_platform_language(mail_ctx, world):
    with mail_ctx.sessions() as session, session.begin():
        english = Language(code="en")
        session.add(english)
        session.flush()
        session.execute(
            update(User).where(User.id == world.users["pierre"]).values(language_id=english.id)
        )

    pending.approve(mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre"))

    [mail] = emails(mail_ctx)
    assert mail.language == "en"
    assert mail.subject == "Welcome to the community Arc France"
    assert mail.body.startswith("Hello Pierre,")


def test_deciding_all_at_once_tells_each_member(mail_ctx, world):
    emilie = actor(mail_ctx, world, "emilie")
    arc = world.communities["arc"]

    reply = press(mail_ctx, emilie, Press("refuse_all_ok", f"{arc}:3"))

    assert reply.ok
    assert sorted((m.to_address, m.kind) for m in emails(mail_ctx)) == [
        ("francois.blanc@ARCFRANCE.fr", "refused"),
        ("helene.bernard@gmail.com", "refused"),
        ("pierre.lambert@arcfrance.fr", "refused"),
    ]


def test_status_changes_to_accepted_or_refused_tell_the_member_but_a_promotion_does_not(
    mail_ctx, world
):
    emilie = actor(mail_ctx, world, "emilie")
    nathalie, marion = world.membership("arc", "nathalie"), world.membership("arc", "marion")

    members.set_member_status(mail_ctx, emilie, nathalie, MembershipStatus.MEMBER, 3)
    members.set_member_status(mail_ctx, emilie, marion, MembershipStatus.MODERATOR, 1)
    members.set_member_status(mail_ctx, emilie, marion, MembershipStatus.REFUSED, 2)

    assert [(m.to_address, m.kind) for m in emails(mail_ctx)] == [
        ("nathalie.dupont@orange.fr", "accepted"),
        ("marion.hennebert@arcfrance.fr", "refused"),
    ]


def test_no_email_is_queued_when_email_is_off(ctx, world):
    emilie = actor(ctx, world, "emilie")

    pending.approve(ctx, emilie, world.membership("arc", "pierre"))
    press(ctx, emilie, Press("refuse", str(world.membership("arc", "helene")), text="! non"))

    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.MEMBER
    assert emails(ctx) == []


def test_a_stale_decision_queues_nothing(mail_ctx, world):
    pierre = world.membership("arc", "pierre")
    set_status_directly(mail_ctx, pierre, MembershipStatus.MEMBER)
    before = full_snapshot(mail_ctx)

    reply = pending.approve(mail_ctx, actor(mail_ctx, world, "emilie"), pierre)

    assert reply.ok is False
    assert full_snapshot(mail_ctx) == before


def test_the_email_and_the_decision_are_one_transaction(mail_ctx, world, monkeypatch):
    """The e-mail is queued, then the transaction fails: neither the decision nor it remain."""
    import handlers.community.pending as module

    real = module.queue_member_email

    def queue_then_fail(*args, **kwargs):
        assert real(*args, **kwargs) is not None
        raise RuntimeError("database lost after the e-mail was queued")

    monkeypatch.setattr(module, "queue_member_email", queue_then_fail)
    before = full_snapshot(mail_ctx)
    with pytest.raises(RuntimeError):
        pending.approve(
            mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre")
        )
    assert full_snapshot(mail_ctx) == before
