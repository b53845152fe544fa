"""The authorization matrix: every button action and every command, for every role, on every
database, through the chat fronts' common entry (handlers.chat.entry), as Telegram and Slack call
it.

Every case targets Arc France. For each role the exact outcome is asserted: the reply's text
for a refusal (French), and that the database did not change (memberships, communities, audit
count after each press; every mapped table at the end of the run). An allowed write must leave
its audit entry, by that person, from that front.

The case list is checked against the registries of handlers.chat.actions and
handlers.chat.commands: a new action or command without a row here fails
`test_every_action_and_command_has_a_row`. Every button a reply shows must name a registered
action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from handlers.chat import entry as chat
from handlers.chat.actions import REGISTRY as ACTIONS
from handlers.chat.bindings import BIND_COMMAND
from handlers.chat.commands import REGISTRY as COMMANDS
from handlers.chat.linking import LINK, UNLINK
from handlers.core.actions import Press
from storage.bot_models import AuditEntry
from tests.handlers.helpers import snapshot
from tests.security.conftest import (
    ADMINS,
    GROUP,
    OPERATORS,
    PLACE,
    ROLES,
    WIDGET,
    Roles,
    fr,
    full_snapshot,
)

#: Refusal of someone who does not administer Arc France: the same words as for an id that
#: does not exist, without the community's name (filled with its id in `play`).
NOT_ADMIN = "error.unknown_community"
NOT_LINKED = fr("error.not_linked")
NOT_CREATOR = fr("admin.delete_not_allowed", community="Arc France")
NEW_NAME = "Arc France – Sites du Nord"
NOT_CREATOR_RENAMED = fr("admin.delete_not_allowed", community=NEW_NAME)
REFUSED_ROLES = ("unlinked", "no_rights", "member", "other_moderator", "other_territory_admin")


@dataclass(frozen=True)
class Case:
    """One use case as a chat sends it. `rule`: who may run it.

    admin    the community's creator, moderators, operators and platform admins of it (everywhere,
             or of its territory); others get NOT_ADMIN.
    creator  the creator, operators and platform admins of it; moderators get NOT_CREATOR,
             others NOT_ADMIN.
    operator operators and platform admins of the territory; others get `refusal`.
    self     anyone linked: about their own account; `outcome` per role (else `ok`).
    """

    name: str
    make: Callable[[Roles], Press | tuple[str, list[str]]]
    rule: str
    ok: str = ""  # a fragment of the reply an allowed role gets
    audit: str | None = None  # the audit action an allowed write leaves
    refusal: str = ""
    outcome: dict[str, tuple[bool, str]] = field(default_factory=dict)
    place: str = "private"

    @property
    def action(self) -> str:
        return self.name.split(" ", 1)[0]


def arc(r: Roles) -> int:
    return r.world.communities["arc"]


def m(r: Roles, person: str) -> int:
    return r.world.membership("arc", person)


def press(action: str, ref: Callable[[Roles], str], **extra) -> Callable[[Roles], Press]:
    return lambda r: Press(action, ref(r), **extra)


SELF_COMMUNITIES = {
    "no_rights": (True, fr("communities.none")),
    "member": (True, fr("communities.none")),
    "other_moderator": (True, "LeNord covoiture"),
    "other_territory_admin": (True, "LeNord covoiture"),
}

#: Button presses, in the order an administrator runs them (each one still succeeds).
BUTTONS: tuple[Case, ...] = (
    Case("communities", press("communities", lambda r: ""), "self", "Arc France",
         outcome=SELF_COMMUNITIES),
    Case("card", press("card", lambda r: str(arc(r))), "admin", "**Arc France** (n° "),
    Case("pending", press("pending", lambda r: str(arc(r))), "admin",
         "Demandes en attente : Arc France"),
    Case("members", press("members", lambda r: f"{arc(r)}:a:0"), "admin", "Marion H."),
    Case("members_search", press("members_search", lambda r: f"{arc(r)}:a", text="Hennebert"),
         "admin", "Marion H."),
    Case("member", press("member", lambda r: str(m(r, "marion"))), "admin",
         "**Marion H.** — Arc France"),
    Case("history", press("history", lambda r: str(arc(r))), "admin", "Arc France"),
    Case("validation", press("validation", lambda r: str(arc(r))), "admin",
         "Type de validation de Arc France"),
    Case("widget", press("widget", lambda r: str(arc(r))), "admin", WIDGET.split("{")[0]),
    Case("chart_menu", press("chart_menu", lambda r: f"c{arc(r)}"), "admin", "Arc France"),
    Case("chart_menu territory", press("chart_menu", lambda r: f"t{r.territory_id}"),
         "operator", "Hauts-de-France", refusal=fr("charts.territory_operators")),
    Case("chart", press("chart", lambda r: f"co2:m:r:c{arc(r)}"), "admin", "Arc France"),
    Case("chart_csv", press("chart_csv", lambda r: f"co2:m:r:c{arc(r)}"), "admin", ".csv"),
    Case("chart_sum", press("chart_sum", lambda r: f"c{arc(r)}"), "admin", "Arc France"),
    Case("approve", press("approve", lambda r: str(m(r, "pierre"))), "admin",
         "Pierre L. : demande acceptée dans Arc France", "approve"),
    Case("refuse", press("refuse", lambda r: str(m(r, "helene")), text="Hors périmètre 🚗"),
         "admin", "Hélène B. : demande refusée dans Arc France", "refuse"),
    Case("approve_all", press("approve_all", lambda r: str(arc(r))), "admin", "Arc France"),
    Case("approve_all_ok", press("approve_all_ok", lambda r: f"{arc(r)}:1"), "admin",
         "1 demande acceptée dans Arc France", "approve"),
    Case("refuse_all", press("refuse_all", lambda r: str(arc(r))), "admin",
         "Aucune demande en attente pour Arc France."),
    Case("refuse_all_ok", press("refuse_all_ok", lambda r: f"{arc(r)}:0"), "admin",
         "0 demande refusée dans Arc France"),
    Case("approve_matching", press("approve_matching", lambda r: str(arc(r))), "admin",
         "Aucune demande en attente pour Arc France."),
    Case("approve_matching_ok", press("approve_matching_ok", lambda r: f"{arc(r)}:0"), "admin",
         "0 demande acceptée dans Arc France"),
    # Decisions from a list: Pierre L. (accepted above) made pending again, each time.
    Case("set_status pierre pending", press("set_status", lambda r: f"{m(r, 'pierre')}:0:1"),
         "admin", "Pierre L. : statut changé", "set_status"),
    Case("approve_listed", press("approve_listed", lambda r: f"{m(r, 'pierre')}:{arc(r)}:0"),
         "admin", "Aucune demande en attente pour Arc France.\n✅ Pierre L. : acceptée par",
         "approve"),
    Case("set_status pierre pending again",
         press("set_status", lambda r: f"{m(r, 'pierre')}:0:1"), "admin",
         "Pierre L. : statut changé", "set_status"),
    Case("refuse_listed", press("refuse_listed", lambda r: f"{m(r, 'pierre')}:{arc(r)}:0",
                                text="Hors périmètre 🚗"), "admin",
         "❌ Pierre L. : refusée par", "refuse"),
    Case("set_status", press("set_status", lambda r: f"{m(r, 'marion')}:2:1"), "admin",
         "Marion H. : statut changé", "set_status"),
    Case("remove", press("remove", lambda r: f"{m(r, 'nathalie')}:3"), "admin", "Nathalie D."),
    Case("remove_ok", press("remove_ok", lambda r: f"{m(r, 'nathalie')}:3"), "admin",
         "Nathalie D.", "remove"),
    Case("members_hidden", press("members_hidden", lambda r: f"{arc(r)}:1"), "admin",
         "Arc France", "members_hidden"),
    Case("ads_hidden", press("ads_hidden", lambda r: f"{arc(r)}:1"), "admin", "Arc France",
         "proposals_hidden"),
    Case("validation_set", press("validation_set", lambda r: f"{arc(r)}:0"), "admin",
         "validation automatique", "validation"),
    Case("domains", press("domains", lambda r: str(arc(r)), text="arcfrance.fr;arc-intl.com"),
         "admin", "arcfrance.fr, arc-intl.com", "validation"),
    Case("identifiers", press("identifiers", lambda r: str(arc(r)), file_name="ids.csv",
                              file_content=b"123;01/02/1980\n456;03/04/1990\n"),
         "admin", "2 paires d'identifiants", "identifiers"),
    Case("add_member", press("add_member", lambda r: str(arc(r)), text="lila.aubert@free.fr"),
         "admin", "Lila A."),
    Case("add_pick", press("add_pick", lambda r: f"{arc(r)}:{r.world.users['lila']}"), "admin",
         "Lila A."),
    Case("add_as", press("add_as", lambda r: f"{arc(r)}:{r.world.users['lila']}:1"), "admin",
         "Lila A.", "add_member"),
    Case("edit_description", press("edit_description", lambda r: str(arc(r)),
                                   text="Covoiturage des sites 🚗"), "admin",
         "Covoiturage des sites 🚗", "edit_description"),
    Case("edit_full_description", press("edit_full_description", lambda r: str(arc(r)),
                                        text="Tous les sites d'Arc."), "admin",
         "Tous les sites d'Arc.", "edit_full_description"),
    Case("edit_name", press("edit_name", lambda r: str(arc(r)), text=NEW_NAME), "admin",
         NEW_NAME, "edit_name"),
    Case("language", press("language", lambda r: "fr"), "self", fr("language.changed")),
    Case("cancel", press("cancel", lambda r: ""), "self", fr("common.cancelled")),
    Case("bind", press("bind", lambda r: str(arc(r))), "admin", "Ce groupe recevra", "bind",
         place="group"),
    Case("delete_ask", press("delete_ask", lambda r: str(arc(r))), "creator", NEW_NAME,
         refusal=NOT_CREATOR_RENAMED),
    Case("delete", press("delete", lambda r: str(arc(r)), text=NEW_NAME), "creator", NEW_NAME,
         "delete_community", refusal=NOT_CREATOR_RENAMED),
)  # fmt: skip


def command(name: str, *args: Callable[[Roles], str] | str):
    return lambda r: (name, [a(r) if callable(a) else a for a in args])


def arc_id(r: Roles) -> str:
    return str(arc(r))


#: Typed commands (and the chat words), in the order an administrator runs them.
COMMAND_CASES: tuple[Case, ...] = (
    Case("communautes", command("communautes"), "self", "Arc France", outcome=SELF_COMMUNITIES),
    Case("attente", command("attente", arc_id), "admin", "Demandes en attente : Arc France"),
    Case("membres", command("membres", arc_id, "refusés"), "admin", "Nathalie D."),
    Case("parametres", command("parametres", arc_id), "admin", "**Arc France** (n° "),
    Case("historique", command("historique", arc_id), "admin", "Arc France"),
    Case("graphique", command("graphique", arc_id), "admin", "Arc France"),
    Case("widget", command("widget", arc_id), "admin", WIDGET.split("{")[0]),
    Case("ajouter", command("ajouter", arc_id, "lila.aubert@free.fr"), "admin", "Lila A."),
    Case("supprimer", command("supprimer", arc_id), "creator", "Arc France"),
    Case("langue", command("langue", "fr"), "self", fr("language.changed")),
    Case("notifications", command("notifications", "off"), "self", fr("push.off")),
    Case("silence", command("silence", "22:00-07:00"), "self", "22:00"),
    Case("aide", command("aide"), "self", "attente"),
    Case("link", command("link"), "self", "attente"),  # no code: the help
    Case("description", command("description", arc_id, "Covoiturage", "🚗"), "admin",
         "Covoiturage 🚗", "edit_description"),
    Case("presentation", command("presentation", arc_id, "Tous", "les", "sites"), "admin",
         "Tous les sites", "edit_full_description"),
    Case("renommer", command("renommer", arc_id, *NEW_NAME.split()), "admin", NEW_NAME,
         "edit_name"),
    Case("lier", command("lier", arc_id), "admin", "Ce groupe recevra", "bind", place="group"),
    Case("delier", command("delier"), "self", fr("link.unlinked")),  # last: unlinks
)  # fmt: skip


def test_every_action_and_command_has_a_row():
    assert {case.action for case in BUTTONS} == {a.name for a in ACTIONS} >= {"bind"}
    assert {case.name for case in COMMAND_CASES} >= {c.name for c in COMMANDS if c is not LINK}
    assert {BIND_COMMAND.name, UNLINK.name, LINK.english} <= {case.name for case in COMMAND_CASES}
    assert set(ROLES) == {*REFUSED_ROLES, *ADMINS}


def expected(case: Case, role: str) -> tuple[bool, str]:
    """(allowed, fragment) or (refused, the exact text)."""
    if role == "unlinked":
        return False, NOT_LINKED
    if case.rule == "self":
        return case.outcome.get(role, (True, case.ok))
    if case.rule == "operator":
        return (True, case.ok) if role in OPERATORS else (False, case.refusal)
    if role not in ADMINS:
        return False, NOT_ADMIN
    if case.rule == "creator" and role == "moderator":
        return False, case.refusal or NOT_CREATOR
    return True, case.ok


def run(roles: Roles, role: str, case: Case):
    made = case.make(roles)
    where = GROUP if case.place == "group" else PLACE
    account = roles.account(role)
    if isinstance(made, Press):
        return chat.on_press(roles.ctx, account, where, made, "fr")
    name, args = made
    return chat.on_command(roles.ctx, account, where, name, args, "fr")


def last_audit(ctx):
    with ctx.sessions() as session:
        return session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()


def play(roles: Roles, role: str, cases: tuple[Case, ...]) -> None:
    ctx = roles.ctx
    person = ROLES[role]
    for case in cases:
        allowed, text = expected(case, role)
        if text is NOT_ADMIN:
            text = fr(NOT_ADMIN, id=roles.world.communities["arc"])
        before = snapshot(ctx)  # memberships, communities, number of audit entries
        reply = run(roles, role, case)
        unknown = [b.action for b in reply.all_buttons if b.action not in ACTIONS]
        assert not unknown, (role, case.name, unknown)
        if not allowed:
            assert (reply.ok, reply.text) == (False, text), (role, case.name)
            if role in REFUSED_ROLES:  # nobody learns the name of what they cannot see
                assert "Arc France" not in reply.text, (role, case.name)
            assert snapshot(ctx) == before, (role, case.name)
            continue
        assert reply.ok, (role, case.name, reply.text)
        assert text in reply.text, (role, case.name, text, reply.text)
        after = snapshot(ctx)
        if case.audit is None:
            assert after == before, (role, case.name)  # a read changes nothing, audits nothing
        else:
            assert after[2] == before[2] + 1, (role, case.name)
            entry = last_audit(ctx)
            assert (entry.action, entry.actor_user_id, entry.front) == (
                case.audit, roles.world.users[person], "telegram"), (role, case.name)  # fmt: skip


@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_buttons_of_people_without_rights_on_arc_france(roles, role):
    ctx = roles.ctx
    before = full_snapshot(ctx)

    play(roles, role, BUTTONS)

    after = full_snapshot(ctx)
    changed = {name for name in before if before[name] != after[name]}
    # `language fr` records the person's own preference; nothing else moved.
    assert changed <= ({"bot_preference"} if role != "unlinked" else set()), changed
    folder = ctx.settings.security_folder
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_commands_of_people_without_rights_on_arc_france(roles, role):
    ctx = roles.ctx
    before = full_snapshot(ctx)

    play(roles, role, COMMAND_CASES)

    after = full_snapshot(ctx)
    changed = {name for name in before if before[name] != after[name]}
    own = {"bot_preference", "bot_chat_identity"}  # language, push, quiet hours; `delier`
    assert changed <= (own if role != "unlinked" else set()), changed


@pytest.mark.parametrize("role", ADMINS)
def test_buttons_of_arc_france_administrators(roles, role):
    play(roles, role, BUTTONS)


@pytest.mark.parametrize("role", ADMINS)
def test_commands_of_arc_france_administrators(roles, role):
    play(roles, role, COMMAND_CASES)


def test_settings_changed_many_times_in_one_second_are_all_recorded(roles):
    """Each change is its own row of the operators' change feed (the key once reused the
    address of a dict, which repeats: a unique-key error then lost the referent's change)."""
    from storage.bot_models import Notification

    arc = arc_id(roles)
    for n in range(12):
        flip = Case("flip", press("members_hidden", lambda r, v=n % 2: f"{arc}:{v}"), "admin")
        reply = run(roles, "moderator", flip)
        assert reply.ok, reply.text
    with roles.ctx.sessions() as session:
        kinds = session.scalars(select(Notification.kind)).all()
    assert kinds.count("community_change") == 11  # the first press set what was already there
