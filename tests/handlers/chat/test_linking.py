"""Link codes: single-use, expiring, hashed at rest, guessing slowed down; unlinking."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from handlers.chat.linking import (
    ATTEMPTS_PER_IDENTITY,
    ChatAccount,
    issue_link_code,
    linked_user_id,
    looks_like_code,
    mark_unreachable,
    redeem_link_code,
    unlink,
)
from handlers.core.errors import Refusal
from storage import clock
from storage.bot_models import ChatIdentity, LinkCode

ALICE = ChatAccount("telegram", "123456789", display_name="Emilie")
SLACK = ChatAccount("slack", "U024BE7LH", team_id="T12345")


def identities(ctx) -> list[ChatIdentity]:
    with ctx.sessions() as session:
        return list(session.scalars(select(ChatIdentity)))


def test_a_code_links_once(ctx, world):
    issued = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")
    assert looks_like_code(issued.code)
    reply = redeem_link_code(ctx, ALICE, issued.code.lower(), "fr")
    assert reply.ok
    assert reply.text.startswith("Compte relié : vous êtes maintenant Emilie F.")
    assert linked_user_id(ctx, ALICE) == world.users["emilie"]
    again = redeem_link_code(ctx, SLACK, issued.code, "fr")
    assert not again.ok
    assert "a déjà servi ou a expiré" in again.text
    assert linked_user_id(ctx, SLACK) is None
    with ctx.sessions() as session:
        stored = session.scalars(select(LinkCode)).one()
    assert stored.code_hash != issued.code and issued.code not in stored.code_hash
    assert stored.used_at is not None


def test_an_expired_code_is_refused(ctx, world):
    issued = issue_link_code(ctx, "eddy.lefebvre@lenord.fr")
    clock.set_now(clock.now() + dt.timedelta(minutes=15, seconds=1))
    reply = redeem_link_code(ctx, ALICE, issued.code, "en")
    assert not reply.ok
    assert reply.text.startswith("This link code is not valid, was already used or has expired.")
    assert identities(ctx) == []


def test_guessing_is_slowed_down(ctx, world):
    issued = issue_link_code(ctx, "eddy.lefebvre@lenord.fr")
    for _ in range(ATTEMPTS_PER_IDENTITY):
        assert "n'est pas valide" in redeem_link_code(ctx, ALICE, "AAAAAAAAAA", "fr").text
    blocked = redeem_link_code(ctx, ALICE, issued.code, "fr")
    assert blocked.text == "Trop de codes erronés : réessayez dans 15 minutes."
    assert identities(ctx) == []
    # another identity is not blocked, and the window passes
    assert redeem_link_code(ctx, SLACK, issued.code, "fr").ok
    clock.set_now(clock.now() + dt.timedelta(minutes=16))
    assert "n'est pas valide" in redeem_link_code(ctx, ALICE, issued.code, "fr").text


def test_relinking_moves_the_identity_and_unlinking_forgets_it(ctx, world):
    redeem_link_code(ctx, ALICE, issue_link_code(ctx, "eddy.lefebvre@lenord.fr").code, "fr")
    redeem_link_code(ctx, ALICE, issue_link_code(ctx, "lila.aubert@free.fr").code, "fr")
    assert linked_user_id(ctx, ALICE) == world.users["lila"]
    assert len(identities(ctx)) == 1
    mark_unreachable(ctx, ALICE)
    assert identities(ctx)[0].active is False
    assert unlink(ctx, ALICE, "fr").text.startswith("Compte délié")
    assert linked_user_id(ctx, ALICE) is None
    assert not unlink(ctx, ALICE, "fr").ok


def test_unknown_email(ctx, world):
    with pytest.raises(Refusal):
        issue_link_code(ctx, "personne@example.org")
