"""Editing the community's details: name (unique on the platform), short description (255
characters at most), full description; audited, sent to the operators' change feed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from handlers.chat import commands, pending_input
from handlers.chat import entry as chat_entry
from handlers.chat.actions import Press, press
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code
from handlers.community import admin
from storage.bot_models import Notification
from storage.clock import now
from tests.handlers.community.helpers import assert_refused_full, feed, full_snapshot
from tests.handlers.helpers import NOW_FR, actor, audit_entries, button, community


def run(ctx, who, text: str):
    name, args = commands.parse(text)
    return commands.run_command(ctx, who, name, args)


def test_renaming_updates_the_community_audits_and_tells_the_operators(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    reply = run(ctx, emilie, f"renommer {arc} Arc France Covoiturage")

    assert reply.ok
    lines = reply.text.splitlines()
    assert lines[0] == (
        f"✏️ Nom changé par Emilie F. le {NOW_FR} : « Arc France » → « Arc France Covoiturage ». "
        "Hauts-de-France Mobilités en est informé."
    )
    assert lines[2] == f"**Arc France Covoiturage** (n° {arc})"  # the card, as it is now
    assert f"Mise à jour le {NOW_FR}" in lines
    saved = community(ctx, arc)
    assert (saved.name, saved.updated_date) == ("Arc France Covoiturage", now())
    [entry] = audit_entries(ctx)
    assert (entry.action, entry.community_id) == ("edit_name", arc)
    assert json.loads(entry.before) == {"name": "Arc France"}
    assert json.loads(entry.after) == {"name": "Arc France Covoiturage"}
    [(kind, community_id, payload)] = feed(ctx)
    assert (kind, community_id) == ("community_change", arc)
    assert payload["field"] == "name"
    assert (payload["before"], payload["after"]) == ("Arc France", "Arc France Covoiturage")
    assert payload["by_user_id"] == world.users["emilie"]


def test_a_name_is_unique_on_the_platform_whatever_the_case(ctx, world):
    emilie = actor(ctx, world, "emilie")
    before = full_snapshot(ctx)

    reply = run(ctx, emilie, f"renommer {world.communities['arc']} lenord COVOITURE")

    assert_refused_full(ctx, reply, before,
                        "Le nom « lenord COVOITURE » est déjà celui d'une autre communauté",
                        f"(n° {world.communities['lenord']})", "Rien n'a été modifié")  # fmt: skip


def test_changing_only_the_case_of_its_own_name_is_allowed(ctx, world):
    reply = run(ctx, actor(ctx, world, "emilie"), f"renommer {world.communities['arc']} ARC FRANCE")

    assert reply.ok
    assert community(ctx, world.communities["arc"]).name == "ARC FRANCE"


def test_short_description_255_characters_at_most_through_the_card_button(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    edit = button(admin.community_card(ctx, emilie, arc), "edit_description")
    assert edit.input.prompt == "Nouvelle présentation courte (255 caractères au plus) :"
    before = full_snapshot(ctx)

    too_long = press(ctx, emilie, Press("edit_description", edit.ref, text="é" * 256))
    assert_refused_full(ctx, too_long, before, "256 caractères pour 255 au plus")
    reply = press(ctx, emilie, Press("edit_description", edit.ref, text="é" * 255))

    assert reply.ok
    assert reply.text.startswith(
        f"✏️ Arc France : présentation courte changée par Emilie F. le {NOW_FR}."
    )
    assert "Présentation courte : " + "é" * 255 in reply.text.splitlines()
    assert community(ctx, arc).description == "é" * 255
    assert [k for k, _, _ in feed(ctx)] == ["community_change"]


def test_full_description_keeps_its_lines_and_the_card_shows_it(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    text = "Covoiturage des salariés d'Arc.\nSites d'Arques et de Blaringhem."

    reply = press(ctx, emilie, Press("edit_full_description", str(arc), text=text))

    assert reply.ok
    assert community(ctx, arc).full_description == text
    assert "Présentation complète : Covoiturage des salariés d'Arc." in reply.text
    [(_, _, payload)] = feed(ctx)
    assert (payload["field"], payload["after"]) == ("full_description", text)


@pytest.mark.parametrize(
    ("action", "text", "message"),
    [
        ("edit_name", "   ", "Le texte est vide"),
        ("edit_name", "N" * 256, "256 caractères pour 255 au plus"),
        ("edit_full_description", "x" * 4001, "4\u202f001 caractères pour 4\u202f000 au plus"),
    ],
)
def test_empty_or_too_long_texts_change_nothing(ctx, world, action, text, message):
    before = full_snapshot(ctx)

    reply = press(
        ctx, actor(ctx, world, "emilie"), Press(action, str(world.communities["arc"]), text=text)
    )

    assert_refused_full(ctx, reply, before, message, "Rien n'a été modifié")


def test_the_same_value_again_changes_nothing(ctx, world):
    before = full_snapshot(ctx)

    reply = run(ctx, actor(ctx, world, "emilie"), f"renommer {world.communities['arc']} Arc France")

    assert reply.text == "Arc France : c'est déjà la valeur actuelle. Rien n'a été modifié."
    assert full_snapshot(ctx) == before


def test_only_administrators_edit(ctx, world):
    arc = str(world.communities["arc"])
    before = full_snapshot(ctx)

    for person in ("marion", "eddy", "pierre"):
        who = actor(ctx, world, person)
        for action in ("edit_name", "edit_description", "edit_full_description"):
            reply = press(ctx, who, Press(action, arc, text="Pirate"))
            assert_refused_full(
                ctx,
                reply,
                before,
                f"Communauté n° {arc} : introuvable parmi celles que vous administrez",
            )


def test_a_command_without_text_offers_a_button_that_asks_for_it(ctx, world):
    arc = world.communities["arc"]

    reply = run(ctx, actor(ctx, world, "emilie"), f"presentation {arc}")

    [ask] = reply.all_buttons
    assert (ask.action, ask.ref, ask.input.prompt) == (
        "edit_full_description", str(arc), "Nouvelle présentation complète :")  # fmt: skip
    assert reply.awaits == ask  # the text can also be typed right away


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_in_a_chat_the_message_after_renommer_is_the_new_name(ctx, world):
    """`renommer 12` says "Nouveau nom de la communauté :": the next message is the name, on
    every chat front (parked by handlers/chat/pending_input.py, as a press of its button)."""
    arc = world.communities["arc"]
    account, place = ChatAccount("slack", "U0EMILIE", team_id="T0"), ChatPlace("slack", "D0", "T0")
    code = issue_link_code(ctx, "emilie.fournier@arcfrance.fr").code
    assert chat_entry.on_command(ctx, account, place, "link", [code]).ok

    asked = pending_input.on_command(ctx, account, place, "renommer", [str(arc)])
    assert asked.reply.text == "Nouveau nom de la communauté :" and asked.awaiting is not None
    done = pending_input.on_text(ctx, account, place, "Arc Covoiturage")

    assert done is not None and done.reply.ok, done
    assert community(ctx, arc).name == "Arc Covoiturage"
    # Answered once: the next message is not a name any more.
    assert pending_input.on_text(ctx, account, place, "Encore") is None
    assert community(ctx, arc).name == "Arc Covoiturage"


def test_english_commands_and_messages(ctx, world):
    emilie = actor(ctx, world, "emilie")
    emilie = type(emilie)(**{**emilie.__dict__, "language": "en"})

    reply = run(ctx, emilie, f"rename {world.communities['arc']} Arc Carpool")

    assert reply.text.startswith('✏️ Name changed by Emilie F. on 17/01/2024 at 10:02: "Arc France"')


def test_the_history_tells_what_was_added_and_renamed(ctx, world):
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]
    press(ctx, emilie, Press("add_as", f"{arc}:{world.users['lila']}:1"))
    run(ctx, emilie, f"renommer {arc} Arc Covoiturage")
    run(ctx, emilie, f"description {arc} Pour les salariés")

    reply = run(ctx, emilie, f"historique {arc}")

    assert reply.text.splitlines()[1:] == [
        f"• {NOW_FR} — Emilie F. (terminal) : a changé la présentation courte",
        f"• {NOW_FR} — Emilie F. (terminal) : a renommé la communauté "
        "(« Arc France » → « Arc Covoiturage »)",
        f"• {NOW_FR} — Emilie F. (terminal) : a ajouté Lila A.",
    ]


def test_the_change_feed_renders_the_rename_for_the_operators(ctx, world):
    """The notifications feature delivers bot_notification rows to the operators' chats."""
    feed_module = pytest.importorskip("handlers.outbox.feed")
    run(ctx, actor(ctx, world, "emilie"), f"renommer {world.communities['arc']} Arc Covoiturage")

    with ctx.sessions() as session:
        [notification] = session.scalars(select(Notification)).all()
        text = feed_module.render("fr", notification).text
    assert "Arc France" in text and "Arc Covoiturage" in text and "Emilie F." in text
