"""The history of a community's actions, and each user's language."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from handlers.chat import commands, preferences
from handlers.chat.actions import Press, press
from handlers.community import communities, history, members, pending
from handlers.community import settings as community_settings
from storage import clock
from storage.bot_models import Preference
from storage.models import Language, User
from tests.handlers.helpers import (
    NOTHING_CHANGED,
    actor,
    assert_refused,
    buttons,
    snapshot,
)

NOW = dt.datetime(2024, 1, 17, 10, 2)


def at(minutes: int) -> None:
    clock.set_now(NOW + dt.timedelta(minutes=minutes))


def preferences_of(ctx) -> list[tuple[int, str | None]]:
    with ctx.sessions() as session:
        rows = session.execute(select(Preference.user_id, Preference.language))
        return sorted(tuple(r) for r in rows)


# --- History ----------------------------------------------------------------------------------


def test_an_empty_history(ctx, world):
    reply = history.history(ctx, actor(ctx, world, "emilie"), world.communities["arc"])

    assert reply.ok
    assert reply.text == "Aucune action enregistrée pour Arc France."


def test_the_history_tells_who_did_what_when_and_from_where_newest_first(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie", "telegram")
    jeanmarc = actor(ctx, world, "jeanmarc", "slack")
    at(0)
    pending.approve(ctx, emilie, world.membership("arc", "pierre"))
    at(1)
    pending.refuse(ctx, jeanmarc, world.membership("arc", "helene"), "Adresse personnelle")
    at(2)
    community_settings.set_members_hidden(ctx, emilie, arc, True)
    at(3)
    community_settings.set_ads_hidden(ctx, jeanmarc, arc, True)
    at(4)
    members.set_member_status(ctx, emilie, world.membership("arc", "marion"), 2, 1)
    at(5)
    community_settings.set_domains(ctx, emilie, arc, "arcfrance.fr; arc-intl.com")
    at(6)
    community_settings.set_identifiers(ctx, jeanmarc, arc, "salariés.csv", b"A;B\n")
    at(7)
    members.remove_member(ctx, emilie, world.membership("arc", "nathalie"), 3)
    at(8)
    community_settings.set_members_hidden(ctx, emilie, arc, False)
    # elsewhere: not in Arc France's history
    pending.approve(ctx, actor(ctx, world, "cyrielle"), world.membership("gsk", "aurelien"))

    reply = press(ctx, emilie, Press("history", str(arc)))

    assert reply.text.splitlines() == [
        "**Historique de Arc France**",
        "• 17/01/2024 à 10:10 — Emilie F. (Telegram) : a rendu les membres visibles",
        "• 17/01/2024 à 10:09 — Emilie F. (Telegram) : a retiré Nathalie D.",
        "• 17/01/2024 à 10:08 — Jean-Marc M. (Slack) : "
        "a envoyé le fichier d'identifiants « salariés.csv »",
        "• 17/01/2024 à 10:07 — Emilie F. (Telegram) : "
        "a choisi la validation par domaine (arcfrance.fr, arc-intl.com)",
        "• 17/01/2024 à 10:06 — Emilie F. (Telegram) : a mis Marion H. en statut modérateur",
        "• 17/01/2024 à 10:05 — Jean-Marc M. (Slack) : a masqué les annonces",
        "• 17/01/2024 à 10:04 — Emilie F. (Telegram) : a caché les membres",
        "• 17/01/2024 à 10:03 — Jean-Marc M. (Slack) : "
        "a refusé Hélène B. — motif : Adresse personnelle",
        "• 17/01/2024 à 10:02 — Emilie F. (Telegram) : a accepté Pierre L.",
    ]


def test_the_history_shows_the_last_fifteen_actions(ctx, world):
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    for n in range(20):
        at(n)
        community_settings.set_members_hidden(ctx, emilie, arc, n % 2 == 0)

    reply = history.history(ctx, emilie, arc)

    lines = reply.text.splitlines()
    assert len(lines) == 1 + 15
    assert lines[1] == "• 17/01/2024 à 10:21 — Emilie F. (terminal) : a rendu les membres visibles"
    assert lines[-1] == "• 17/01/2024 à 10:07 — Emilie F. (terminal) : a rendu les membres visibles"


def test_the_history_is_refused_to_a_member(ctx, world):
    before = snapshot(ctx)

    reply = history.history(ctx, actor(ctx, world, "marion"), world.communities["arc"])

    assert_refused(
        ctx,
        reply,
        before,
        f"Communauté n° {world.communities['arc']} : introuvable parmi celles que vous administrez",
    )


# --- Language ---------------------------------------------------------------------------------


def test_langue_en_switches_that_users_replies_to_english(ctx, world):
    emilie = actor(ctx, world, "emilie")

    reply = commands.run_command(ctx, emilie, *commands.parse("langue en"))

    assert reply.ok
    assert reply.text == "The bot's messages are now in English."
    assert preferences_of(ctx) == [(world.users["emilie"], "en")]

    emilie = actor(ctx, world, "emilie")  # read again, as each front does on every message
    assert emilie.language == "en"
    mine = communities.my_communities(ctx, emilie)
    assert mine.text.splitlines() == [
        "**Your communities** (1)",
        f"• Arc France (#{world.communities['arc']}): 3 members, 3 pending",
    ]
    approved = pending.approve(ctx, emilie, world.membership("arc", "pierre"))
    assert approved.text == (
        "✅ Pierre L.: request accepted into Arc France by Emilie F. on 17/01/2024 at 10:02."
    )
    refused = history.history(ctx, emilie, world.communities["lenord"])
    assert refused.ok is False
    assert refused.text.startswith(
        f"Community #{world.communities['lenord']}: not found among those you administer."
    )

    # the others still read French
    jeanmarc = actor(ctx, world, "jeanmarc")
    assert communities.my_communities(ctx, jeanmarc).text.startswith("**Vos communautés**")
    assert history.history(ctx, jeanmarc, world.communities["arc"]).text.splitlines()[1] == (
        "• 17/01/2024 à 10:02 — Emilie F. (terminal) : a accepté Pierre L."
    )

    back = press(ctx, emilie, Press("language", "fr"))
    assert back.text == "Les messages du bot sont maintenant en français."
    assert actor(ctx, world, "emilie").language == "fr"
    assert preferences_of(ctx) == [(world.users["emilie"], "fr")]


def test_the_language_menu(ctx, world):
    reply = commands.run_command(ctx, actor(ctx, world, "marion"), "langue", [])

    assert reply.text == "Langue des messages du bot :"
    assert buttons(reply) == [("Français", "language", "fr"), ("English", "language", "en")]


@pytest.mark.parametrize("code", ["de", "xx", "english", "", "fr-FR"])
def test_an_unknown_language_is_refused(ctx, world, code):
    before = snapshot(ctx)

    reply = preferences.set_language(ctx, actor(ctx, world, "emilie"), code)

    assert_refused(ctx, reply, before, "Langue inconnue. Langues disponibles : fr, en.")
    assert preferences_of(ctx) == []
    assert actor(ctx, world, "emilie").language == "fr"


def test_a_language_chosen_on_the_platform_is_used_until_one_is_chosen_in_the_bot(ctx, world):
    with ctx.sessions() as session, session.begin():
        session.add(Language(id=2, code="en"))
        session.flush()
        session.get(User, world.users["emilie"]).language_id = 2

    assert actor(ctx, world, "emilie").language == "en"
    preferences.set_language(ctx, actor(ctx, world, "emilie"), "fr")
    assert actor(ctx, world, "emilie").language == "fr"


def test_an_unknown_language_in_english(ctx, world):
    preferences.set_language(ctx, actor(ctx, world, "emilie"), "en")
    before = snapshot(ctx)

    reply = press(ctx, actor(ctx, world, "emilie"), Press("language", "de"))

    assert_refused(ctx, reply, before, "Unknown language. Available languages: fr, en.")
    assert NOTHING_CHANGED not in reply.text
