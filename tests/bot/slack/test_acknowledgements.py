"""Every subcommand (French and English) is acknowledged at once and answered; then the
acknowledgement times measured across tests/slack (this module runs last) are summarised."""

from __future__ import annotations

import statistics

import pytest

from tests.bot.slack.conftest import ACKS

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


def test_acknowledgement_times_summary(capsys):
    if len(ACKS) < 20:
        pytest.skip("run the whole of tests/slack to measure acknowledgement times")
    by_kind: dict[str, list[float]] = {}
    for kind, seconds in ACKS:
        by_kind.setdefault(kind.split(" ")[0] + " " + kind.split(" ")[1] if " " in kind
                           else kind, []).append(seconds)  # fmt: skip
    every = sorted(seconds for _, seconds in ACKS)
    p99 = every[min(len(every) - 1, round(0.99 * (len(every) - 1)))]
    with capsys.disabled():
        print(f"\nSlack acknowledgements: {len(every)} requests, "
              f"p50 {statistics.median(every) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
              f"max {every[-1] * 1000:.1f} ms")  # fmt: skip
        for kind, values in sorted(by_kind.items()):
            values.sort()
            print(f"  {kind:<34} n={len(values):<3} p50 {statistics.median(values) * 1000:6.1f} ms"
                  f"  max {values[-1] * 1000:6.1f} ms")  # fmt: skip
    assert every[-1] < 1.0
