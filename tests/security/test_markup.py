"""A member's name, a community's name, a reason: never read as markup, on any front.

People name themselves with the markup characters of every front (Telegram HTML, Slack mrkdwn,
the handlers' `**bold**`, the terminal's escape sequences). Each such name must show literally
in lists, cards, search results, history, pushes and e-mails, and no message may be lost:
Telegram refuses a message whose HTML it cannot parse, so the fake Bot API refuses it too.
"""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import select

from bot.console import Console, terminal
from bot.slack import render as slack
from bot.telegram.render import to_html
from handlers.community import admin as community_admin
from handlers.community import communities, history, members, pending
from handlers.core.markup import ESC, escape, plain
from storage.bot_models import EmailMessage
from tests.bot.slack.conftest import link as slack_link
from tests.bot.telegram.conftest import EMILIE, link, reply_to
from tests.bot.telegram.fake_bot_api import html_error
from tests.handlers.helpers import actor
from tests.support.notifications import new_pending, notifier_for

#: Names made of the markup characters of every front.
HOSTILE = [
    "**_a** b_",
    "<b>x</b> & <i>",
    "*gras* _ital_ ~barré~ <@U123> <!channel> <https://x|y>",
    "`code` ```bloc``` &amp; &lt; :rocket: \\ \\* $x^2$",
    "> cite ** ** " + ESC + "*",
]
FAMILY = "Zed"
#: What the referents read of each: the short name (given name and the family's initial); the
#: bot's internal escape character is no one's to type, it is dropped.
SHOWN = [f"{name.replace(ESC, '')} Z." for name in HOSTILE]


def telegram_shown(text: str) -> str:
    """What a Telegram user reads of an HTML text: the tags removed, the entities decoded."""
    assert html_error(text) is None, (html_error(text), text)
    return html.unescape(re.sub(r"</?(b|i|a)( [^>]*)?>", "", text))


DATE_TOKEN = re.compile(r"<!date\^00000000\^\{_\}\|([^>])>")


def slack_shown(mrkdwn: str) -> str:
    """What a Slack user reads of a mrkdwn text, checked to hold nothing Slack would act on:
    every `<…>` is a date token shown as its fallback (no mention, link or channel ping), every
    `_ ~ \\`` is inside one, and raw `*` are the bold pairs of the bot's own texts."""
    outside = DATE_TOKEN.sub("", mrkdwn)
    assert not set("<>_~`") & set(outside), mrkdwn
    assert not re.search(r":[\w+-]+:", DATE_TOKEN.sub("\ufffc", mrkdwn)), mrkdwn  # no emoji
    for line in outside.split("\n"):
        assert line.count("*") % 2 == 0, line
    text = DATE_TOKEN.sub(lambda m: "\ufffc" if m.group(1) == "*" else m.group(1), mrkdwn)
    text = text.replace("*", "").replace("\ufffc", "*").replace("\u00ad", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def shown_everywhere(text: str) -> list[str]:
    """The neutral text as each front shows it."""
    return [
        telegram_shown(to_html(text)),
        slack_shown(slack.mrkdwn(text)),
        terminal(text, ansi=False),
        plain(text),
    ]


def hostile_pending(engine, world) -> list[int]:
    return [new_pending(engine, world, given=name, family=FAMILY) for name in HOSTILE]


def test_the_neutral_markup_keeps_data_out_of_the_markers():
    for name in HOSTILE:
        assert plain(f"**{escape(name)}**") == name.replace(ESC, "")
        assert escape(escape(name)) == escape(name)
    assert to_html("**" + escape("**_a** b_") + "**") == "<b>**_a** b_</b>"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_every_reply_shows_the_names_literally_on_every_front(ctx, world, engine):
    ids = hostile_pending(engine, world)
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    listing = pending.list_pending(ctx, emilie, arc)
    for shown in shown_everywhere(listing.text):
        for name in SHOWN:
            assert name in shown
    labels = [plain(b.label) for b in listing.all_buttons]
    assert all(any(name in label for label in labels) for name in SHOWN)

    # Decided (one refused with a reason made of markup), they are members, searched, shown.
    for membership_id in ids[:-1]:
        assert pending.approve(ctx, emilie, membership_id).ok
    reason = "**non** <b>merci</b> _x_ <!here>"
    refused = pending.refuse(ctx, emilie, ids[-1], reason)
    assert refused.ok
    assert all(reason in shown for shown in shown_everywhere(refused.text))
    pages = [members.list_members(ctx, emilie, arc, "a", page) for page in (0, 1)]
    for name in SHOWN[:-1]:
        assert any(all(name in shown for shown in shown_everywhere(r.text)) for r in pages)
        assert name in [plain(b.label) for r in pages for b in r.all_buttons]
    for search in ("**_a", "<b>x", "<@U123>", "`code`", "\\*"):
        found = members.list_members(ctx, emilie, arc, "a", 0, search)
        for shown in shown_everywhere(found.text):
            assert search in shown
            assert sum(name in shown for name in SHOWN) == 1, shown
    card = members.member_detail(ctx, emilie, ids[0])
    assert all(SHOWN[0] in shown for shown in shown_everywhere(card.text))
    past = history.history(ctx, emilie, arc)
    for shown in shown_everywhere(past.text):
        assert all(name in shown for name in SHOWN)
        assert reason in shown

    # A community named with markup: its card, the list of communities.
    community_name = "**Arc** <i>France</i> *_~` & <!channel>"
    assert community_admin.edit_details(ctx, emilie, arc, "name", community_name).ok
    for reply in (community_admin.community_card(ctx, emilie, arc),
                  communities.my_communities(ctx, emilie)):  # fmt: skip
        assert all(community_name in shown for shown in shown_everywhere(reply.text))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_e_mails_hold_the_names_as_typed(ctx, world, engine):
    import dataclasses

    ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, email_enabled=True))
    ids = hostile_pending(engine, world)
    emilie = actor(ctx, world, "emilie")
    community_name = "**Arc** <b>France</b> _x_"
    assert community_admin.edit_details(
        ctx, emilie, world.communities["arc"], "name", community_name
    ).ok
    for membership_id in ids:
        assert pending.refuse(ctx, emilie, membership_id, "! **non** <b>merci</b>").ok
    with ctx.sessions() as session:
        mails = list(session.scalars(select(EmailMessage).order_by(EmailMessage.id)))
    assert len(mails) == len(HOSTILE)
    for mail, name in zip(mails, HOSTILE, strict=True):
        assert community_name in mail.subject
        assert name.replace(ESC, "") in mail.body and community_name in mail.body
        assert "**non** <b>merci</b>" in mail.body
        assert ESC not in mail.subject + mail.body


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_console_shows_the_names_and_runs_no_escape_sequence(ctx, world, engine):
    new_pending(engine, world, given="\x1b[2J\x1b]0;pwned\x07**x**", family=FAMILY)
    hostile_pending(engine, world)
    out = io.StringIO()
    Console(ctx, world.users["emilie"], stdin=io.StringIO("attente\nquitter\n"), stdout=out).loop()
    shown = out.getvalue()
    assert all(name in shown for name in SHOWN)
    assert "\x1b" not in shown and "\x07" not in shown
    assert "␛[2J␛]0;pwned␇**x** Z." in shown


# --- through the real Telegram stack (python-telegram-bot, the fake Bot API) -------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_telegram_pushes_lists_and_history_with_hostile_names(api, front, ctx, world, engine):
    await link(api, ctx, EMILIE)
    ids = hostile_pending(engine, world)
    notifier = notifier_for(front)
    await notifier.run_once()
    pushes = [c for c in api.delivered(EMILIE["id"]) if "Nouvelle demande" in c.text
              and " Z." in html.unescape(c.text)]  # fmt: skip
    assert len(pushes) == len(HOSTILE)  # none refused, none lost
    for push, name in zip(pushes, SHOWN, strict=True):
        assert push.params["parse_mode"] == "HTML"
        assert name in telegram_shown(push.text)
        assert name in [b["text"][2:] for b in push.keyboard[0]]  # "✅ <name>", "❌ <name>"
    before = len(api.sent(EMILIE["id"]))
    api.send_text(EMILIE, "/attente")
    listing = await reply_to(api, EMILIE["id"], before + 1)
    assert listing.result is not None
    assert all(name in telegram_shown(listing.text) for name in SHOWN)
    # A decision from a push edits it (and the other copies): the name still shows.
    api.press(EMILIE, pushes[0], pushes[0].button("✅")["callback_data"])
    edited = await api.wait_for(lambda c: c.method == "editMessageText" and c.result is not None)
    assert SHOWN[0] in telegram_shown(edited[0].text)
    before = len(api.sent(EMILIE["id"]))
    api.send_text(EMILIE, "/historique")
    past = await reply_to(api, EMILIE["id"], before + 1)
    assert past.result is not None and SHOWN[0] in telegram_shown(past.text)
    before = len(api.sent(EMILIE["id"]))
    api.send_text(EMILIE, "/membres")
    roster = await reply_to(api, EMILIE["id"], before + 1)
    assert roster.result is not None and SHOWN[0] in telegram_shown(roster.text)
    assert all(c.result is not None for c in api.calls if c.method == "sendMessage")
    assert len(ids) == len(HOSTILE)


@pytest.mark.asyncio
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_telegram_resends_without_parse_mode_when_entities_are_refused(
    api, front, ctx, world, engine
):
    await link(api, ctx, EMILIE)
    hostile_pending(engine, world)
    # A reply.
    api.refuse_entities_next("sendMessage")
    before = len(api.sent(EMILIE["id"]))
    api.send_text(EMILIE, "/attente")
    await reply_to(api, EMILIE["id"], before + 2)
    refused, again = api.sent(EMILIE["id"])[before:]
    assert refused.result is None and refused.params["parse_mode"] == "HTML"
    assert again.result is not None and "parse_mode" not in again.params
    assert again.text.startswith("Demandes en attente : Arc France (")
    assert all(name in again.text for name in SHOWN)
    assert again.keyboard == refused.keyboard  # the buttons still come
    # A push.
    api.refuse_entities_next("sendMessage")
    mark = len(api.sent(EMILIE["id"]))
    await notifier_for(front).run_once()
    calls = api.sent(EMILIE["id"])[mark:]
    [index] = [n for n, c in enumerate(calls) if c.result is None]
    refused, again = calls[index], calls[index + 1]
    assert "parse_mode" not in again.params and again.result is not None
    assert again.text == telegram_shown(refused.text)  # the same message, as plain text
    assert again.text.startswith("🔔 Nouvelle demande d'adhésion : Arc France")
    pushes = [c for c in calls if c.result is not None and " Z." in html.unescape(c.text)]
    assert len(pushes) == len(HOSTILE)  # none lost
    # An edit (the outcome of a decision).
    api.refuse_entities_next("editMessageText")
    api.press(EMILIE, pushes[1], pushes[1].button("✅")["callback_data"])
    edits = await api.wait_for(lambda c: c.method == "editMessageText", count=2)
    assert edits[0].result is None and edits[1].result is not None
    assert "parse_mode" not in edits[1].params and SHOWN[1] in edits[1].text


# --- through the real Slack stack (slack-bolt, the fake Web API) --------------------------------


@pytest.mark.asyncio
async def test_slack_lists_show_hostile_names_literally(bot, sqlite_engine):
    slack_link(bot.ctx, "emilie", "emilie.fournier@arcfrance.fr")
    hostile_pending(sqlite_engine, bot.world)
    await bot.user.command("emilie", "attente")
    [posted] = await bot.fake.wait_for("chat.postMessage")
    texts = [b["text"]["text"] for b in posted.args["blocks"] if b["type"] == "section"]
    shown = slack_shown("\n".join(texts))
    assert all(name in shown for name in SHOWN)
    labels = [e["text"]["text"] for b in posted.args["blocks"] if b["type"] == "actions"
              for e in b["elements"] if e["type"] == "button"]  # fmt: skip
    assert all(any(name in label for label in labels) for name in SHOWN)
    fallback = posted.args["text"]  # the notification: no mention, no link
    assert "<" not in fallback and all(html.escape(n, quote=False) in fallback for n in SHOWN)


def test_the_escape_character_is_what_the_handlers_escape_with():
    # The tests above type ESC in a name: it is dropped, never a way to unescape a marker.
    assert escape("a" + ESC + "**") == "a" + (ESC + "*") * 2
