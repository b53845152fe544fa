"""Every free text a person can send has a maximum (handlers/core/limits.py), checked before any
query: longer text gets "Texte trop long : N caractères pour L au plus", nothing changes, and
the text never reaches the database (issue 18: `ajouter N <60,000 characters>` made SQLite fail
with "LIKE pattern too complex", reported as an outage and retried three times)."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select

from handlers.chat import commands, pending_input, preferences
from handlers.chat import entry as chat
from handlers.chat.actions import Press, press
from handlers.chat.linking import ChatAccount, issue_link_code, redeem_link_code
from handlers.community import pending
from handlers.core import limits
from handlers.core.i18n import Num
from storage.bot_models import PendingInput
from tests.handlers.helpers import actor
from tests.security.conftest import PLACE, fr, full_snapshot


def too_long(length: int, limit: int, language: str = "fr") -> str:
    from handlers.core.i18n import t

    return t(language, "error.too_long", length=Num(length), limit=Num(limit))


@contextlib.contextmanager
def statements(ctx):
    """Every statement's parameters sent to the database meanwhile, as one string."""
    seen: list[str] = []
    engine = ctx.sessions.kw["bind"]

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(f"{statement} {parameters!r}")

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _cases():
    """(name, call(ctx, world, emilie, text), limit) for each free-text input."""
    arc = lambda w: str(w.communities["arc"])  # noqa: E731
    helene = lambda w: w.membership("arc", "helene")  # noqa: E731
    return [
        ("ajouter (button)", lambda c, w, a, x: press(c, a, Press("add_member", arc(w), text=x)),
         limits.PERSON_SEARCH),
        ("ajouter (command)", lambda c, w, a, x: commands.run_command(c, a, "ajouter",
                                                                      [arc(w), x]),
         limits.PERSON_SEARCH),
        ("member search (button)",
         lambda c, w, a, x: press(c, a, Press("members_search", f"{arc(w)}:a", text=x)),
         limits.MEMBER_SEARCH),
        ("member search (command)",
         lambda c, w, a, x: commands.run_command(c, a, "membres", [arc(w), x]),
         limits.MEMBER_SEARCH),
        ("refusal reason", lambda c, w, a, x: pending.refuse(c, a, helene(w), x), limits.REASON),
        ("shared refusal reason", lambda c, w, a, x: pending.refuse(c, a, helene(w), "! " + x),
         limits.REASON),
        ("domains", lambda c, w, a, x: press(c, a, Press("domains", arc(w), text=x)),
         limits.DOMAINS),
        ("name", lambda c, w, a, x: press(c, a, Press("edit_name", arc(w), text=x)), limits.NAME),
        ("description", lambda c, w, a, x: press(c, a, Press("edit_description", arc(w), text=x)),
         limits.DESCRIPTION),
        ("full description",
         lambda c, w, a, x: press(c, a, Press("edit_full_description", arc(w), text=x)),
         limits.FULL_DESCRIPTION),
        ("name typed to delete", lambda c, w, a, x: press(c, a, Press("delete", arc(w), text=x)),
         limits.NAME),
        ("typed date", lambda c, w, a, x: press(c, a, Press("chart_sum", f"c{arc(w)}", text=x)),
         limits.DATE),
        ("quiet hours", lambda c, w, a, x: preferences.set_quiet_hours(c, a, [x]),
         limits.QUIET_HOURS),
    ]  # fmt: skip


CASES = _cases()


@pytest.mark.parametrize(("name", "call", "limit"), CASES, ids=[c[0] for c in CASES])
def test_a_text_over_its_maximum_is_refused_before_any_query(ctx, world, name, call, limit):
    emilie = actor(ctx, world, "jeanmarc")  # Arc France's creator: every use case is his
    text = "é" * (limit + 1)
    before = full_snapshot(ctx)

    with statements(ctx) as seen:
        reply = call(ctx, world, emilie, text)

    assert (reply.ok, reply.text) == (False, too_long(limit + 1, limit)), name
    assert full_snapshot(ctx) == before
    assert not any(text in statement for statement in seen), name


@pytest.mark.parametrize(("name", "call", "limit"), CASES, ids=[c[0] for c in CASES])
def test_a_text_at_its_maximum_is_not_refused_for_its_length(ctx, world, name, call, limit):
    reply = call(ctx, world, actor(ctx, world, "jeanmarc"), "a" * limit)

    assert "trop long" not in reply.text, (name, reply.text)


def test_ajouter_with_60000_characters_says_so_in_english_too(ctx, world):
    arc = str(world.communities["arc"])
    text = "x" * 60_000
    english = actor(ctx, world, "jeanmarc")
    english = english.__class__(**{**english.__dict__, "language": "en"})
    before = full_snapshot(ctx)

    with statements(ctx) as seen:
        reply = commands.run_command(ctx, english, "ajouter", [arc, text])

    assert reply.text == too_long(60_000, 255, "en")
    assert reply.text.startswith("Text too long: 60")
    assert full_snapshot(ctx) == before and not any(text in s for s in seen)


def test_a_chat_message_over_4096_characters_is_refused_before_anything(ctx, world):
    account = ChatAccount("telegram", "4242")
    redeem_link_code(ctx, account, issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code, "fr")
    before = full_snapshot(ctx)
    arc = str(world.communities["arc"])

    with statements(ctx) as seen:
        reply = chat.on_command(ctx, account, PLACE, "ajouter", [arc, "x" * 60_000], "fr")
        code = chat.on_command(ctx, ChatAccount("telegram", "1"), PLACE, "start",
                               ["A" * 60_000], "fr")  # fmt: skip

    assert (reply.ok, reply.text) == (False, too_long(60_000 + len("ajouter") + len(arc) + 2,
                                                      limits.MESSAGE))  # fmt: skip
    assert code.ok is False and code.text.startswith("Texte trop long")
    assert seen == []  # not even who is writing was looked up
    assert full_snapshot(ctx) == before


def test_a_parked_answer_over_its_maximum_is_refused_and_the_question_kept(ctx, world):
    account = ChatAccount("telegram", "4242")
    redeem_link_code(ctx, account, issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code, "fr")
    helene = str(world.membership("arc", "helene"))
    asked = pending_input.on_press(ctx, account, PLACE, Press("refuse", helene), "fr")
    assert asked.awaiting is not None
    before = full_snapshot(ctx)

    answer = pending_input.on_text(ctx, account, PLACE, "x" * 1003, "fr")

    assert (answer.reply.ok, answer.reply.text) == (False, too_long(1003, limits.REASON + 2))
    assert answer.awaiting is not None  # asked again
    assert full_snapshot(ctx) == before
    with ctx.sessions() as session:
        assert len(session.scalars(select(PendingInput)).all()) == 1
    done = pending_input.on_text(ctx, account, PLACE, "trop loin", "fr")
    assert done.reply.ok, done.reply.text
    assert fr("pending.reason", reason="trop loin") in done.reply.text
