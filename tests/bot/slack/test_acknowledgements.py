"""Every subcommand (French and English) is acknowledged at once and answered, and the times
are summarised. The summary measures its own requests (the `acks` fixture): it used to read
those the other Slack tests had left in conftest.ACKS, and so had to run last. The summary of
the whole run is printed at the end of the session (conftest.pytest_terminal_summary)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.bot.slack.conftest import ack_summary
from tests.bot.slack.test_scenarios import find

SUBCOMMANDS = [
    ("communautes", "*Vos communautés*"), ("communities", "*Vos communautés*"),
    ("attente", "*Demandes en attente"), ("pending", "*Demandes en attente"),
    ("membres", "*Membres de Arc France*"), ("members", "*Membres de Arc France*"),
    ("parametres", "*Arc France*"), ("settings", "*Arc France*"),
    ("historique", "Arc France"), ("history", "Arc France"),
    ("graphique", ""), ("chart", ""),
    ("langue", "Langue des messages du bot"), ("aide", "*Bot des référents"),
    ("help", "*Bot des référents"), ("", "*Bot des référents"),
]  # fmt: skip


@pytest.mark.asyncio
async def test_every_subcommand_is_acknowledged_and_answered(bot):
    for number, (text, expected) in enumerate(SUBCOMMANDS, start=1):
        sent = await bot.user.command("jeanmarc", text, channel=f"C0CMD{number}")
        assert sent.status == 200 and sent.body == ""
        assert sent.seconds < 1.0, (text, sent.seconds)
        posted = await bot.fake.wait_for("chat.postMessage", number)
        assert posted[-1].args["channel"] == f"C0CMD{number}"
        assert expected in bot.fake.texts("chat.postMessage")[-1], text
    await bot.user.command("jeanmarc", "bind", channel="C0BIND")
    await bot.user.command("jeanmarc", "language en", channel="C0LANG")
    await bot.fake.wait_for("chat.postMessage", len(SUBCOMMANDS) + 2)
    assert any("now in English" in text for text in bot.fake.texts("chat.postMessage"))
    await bot.user.command("jeanmarc", "frobnicate", channel="C0LANG")
    await bot.fake.wait_for("chat.postEphemeral")
    assert "Unknown command" in bot.fake.texts("chat.postEphemeral")[0]


@pytest_asyncio.fixture
async def acks(bot) -> list[tuple[str, float]]:
    """The acknowledgement times of every subcommand, typed here in a bot of its own."""
    for number, (text, _) in enumerate(SUBCOMMANDS, start=1):
        await bot.user.command("jeanmarc", text, channel=f"C0ACK{number}")
    await bot.fake.wait_for("chat.postMessage", len(SUBCOMMANDS))
    return list(bot.user.acks)


@pytest.mark.asyncio
async def test_acknowledgement_times_summary(acks, capsys):
    every = sorted(seconds for _, seconds in acks)
    with capsys.disabled():
        print("\n" + "\n".join(ack_summary(acks)))
    assert every[-1] < 1.0


@pytest.mark.asyncio
async def test_a_press_is_acknowledged_before_its_work_and_the_modal_still_opens(bot):
    """bolt answers when the listener returns (process_before_response): the listener must
    hand everything slow to a task. Here users.info, the first call of a press's work, takes
    1.5 s: the acknowledgement does not wait for it, and the modal the press asks for opens
    right after, with the trigger_id Slack gave (valid 3 s)."""
    await bot.user.command("jeanmarc", "attente")
    (listing,) = await bot.fake.wait_for("chat.postMessage")
    refuse = find(listing, "refuse_listed", "Hélène")
    bot.front._locales.clear()  # so that the press asks users.info again
    bot.fake.delay("users.info", 1.5)
    sent = await bot.user.press("jeanmarc", refuse, listing.result["ts"])
    assert sent.status == 200 and sent.body == ""
    assert sent.seconds < 0.5, sent.seconds  # not after the 1.5 s of users.info
    (opened,) = await bot.fake.wait_for("views.open")
    assert opened.args["trigger_id"].startswith("trigger-")
    assert opened.args["view"]["blocks"][0]["label"]["text"].startswith("Motif du refus")
