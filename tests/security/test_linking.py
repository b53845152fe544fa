"""Linking a chat identity, beyond tests/handlers/chat/test_linking.py: no code in clear in any
table, the comparison on equal-length hashes in constant time, the overall attempt limit (which
locks no holder of a valid code out, and alerts the operators), the expiry
boundary, one winner when two identities race for a code, unlinking and relinking, and rights
lost on the platform lost in chat at once (demotion, disabled account, operator removed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import threading

import pytest
from sqlalchemy import select, update

from handlers.chat import entry as chat
from handlers.chat import linking
from handlers.chat.actions import Press
from handlers.chat.linking import ChatAccount, issue_link_code, linked_user_id, redeem_link_code
from handlers.outbox import feed, watcher
from storage import clock
from storage.bot_models import ChatIdentity, Delivery, LinkAttempt, Notification
from storage.codes import MembershipStatus, UserStatus
from storage.models import Community, CommunityUser, User
from tests.handlers.helpers import snapshot
from tests.security.conftest import PLACE, fr, full_snapshot

ALICE = ChatAccount("telegram", "424242")
BOB = ChatAccount("slack", "U0BOB", team_id="T0PASSPASS")
BAD_CODE = fr("link.bad_code")


def cells(ctx) -> list[str]:
    return [str(v) for rows in full_snapshot(ctx).values() for row in rows for v in row]


def test_no_table_holds_a_code_in_clear(ctx, world):
    issued = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")
    unused = issue_link_code(ctx, "eddy.lefebvre@lenord.fr")
    redeem_link_code(ctx, BOB, "ABCDEFGHJK", "fr")  # a failed attempt is recorded...
    assert redeem_link_code(ctx, ALICE, issued.code, "fr").ok

    stored = " ".join(cells(ctx)).upper()
    for code in (issued.code, unused.code):  # ...but no code, used or not, is kept in clear
        assert code not in stored
    assert "ABCDEFGHJK" not in stored
    assert linking.hash_code(issued.code) in " ".join(cells(ctx))


def test_the_code_is_compared_as_equal_length_hashes_in_constant_time(ctx, world, monkeypatch):
    compared: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(linking.hmac, "compare_digest", spy)
    issued = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")

    assert redeem_link_code(ctx, ALICE, f"  {issued.code.lower()} ", "fr").ok
    assert len(compared) == 1
    ((stored, typed),) = compared
    assert len(stored) == len(typed) == 64 and stored == typed


TOO_MANY = fr("link.too_many_attempts", minutes=15)


def flood(ctx, identities: int = 20, each: int = 5, prefix: str = "66") -> list[ChatAccount]:
    """Throwaway chat accounts, each sending wrong codes up to its own limit (the issue's
    20 x 5: the overall limit is reached by the last one)."""
    accounts = [ChatAccount("telegram", f"{prefix}{n:03d}") for n in range(identities)]
    for account in accounts:
        for _ in range(each):
            assert redeem_link_code(ctx, account, "ABCDEFGHJK", "fr").text == BAD_CODE
    return accounts


def link_alerts(ctx) -> list[Notification]:
    with ctx.sessions() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == "link_attack")))


def test_a_flood_of_wrong_codes_locks_nobody_out_and_still_stops_guessing(ctx, world):
    issued = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")
    attackers = flood(ctx)
    before = full_snapshot(ctx)

    # Brute force is still stopped: an identity past its limit is refused without a lookup,
    # even with the right code, and nothing is recorded.
    for account in attackers:
        assert redeem_link_code(ctx, account, issued.code, "fr").text == TOO_MANY
    assert full_snapshot(ctx) == before
    # Past the overall limit, a new throwaway identity gets one guess only.
    newcomer = ChatAccount("slack", "U0NEW", team_id="T0PASSPASS")
    assert redeem_link_code(ctx, newcomer, "BBBBBBBBBB", "fr").text == BAD_CODE
    assert redeem_link_code(ctx, newcomer, issued.code, "fr").text == TOO_MANY
    assert linked_user_id(ctx, newcomer) is None

    # The referent holding a valid code links at once, from a new identity.
    linked = chat.on_command(ctx, ALICE, PLACE, "start", [issued.code])
    assert (linked.ok, linked.text) == (True, fr("link.linked", name="Emilie F.",
                                                 email="emilie.fournier@arcfrance.fr"))  # fmt: skip
    assert linked_user_id(ctx, ALICE) == world.users["emilie"]

    # The operators are told once per window, in their chats (the change feed).
    (alert,) = link_alerts(ctx)
    assert feed.render("fr", alert).text == fr(
        "feed.link_attack", failures="100", identities="20", minutes=15,
        when="17/01/2024 à 10:02",
    )  # fmt: skip
    operators = ("telegram", "", "-100777")
    with_chats = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, operator_chats=(operators,))
    )
    assert feed.scan_feed(with_chats) == 1
    with ctx.sessions() as session:
        (delivery,) = session.scalars(select(Delivery).where(Delivery.notification_id == alert.id))
        assert (delivery.platform, delivery.chat_id) == ("telegram", "-100777")
    # The window passes: the attackers' budget is back to 5 each, no more.
    clock.set_now(clock.now() + linking.ATTEMPT_WINDOW + dt.timedelta(seconds=1))
    fresh = issue_link_code(ctx, "eddy.lefebvre@lenord.fr")
    attacker = attackers[0]
    for _ in range(linking.ATTEMPTS_PER_IDENTITY):
        assert redeem_link_code(ctx, attacker, "CCCCCCCCCC", "fr").text == BAD_CODE
    assert redeem_link_code(ctx, attacker, fresh.code, "fr").text == TOO_MANY
    assert redeem_link_code(ctx, BOB, fresh.code, "fr").ok


def test_the_operators_alert_is_sent_once_per_window(ctx, world):
    flood(ctx)
    flood(ctx, identities=3, each=1, prefix="77")  # more failures, same window: no new alert
    assert len(link_alerts(ctx)) == 1
    clock.set_now(clock.now() + linking.ATTEMPT_WINDOW + dt.timedelta(seconds=1))
    flood(ctx)
    assert len(link_alerts(ctx)) == 2


def test_expiry_is_exact(ctx, world):
    first = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")
    second = issue_link_code(ctx, "eddy.lefebvre@lenord.fr")
    start = clock.now()
    clock.set_now(start + dt.timedelta(minutes=15) - dt.timedelta(seconds=1))
    assert redeem_link_code(ctx, ALICE, first.code, "fr").ok
    clock.set_now(start + dt.timedelta(minutes=15))
    assert redeem_link_code(ctx, BOB, second.code, "fr").text == BAD_CODE
    assert linked_user_id(ctx, BOB) is None


def test_two_identities_racing_for_one_code_link_one(ctx, world):
    issued = issue_link_code(ctx, "emilie.fournier@arcfrance.fr")
    accounts = [ChatAccount("telegram", f"77{n}") for n in range(4)]
    barrier = threading.Barrier(len(accounts))
    replies = {}

    def redeem(account):
        barrier.wait()
        replies[account.external_id] = redeem_link_code(ctx, account, issued.code, "fr")

    threads = [threading.Thread(target=redeem, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(r.ok for r in replies.values()) == [False, False, False, True]
    with ctx.sessions() as session:
        assert len(session.scalars(select(ChatIdentity)).all()) == 1


def test_unlink_then_relink(ctx, world):
    arc = str(world.communities["arc"])
    code = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
    assert chat.on_command(ctx, ALICE, PLACE, "start", [code]).ok
    assert chat.on_command(ctx, ALICE, PLACE, "attente", [arc]).ok

    assert chat.on_command(ctx, ALICE, PLACE, "delier", []).text == fr("link.unlinked")
    assert chat.on_command(ctx, ALICE, PLACE, "attente", [arc]).text == fr("error.not_linked")
    assert chat.on_press(ctx, ALICE, PLACE, Press("card", arc)).text == fr("error.not_linked")
    assert chat.on_command(ctx, ALICE, PLACE, "start", [code]).text == BAD_CODE  # used once

    fresh = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
    assert chat.on_command(ctx, ALICE, PLACE, "link", [fresh]).ok
    assert linked_user_id(ctx, ALICE) == world.users["emilie"]
    assert chat.on_command(ctx, ALICE, PLACE, "attente", [arc]).ok
    with ctx.sessions() as session:
        assert len(session.scalars(select(ChatIdentity)).all()) == 1
        assert session.scalars(select(LinkAttempt)).all() != []  # the reused code counted


def link(ctx, account: ChatAccount, email: str) -> None:
    assert redeem_link_code(ctx, account, issue_link_code(ctx, email).code, "fr").ok


def set_user_status(ctx, user_id: int, status: UserStatus) -> None:
    """The platform disables (or anonymizes) an account, behind the bot's back."""
    with ctx.sessions() as session, session.begin():
        session.execute(update(User).where(User.id == user_id).values(status=int(status)))


@pytest.mark.parametrize("status", [UserStatus.DISABLED, UserStatus.ANONYMIZED])
def test_a_disabled_account_loses_every_right_at_once(ctx, world, status):
    arc = world.communities["arc"]
    link(ctx, ALICE, "jean-marc.morel@arcfrance.fr")
    listing = chat.on_command(ctx, ALICE, PLACE, "attente", [str(arc)])
    approve = next(b for b in listing.all_buttons if b.action == "approve_listed")
    set_user_status(ctx, world.users["jeanmarc"], status)
    before = full_snapshot(ctx)
    disabled = fr("error.account_disabled")

    assert chat.on_command(ctx, ALICE, PLACE, "attente", [str(arc)]).text == disabled
    assert chat.on_press(ctx, ALICE, PLACE, Press(approve.action, approve.ref)).text == disabled
    assert chat.on_command(ctx, ALICE, PLACE, "communautes", []).text == disabled
    assert full_snapshot(ctx) == before
    with ctx.sessions() as session:  # nor is he pushed the community's new requests
        told = {r.user_id for r in watcher.recipients(session, arc)}
    assert world.users["jeanmarc"] not in told

    set_user_status(ctx, world.users["jeanmarc"], UserStatus.ACTIVE)
    assert chat.on_command(ctx, ALICE, PLACE, "attente", [str(arc)]).ok
    set_user_status(ctx, world.users["jeanmarc"], status)
    assert chat.on_command(ctx, ALICE, PLACE, "delier", []).text == fr("link.unlinked")


def test_a_creator_replaced_and_demoted_on_the_platform_loses_rights_at_once(ctx, world):
    arc = world.communities["arc"]
    link(ctx, ALICE, "jean-marc.morel@arcfrance.fr")
    card = chat.on_press(ctx, ALICE, PLACE, Press("card", str(arc)))
    assert card.ok
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(Community).where(Community.id == arc).values(user_id=world.users["emilie"])
        )
        session.execute(
            update(CommunityUser)
            .where(CommunityUser.id == world.membership("arc", "jeanmarc"))
            .values(status=int(MembershipStatus.MEMBER))
        )
    before = snapshot(ctx)

    for button in card.all_buttons:
        reply = chat.on_press(ctx, ALICE, PLACE, Press(button.action, button.ref, text="x"))
        assert (reply.ok, reply.text) == (
            False, fr("error.unknown_community", id=arc)), button  # fmt: skip
    assert snapshot(ctx) == before


def test_an_operator_removed_from_the_configuration_loses_rights_at_once(ctx, world):
    gsk = str(world.communities["gsk"])
    link(ctx, ALICE, "operateur@hautsdefrance-mobilites.fr")
    assert chat.on_command(ctx, ALICE, PLACE, "attente", [gsk]).ok
    settings = dataclasses.replace(ctx.settings, operators=frozenset())
    former = dataclasses.replace(ctx, settings=settings)
    before = snapshot(former)

    reply = chat.on_command(former, ALICE, PLACE, "attente", [gsk])

    assert reply.text == fr("error.unknown_community", id=gsk)
    assert snapshot(former) == before
