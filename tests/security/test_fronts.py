"""The matrix's refusals through each front's own translation: the console's typed commands and
numbered buttons, Telegram's callback data (fake Bot API) and Slack's button values and modals
(fake Slack API). Forged data pointing at another community's members, a moderator demoted on
the web admin while their buttons are still on screen, people without rights: each refused with
the exact message, and no table changed."""

from __future__ import annotations

import asyncio
import dataclasses
import io

import pytest
from sqlalchemy import select, update

from bot.console import Console
from handlers.chat import entry as chat
from handlers.chat.actions import callback_data
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code
from storage.bot_models import PendingInput
from storage.codes import MembershipStatus
from storage.models import CommunityUser
from tests.bot.slack.conftest import link as slack_link
from tests.bot.slack.test_scenarios import find
from tests.bot.telegram.conftest import EDDY, EMILIE, STRANGER, reply_to
from tests.bot.telegram.conftest import link as telegram_link
from tests.security.conftest import fr, full_snapshot

SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def not_admin(world, key: str) -> str:
    """Refusal for a community the person does not administer: its id, never its name."""
    return fr("error.unknown_community", id=world.communities[key])


#: Tables a refused request may touch: none. (The bot's transient question, if one was asked,
#: is gone again by the end of each exchange: checked separately.)
NOTHING = set()
PRIVATE = ChatPlace("telegram", "55000")


def demote(ctx, membership_id: int) -> None:
    """The web admin makes a moderator a plain member, behind the bot's back (plain SQL)."""
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(CommunityUser)
            .where(CommunityUser.id == membership_id)
            .values(status=int(MembershipStatus.MEMBER))
        )


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# --- Console ---------------------------------------------------------------------------------


class Script(io.StringIO):
    """Console input: lines, and callables run when the console reads that far (the web admin
    acting while the referent looks at the screen)."""

    def __init__(self, *items) -> None:
        super().__init__()
        self.items = list(items)

    def readline(self, *args) -> str:
        while self.items and callable(self.items[0]):
            self.items.pop(0)()
        return self.items.pop(0) + "\n" if self.items else ""


def console(ctx, user_id: int, *items) -> str:
    out = io.StringIO()
    Console(ctx, user_id, stdin=Script(*items), stdout=out).loop()
    return out.getvalue()


@SQLITE
def test_console_a_member_and_a_moderator_of_another_community_are_refused(ctx, world):
    arc = world.communities["arc"]
    before = full_snapshot(ctx)

    for person in ("marion", "eddy"):
        out = console(ctx, world.users[person], f"attente {arc}", f"renommer {arc} Pirate",
                      f"membres {arc}", "quitter")  # fmt: skip
        assert out.count(not_admin(world, "arc")) == 3, out

    assert changed(before, full_snapshot(ctx)) == NOTHING


@SQLITE
def test_console_a_demoted_moderator_presses_the_numbers_still_on_screen(ctx, world):
    arc = world.communities["arc"]
    # Emilie lists the pending requests: [1] approve Pierre, [2] refuse Pierre... then the web
    # admin demotes her, then she types 1, then 2 and a reason, then "Tout accepter (3)".
    snapshots = []

    def demoted() -> None:
        demote(ctx, world.membership("arc", "emilie"))
        snapshots.append(full_snapshot(ctx))

    out = console(ctx, world.users["emilie"], f"attente {arc}", demoted, "1", "2", "non", "7",
                  "quitter")  # fmt: skip

    assert "[1] ✅ Pierre L." in out and "[7] Tout accepter (3)" in out
    assert out.count(not_admin(world, "arc")) == 3, out
    assert changed(snapshots[0], full_snapshot(ctx)) == NOTHING


@SQLITE
def test_console_a_file_over_the_limit_is_refused_with_a_message(ctx, world, tmp_path):
    small = dataclasses.replace(ctx, settings=dataclasses.replace(
        ctx.settings, max_identifiers_file_bytes=2048))  # fmt: skip
    path = tmp_path / "ids.csv"
    path.write_bytes(b"12345;01/02/1980\n" * 200)  # 3 400 bytes
    before = full_snapshot(small)

    out = console(small, world.users["emilie"], f"parametres {world.communities['arc']}", "5",
                  "4", str(path), "quitter")  # fmt: skip

    assert fr("validation.file_too_big", limit="2") in out
    assert changed(before, full_snapshot(small)) == NOTHING
    assert not small.settings.security_folder.exists()


# --- Telegram --------------------------------------------------------------------------------


async def answered(api, query_id: str) -> str:
    calls = await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
    )
    return calls[0].params.get("text")


@SQLITE
@pytest.mark.asyncio
async def test_telegram_forged_callback_data_into_other_communities(api, front, ctx, world):
    """Emilie moderates Arc France; data naming GSK's and LeNord's members is refused."""
    await telegram_link(api, ctx, EMILIE)
    aurelien = world.membership("gsk", "aurelien")
    lila = world.membership("lenord", "lila")
    before = full_snapshot(ctx)
    message = {"message_id": 900}
    forged = [
        (callback_data("approve", str(aurelien)), not_admin(world, "gsk")),
        (callback_data("set_status", f"{aurelien}:2:0"), not_admin(world, "gsk")),
        (callback_data("remove_ok", f"{lila}:1"), not_admin(world, "lenord")),
        (callback_data("member", str(lila)), not_admin(world, "lenord")),
        (callback_data("add_as", f"{world.communities['gsk']}:{world.users['emilie']}:2"),
         not_admin(world, "gsk")),
        (callback_data("members_hidden", f"{world.communities['lenord']}:1"),
         not_admin(world, "lenord")),
        (callback_data("approve", "1;DROP TABLE community_user"), fr("error.bad_button")),
    ]  # fmt: skip
    for data, text in forged:
        query = api.press(EMILIE, message, data)
        assert await answered(api, query) == text.split("\n", 1)[0], data
    # A forged input button: the bot asks for the reason, the answer is refused all the same.
    query = api.press(EMILIE, message, callback_data("refuse", str(aurelien)))
    await answered(api, query)
    told = len([c for c in api.sent(EMILIE["id"]) if c.text == not_admin(world, "gsk")])
    api.send_text(EMILIE, "motif forgé")
    await api.wait_for(lambda c: c.method == "sendMessage" and c.text == not_admin(world, "gsk"),
                       count=told + 1)  # fmt: skip
    assert changed(before, full_snapshot(ctx)) == NOTHING


@SQLITE
@pytest.mark.asyncio
async def test_telegram_a_moderator_demoted_on_the_web_admin_while_buttons_are_on_screen(
    api,
    front,
    ctx,
    world,
):
    await telegram_link(api, ctx, EMILIE)
    api.send_text(EMILIE, f"/attente {world.communities['arc']}")
    listing = await reply_to(api, EMILIE["id"], 2)
    approve = listing.button("✅ Pierre")["callback_data"]
    refuse = listing.button("❌ Hélène")["callback_data"]
    approve_all = listing.button("Tout accepter")["callback_data"]
    demote(ctx, world.membership("arc", "emilie"))
    before = full_snapshot(ctx)

    for data in (approve, approve_all):
        assert await answered(api, api.press(EMILIE, listing, data)) == not_admin(world, "arc")
    await answered(api, api.press(EMILIE, listing, refuse))  # asks for the reason first
    told = len([c for c in api.sent(EMILIE["id"]) if c.text == not_admin(world, "arc")])
    api.send_text(EMILIE, "trop tard")
    await api.wait_for(lambda c: c.method == "sendMessage" and c.text == not_admin(world, "arc"),
                       count=told + 1)  # fmt: skip

    assert changed(before, full_snapshot(ctx)) == NOTHING
    assert not api.sent(EMILIE["id"], "editMessageText")  # the listing was not replaced


@SQLITE
@pytest.mark.asyncio
async def test_telegram_unlinked_and_no_rights(api, front, ctx, world):
    arc = world.communities["arc"]
    before = full_snapshot(ctx)
    api.send_text(STRANGER, f"/attente {arc}")
    assert (await reply_to(api, STRANGER["id"], 1)).text == fr("error.not_linked")
    query = api.press(STRANGER, {"message_id": 5}, callback_data("approve", "1"))
    assert await answered(api, query) == fr("error.not_linked")
    assert changed(before, full_snapshot(ctx)) == NOTHING
    await telegram_link(api, ctx, EDDY)  # LeNord's moderator, English client, French account
    before = full_snapshot(ctx)
    api.send_text(EDDY, f"/attente {arc}")
    assert (await reply_to(api, EDDY["id"], 2)).text == not_admin(world, "arc")
    assert changed(before, full_snapshot(ctx)) == NOTHING


# --- Slack -----------------------------------------------------------------------------------


def pending_inputs(ctx) -> list:
    with ctx.sessions() as session:
        return list(session.scalars(select(PendingInput)))


@pytest.mark.asyncio
async def test_slack_forged_values_into_other_communities(bot):
    """Jean-Marc (Arc France's creator) forges button values naming other communities' rows."""
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    approve = find(listing, "approve_listed", "Pierre")
    aurelien = bot.world.membership("gsk", "aurelien")
    lila = bot.world.membership("lenord", "lila")
    before = full_snapshot(bot.ctx)
    forged = [
        (f"approve|{aurelien}", not_admin(bot.world, "gsk")),
        # A list button naming Arc France: the request's own community is the one checked.
        (
            f"approve_listed|{aurelien}:{bot.world.communities['arc']}:0",
            not_admin(bot.world, "gsk"),
        ),
        (f"set_status|{aurelien}:2:0", not_admin(bot.world, "gsk")),
        (f"remove_ok|{lila}:1", not_admin(bot.world, "lenord")),
        (f"validation_set|{bot.world.communities['lenord']}:1", not_admin(bot.world, "lenord")),
        ("approve|١", fr("error.bad_button")),
    ]
    for number, (value, _) in enumerate(forged, start=1):
        sent = await bot.user.press("jeanmarc", approve, listing.result["ts"], value=value)
        assert sent.status == 200
        await bot.fake.wait_for("chat.postEphemeral", number)
    texts = bot.fake.texts("chat.postEphemeral")
    for (value, text), shown in zip(forged, texts, strict=True):
        assert shown == text.replace("**", "*"), value
    assert bot.fake.of("chat.update") == []
    assert changed(before, full_snapshot(bot.ctx)) == NOTHING


@pytest.mark.asyncio
async def test_slack_a_moderator_demoted_while_buttons_are_on_screen(bot):
    slack_link(bot.ctx, "emilie", "emilie.fournier@arcfrance.fr")
    await bot.user.command("emilie", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    demote(bot.ctx, bot.world.membership("arc", "emilie"))
    before = full_snapshot(bot.ctx)

    await bot.user.press("emilie", find(listing, "approve_listed", "Pierre"), listing.result["ts"])
    await bot.fake.wait_for("chat.postEphemeral")
    # The refusal button opens its modal (the trigger lives 3 s); the submission is refused.
    await bot.user.press("emilie", find(listing, "refuse_listed", "Hélène"), listing.result["ts"])
    (opened,) = await bot.fake.wait_for("views.open")
    await bot.user.submit("emilie", opened.args["view"], "trop tard")
    await bot.fake.wait_for("chat.postEphemeral", 2)
    await asyncio.sleep(0.1)

    assert (
        bot.fake.texts("chat.postEphemeral") == [not_admin(bot.world, "arc").replace("**", "*")] * 2
    )
    assert bot.fake.of("chat.update") == []
    assert changed(before, full_snapshot(bot.ctx)) == NOTHING
    assert pending_inputs(bot.ctx) == []


@pytest.mark.asyncio
async def test_slack_unlinked_and_member(bot):
    arc = bot.world.communities["arc"]
    before = full_snapshot(bot.ctx)
    await bot.user.command("stranger", f"attente {arc}")
    code = issue_link_code(bot.ctx, "lila.aubert@free.fr").code  # a LeNord member
    await bot.fake.wait_for("chat.postEphemeral")
    assert bot.fake.texts("chat.postEphemeral")[0] == fr("error.not_linked")
    await bot.user.command("eddy", f"link {code}")  # Slack user "eddy" linked to Lila
    await bot.fake.wait_for("chat.postEphemeral", 2)
    linked = full_snapshot(bot.ctx)
    assert changed(before, linked) == {"bot_chat_identity", "bot_link_code"}
    await bot.user.command("eddy", f"parametres {bot.world.communities['lenord']}")
    await bot.fake.wait_for("chat.postEphemeral", 3)
    assert bot.fake.texts("chat.postEphemeral")[2] == not_admin(bot.world, "lenord")
    assert changed(linked, full_snapshot(bot.ctx)) == NOTHING


# --- Linking under a flood of wrong codes -------------------------------------------------------


def wrong_codes(ctx, identities: int = 20, each: int = 5) -> None:
    """The issue's attack: throwaway chat accounts sending wrong codes up to their limit."""
    for n in range(identities):
        account = ChatAccount("telegram", f"55{n:03d}")
        for _ in range(each):
            assert not chat.on_command(ctx, account, PRIVATE, "start", ["ABCDEFGHJK"]).ok


@SQLITE
@pytest.mark.asyncio
async def test_telegram_a_valid_code_links_at_once_after_a_flood_of_wrong_codes(api, front, ctx):
    wrong_codes(ctx)
    api.send_text(STRANGER, "/start ABCDEFGHJK")  # a fresh attacker: one guess...
    assert (await reply_to(api, STRANGER["id"], 1)).text == fr("link.bad_code")
    api.send_text(STRANGER, "/start ABCDEFGHJM")  # ...then no more lookups
    assert (await reply_to(api, STRANGER["id"], 2)).text == fr("link.too_many_attempts", minutes=15)

    await telegram_link(api, ctx, EMILIE)  # asserts "Compte relié"


@pytest.mark.asyncio
async def test_slack_a_valid_code_links_at_once_after_a_flood_of_wrong_codes(bot):
    wrong_codes(bot.ctx)
    code = issue_link_code(bot.ctx, "emilie.fournier@arcfrance.fr").code

    await bot.user.command("emilie", f"link {code}")

    await bot.fake.wait_for("chat.postEphemeral")
    assert bot.fake.texts("chat.postEphemeral")[-1] == fr(
        "link.linked", name="Emilie F.", email="emilie.fournier@arcfrance.fr"
    )
