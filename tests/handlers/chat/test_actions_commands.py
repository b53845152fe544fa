"""Buttons (an action id and an opaque reference) and typed commands."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.chat import actions, commands
from handlers.chat.actions import REGISTRY, callback_data, press
from handlers.community import admin, communities, members, pending, settings
from handlers.core.actions import MAX_CALLBACK_BYTES, Action, Command, Ids, Press, Registry
from handlers.core.reply import Reply
from storage.codes import Gender, MembershipStatus, PhoneDisplay, UserStatus, ValidationType
from storage.models import Community, CommunityUser, User
from tests.handlers.helpers import (
    NOTHING_CHANGED,
    actor,
    add_members,
    assert_refused,
    buttons,
    membership,
    snapshot,
)

BAD_BUTTON = "Ce bouton n'est pas valide (ou plus valide). Rien n'a été modifié."

# --- Malformed presses ------------------------------------------------------------------------

#: References no action taking ids accepts.
BAD_REFS = [
    "abc",
    "",
    "1:2:3:4",
    "1:2:3:4:5",
    "99999999999",  # 11 digits
    "9999999999",  # 10 digits, above the platform's INT ids
    "2147483648",
    "-1",
    "1.5",
    " 1",
    "1 ",
    "0x1",
    "1e3",
    "²",  # str.isdigit() says yes, int() says no
    "١",  # an Arabic-Indic digit
    "１",  # a full-width digit
    "1:",
    ":1",
]
#: Actions whose reference is not only ids: tested below (members) or elsewhere.
OTHER_REFS = {
    "communities",  # an optional page: an empty reference is the first one
    "members",
    "members_search",
    "language",
    "cancel",
    # charts: "indicator:period:mode:scope" or a scope ('a', 'c<id>', 't<id>'); malformed
    # ones are refused in tests/handlers/dashboard/test_charts.py
    "chart",
    "chart_menu",
    "chart_csv",
    "chart_sum",
}
#: Actions whose reference is only ids, with how many, as their declarations say.
ID_ACTIONS = {a.name: getattr(a.ref, "count", None) for a in REGISTRY if a.name not in OTHER_REFS}
BAD_MEMBERS_REFS = ["abc", "", "1", "1:a", "x:a:0", "1:a:x", "1:a:1234567", "²:a:0", "1:a:²"]
BAD_SEARCH_REFS = ["abc", "", "1:a:0", "x:a", "²:a", "99999999999:a"]


def test_every_action_taking_ids_is_listed_here():
    assert set(REGISTRY.words) >= OTHER_REFS
    for name in ID_ACTIONS:
        ref = REGISTRY[name].ref
        assert isinstance(ref, Ids) and ref.count >= 1, name


def test_a_word_declared_twice_is_refused():
    def run(*args):
        return Reply("")

    with pytest.raises(ValueError, match="'approve' is declared twice"):
        Registry(REGISTRY, (Action("approve", Ids(2), run),))
    with pytest.raises(ValueError, match="'pending' is declared twice"):
        Registry((Command("attente", "pending", None), Command("en_attente", "pending", None)))
    with pytest.raises(ValueError, match="'start' is declared twice"):
        Registry((Command("aide", "help", None, aliases=("start",)),
                  Command("relier", "link", None, aliases=("start",))))  # fmt: skip
    with pytest.raises(ValueError, match="'membres' is declared twice"):
        Registry(commands.REGISTRY, (Command("x", "y", None, aliases=("membres",)),))


def test_a_malformed_reference_is_refused_by_every_action(ctx, world):
    operator = actor(ctx, world, "operator")
    before = snapshot(ctx)

    for ref in BAD_REFS:
        for action in ID_ACTIONS:
            reply = press(ctx, operator, Press(action, ref, text="x", file_content=b"A;B\n"))
            assert reply.ok is False, (action, ref, reply.text)
            assert reply.text.startswith(BAD_BUTTON), (action, ref, reply.text)
        if ref:  # an empty reference is the first page of "my communities"
            reply = press(ctx, operator, Press("communities", ref))
            assert (reply.ok, reply.text.startswith(BAD_BUTTON)) == (False, True), ref
    assert snapshot(ctx) == before
    assert not ctx.settings.security_folder.exists()


def test_malformed_member_list_references_are_refused(ctx, world):
    emilie = actor(ctx, world, "emilie")
    before = snapshot(ctx)

    for ref in BAD_MEMBERS_REFS:
        assert_refused(ctx, press(ctx, emilie, Press("members", ref)), before, BAD_BUTTON)
    for ref in BAD_SEARCH_REFS:
        reply = press(ctx, emilie, Press("members_search", ref, text="x"))
        assert_refused(ctx, reply, before, BAD_BUTTON)


@pytest.mark.parametrize("action", ["frobnicate", "", "APPROVE", "approve ", "|"])
def test_an_unknown_action_is_refused(ctx, world, action):
    before = snapshot(ctx)

    reply = press(
        ctx, actor(ctx, world, "emilie"), Press(action, str(world.membership("arc", "pierre")))
    )

    assert_refused(ctx, reply, before, BAD_BUTTON)


@pytest.mark.parametrize("ref", ["0", "2147483647", "1234567890"])
def test_a_well_formed_id_of_nothing_is_said_to_be_unknown(ctx, world, ref):
    operator = actor(ctx, world, "operator")
    before = snapshot(ctx)

    assert_refused(
        ctx,
        press(ctx, operator, Press("card", ref)),
        before,
        f"Communauté n° {ref} : introuvable parmi celles que vous administrez. {NOTHING_CHANGED}",
    )
    assert_refused(ctx, press(ctx, operator, Press("approve", ref)), before, "n'existe plus")
    assert_refused(ctx, press(ctx, operator, Press("member", ref)), before, "n'est plus")


def test_callback_data_round_trips_and_refuses_what_telegram_would():
    assert callback_data("approve", "12") == "approve|12"
    assert actions.parse_callback_data("members|3:a:1:du|pont") == Press("members", "3:a:1:du|pont")
    assert actions.parse_callback_data("") == Press("")
    with pytest.raises(ValueError, match="too long"):
        callback_data("members", "x" * 60)


# --- Every button fits in Telegram's 64 bytes ---------------------------------------------

BIG = 1_000_000_000  # ten-digit ids (kept well below INT: MariaDB keeps its AUTO_INCREMENT)


def big_community(ctx, world) -> tuple[int, int]:
    """A community whose ids have ten digits, with 23 people, pending ones, long names."""
    when = dt.datetime(2023, 10, 13, 9, 30)
    with ctx.sessions() as session, session.begin():
        session.add(
            Community(
                id=BIG, name="Communauté des Très Longs Noms Accentués " * 4,
                validation_type=int(ValidationType.MANUAL), domain="arcfrance.fr;arc-intl.com",
                user_id=world.users["jeanmarc"], description="é" * 200, full_description="",
                created_date=when, members_hidden=True, proposals_hidden=False,
            )
        )  # fmt: skip
        session.flush()
        for n in range(23):
            user = User(
                id=BIG + n, given_name="Éléonore-Bérénice-Hélène" * 3,
                family_name="Évêque-Ménéstrel" * 3, email=f"e{n}@arcfrance.fr",
                gender=int(Gender.FEMALE), status=int(UserStatus.ACTIVE), created_date=when,
                phone_display=int(PhoneDisplay.ALL),
            )  # fmt: skip
            session.add(user)
            session.flush()
            session.add(
                CommunityUser(
                    id=BIG + n, community_id=BIG, user_id=user.id, status=n % 4,
                    created_date=when + dt.timedelta(minutes=n),
                    admin_id=world.users["jeanmarc"] if n % 4 else None,
                    accepted_date=when if n % 4 in (1, 2) else None,
                    refused_date=when if n % 4 == 3 else None,
                )
            )  # fmt: skip
    return BIG, BIG + 1


def all_replies(ctx, world) -> list[Reply]:
    jeanmarc = actor(ctx, world, "jeanmarc")
    cid, mid = big_community(ctx, world)
    arc = world.communities["arc"]
    long_search = "Éléonore-Bérénice-Hélène Évêque-Ménéstre"  # 40 characters (the most), 50 bytes
    replies = [
        communities.my_communities(ctx, jeanmarc),
        communities.my_communities(ctx, actor(ctx, world, "operator")),
        commands.run_command(ctx, actor(ctx, world, "operator"), "membres", []),
    ]
    for community_id in (cid, arc):
        replies += [
            admin.community_card(ctx, jeanmarc, community_id),
            settings.validation_menu(ctx, jeanmarc, community_id),
            pending.list_pending(ctx, jeanmarc, community_id),
            pending.list_pending(ctx, jeanmarc, community_id, 1),
            pending.ask_bulk(ctx, jeanmarc, "approve_all", community_id),
            pending.ask_bulk(ctx, jeanmarc, "refuse_all", community_id),
            pending.ask_bulk(ctx, jeanmarc, "approve_matching", community_id),
        ]
        for code in members.FILTERS:
            for page in (0, 1, 2):
                replies.append(members.list_members(ctx, jeanmarc, community_id, code, page))
                replies.append(
                    members.list_members(ctx, jeanmarc, community_id, code, page, long_search)
                )
    for status in MembershipStatus:
        replies.append(members.member_detail(ctx, jeanmarc, mid + int(status) - 1))
    replies.append(members.ask_remove(ctx, jeanmarc, mid, 1))
    replies.append(settings.set_validation(ctx, jeanmarc, cid, 0))
    return replies


def test_every_button_fits_in_telegram_callback_data(ctx, world):
    replies = all_replies(ctx, world)

    checked = 0
    for reply in replies:
        assert reply.ok, reply.text
        for b in reply.all_buttons:
            data = callback_data(b.action, b.ref)  # raises when too long
            assert len(data.encode()) <= MAX_CALLBACK_BYTES
            assert actions.parse_callback_data(data) == Press(b.action, b.ref)
            assert b.action in REGISTRY
            checked += 1
    assert checked > 300
    # the long search was paged, so it is carried by the buttons (shortened to fit)
    paged = [
        b
        for r in replies
        for b in r.all_buttons
        if b.action == "members" and b.ref.startswith(f"{BIG}:a:1:")
    ]
    assert paged


def test_a_search_shortened_to_fit_the_buttons_is_shown_as_searched(ctx, world):
    typed = "Éléonore-Bérénice-Hélène-Amélie-Gégé"  # 36 characters, 45 bytes
    add_members(ctx, world, "arc", 12, given=typed, family="Évêque")
    emilie = actor(ctx, world, "emilie")
    arc = world.communities["arc"]

    first = press(ctx, emilie, Press("members_search", f"{arc}:a", typed))
    following = [b for b in first.all_buttons if b.label == "Suivant ▶"][0]
    second = press(ctx, emilie, Press(following.action, following.ref))

    assert first.ok and second.ok
    searched = first.text.splitlines()[1]
    shown = searched.removeprefix("Recherche : « ").removesuffix(" »")
    assert typed.startswith(shown) and len(shown) < len(typed)
    assert len(shown.encode()) <= members.MAX_SEARCH_BYTES
    assert len(callback_data(following.action, following.ref).encode()) <= MAX_CALLBACK_BYTES
    assert second.text.splitlines()[1] == searched
    assert "Tous : 12" in first.text and "Tous : 12" in second.text
    assert second.text.splitlines()[-1] == "11-12 de 12"


# --- Typed commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/attente@SomeBot 1", ("attente", ["1"])),
        ("attente 1", ("attente", ["1"])),
        ("  /Membres   12 refusés  Dupont ", ("membres", ["12", "refusés", "Dupont"])),
        ("/start", ("start", [])),
        ("", ("", [])),
        ("   ", ("", [])),
    ],
)
def test_parse(text, parsed):
    assert commands.parse(text) == parsed


def run(ctx, someone, text: str) -> Reply:
    return commands.run_command(ctx, someone, *commands.parse(text))


@pytest.mark.parametrize("text", ["attente", "/attente", "/attente@PassPassReferentBot", "pending"])
def test_the_community_is_implied_when_the_actor_administers_one(ctx, world, text):
    reply = run(ctx, actor(ctx, world, "emilie"), text)

    assert reply.text.splitlines()[0] == "**Demandes en attente : Arc France** (3)"


def test_an_explicit_community_id_is_used(ctx, world):
    reply = run(ctx, actor(ctx, world, "operator"), f"/attente@SomeBot {world.communities['gsk']}")

    assert reply.text.splitlines()[0] == "**Demandes en attente : GSK Saint Amand les Eaux** (1)"


def test_an_operator_picks_the_community_from_a_keyboard(ctx, world):
    c = world.communities

    reply = run(ctx, actor(ctx, world, "operator"), "attente")

    assert reply.text == "Pour quelle communauté ?"
    assert buttons(reply) == [
        ("Arc France", "pending", str(c["arc"])),
        ("GSK Saint Amand les Eaux", "pending", str(c["gsk"])),
        ("LeNord covoiture", "pending", str(c["lenord"])),
    ]
    members_picker = run(ctx, actor(ctx, world, "operator"), "membres")
    assert [ref for _, _, ref in buttons(members_picker)] == [
        f"{c['arc']}:a:0",
        f"{c['gsk']}:a:0",
        f"{c['lenord']}:a:0",
    ]
    picked = press(ctx, actor(ctx, world, "operator"), Press("pending", str(c["gsk"])))
    assert picked.text.splitlines()[0] == "**Demandes en attente : GSK Saint Amand les Eaux** (1)"


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("communautes", "**Vos communautés** (1)"),
        ("communautés", "**Vos communautés** (1)"),
        ("membres", "**Membres de Arc France** — Tous : 7"),
        ("membres refusés", "**Membres de Arc France** — Refusés : 1"),
        ("membres {arc} moderateurs", "**Membres de Arc France** — Modérateurs : 2"),
        ("members pending", "**Membres de Arc France** — En attente : 3"),
        ("membres lambert", "**Membres de Arc France** — Tous : 1"),
        ("parametres", "**Arc France** (n° {arc})"),
        ("paramètres {arc}", "**Arc France** (n° {arc})"),
        ("historique", "Aucune action enregistrée pour Arc France."),
        ("aide", "**Bot des référents Pass Pass covoiturage**"),
        ("start", "**Bot des référents Pass Pass covoiturage**"),
        ("graphique", "**Tableau de bord : Arc France**"),
    ],
)
def test_commands(ctx, world, text, first_line):
    arc = world.communities["arc"]

    reply = run(ctx, actor(ctx, world, "jeanmarc"), text.format(arc=arc))

    assert reply.ok, reply.text
    assert reply.text.splitlines()[0].startswith(first_line.format(arc=arc))


def test_a_command_about_a_community_for_someone_who_administers_none(ctx, world):
    before = snapshot(ctx)

    reply = run(ctx, actor(ctx, world, "marion"), "attente")

    assert_refused(ctx, reply, before, "Vous n'administrez aucune communauté.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("attente 987654", "Communauté n° 987654 : introuvable parmi celles que vous administrez."),
        (
            "attente 9999999999",
            "Communauté n° 9999999999 : introuvable parmi celles que vous administrez.",
        ),
        (
            "attente 123456789012345678901234567890",
            "introuvable parmi celles que vous administrez.",
        ),
        (
            "attente {lenord}",
            "Communauté n° {lenord} : introuvable parmi celles que vous administrez.",
        ),
        (
            "historique {gsk}",
            "Communauté n° {gsk} : introuvable parmi celles que vous administrez.",
        ),
        ("frobnicate", "Commande inconnue : « frobnicate ». Tapez aide"),
        ("/frobnicate@SomeBot 1", "Commande inconnue : « frobnicate »."),
        ("", "Commande inconnue"),
    ],
)
def test_refused_commands(ctx, world, text, message):
    before = snapshot(ctx)
    c = world.communities

    reply = run(ctx, actor(ctx, world, "emilie"), text.format(lenord=c["lenord"], gsk=c["gsk"]))

    assert_refused(ctx, reply, before, message.format(lenord=c["lenord"], gsk=c["gsk"]))


def test_a_non_ascii_number_is_not_a_community_id(ctx, world):
    """'²' passes str.isdigit() but is no id: the community is implied as without one."""
    reply = run(ctx, actor(ctx, world, "emilie"), "attente ²")

    assert reply.text.splitlines()[0] == "**Demandes en attente : Arc France** (3)"


def test_a_decision_through_a_button_from_a_command(ctx, world):
    emilie = actor(ctx, world, "emilie")
    listed = run(ctx, emilie, "attente")
    approve = [b for b in listed.all_buttons if b.action == "approve_listed"][0]

    reply = press(
        ctx, emilie, actions.parse_callback_data(callback_data(approve.action, approve.ref))
    )

    assert reply.ok
    assert reply.replaces_message
    assert reply.text.splitlines()[0] == "**Demandes en attente : Arc France** (2)"
    assert "✅ Pierre L. : acceptée par Emilie F. le 17/01/2024 à 10:02" in reply.text
    assert membership(ctx, world.membership("arc", "pierre")).status == MembershipStatus.MEMBER


def test_the_command_menu_in_both_languages():
    assert commands.command_menu("fr")[:2] == [
        ("communautes", "Mes communautés et leurs demandes en attente"),
        ("attente", "Demandes en attente d'une communauté"),
    ]
    assert [name for name, _ in commands.command_menu("en")][:3] == [
        "communities",
        "pending",
        "members",
    ]


def test_reference_formats_parse_what_they_build():
    assert REGISTRY["pending"].ref.build(12) == "12"
    assert REGISTRY["pending"].ref.parse("12:3") == (12, 3)
    assert REGISTRY["members_hidden"].ref.build(12, True) == "12:1"
    assert REGISTRY["members_hidden"].ref.parse("12:0") == (12, False)
    page = members.MembersRef(12, "r", 2, "du:pont")
    assert REGISTRY["members"].ref.build(12, "r", 2, "du:pont") == "12:r:2:du:pont"
    assert REGISTRY["members"].ref.parse(page.ref()) == (page,)
    assert REGISTRY["members"].ref.build(12) == "12:a:0"
    assert REGISTRY["cancel"].ref.parse("anything") == ()


def _declared(kind: type) -> dict[str, object]:
    """Every Action (or Command) a handlers module holds at its top level, alone or in a
    tuple or dict of them, by where it is declared."""
    import importlib
    import pkgutil

    import handlers

    found: dict[str, object] = {}
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            values = value.values() if isinstance(value, dict) else value
            items = values if isinstance(values, (tuple, list)) else (value,)
            for item in items:
                if isinstance(item, kind):
                    found.setdefault(f"{info.name}.{attribute}:{item.name}", item)
    return found


def test_every_declared_action_and_command_is_in_its_registry():
    """A declaration that is not assembled (handlers/chat/actions.py, commands.py) would be a
    button or a word nobody can use."""
    registered_actions = list(REGISTRY)
    registered_commands = list(commands.REGISTRY)
    missing = [
        where for where, item in _declared(Action).items() if item not in registered_actions
    ] + [where for where, item in _declared(Command).items() if item not in registered_commands]
    assert missing == []
