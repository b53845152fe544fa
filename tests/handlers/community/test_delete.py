"""Deleting a community, as the web admin's "Supprimer la communauté": only its creator or an
operator, only after typing its exact name, after a last summary of what goes with it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from handlers.chat import commands
from handlers.chat.actions import Press, press
from storage.bot_models import ChatBinding
from storage.clock import now
from storage.models import Community, CommunitySecurity, CommunityUser, Proposal, ProposalCommunity
from tests.handlers.community.helpers import assert_refused_full, feed, full_snapshot
from tests.handlers.helpers import NOW_FR, actor, audit_entries


def run(ctx, who, text: str):
    name, args = commands.parse(text)
    return commands.run_command(ctx, who, name, args)


def with_ads_files_and_binding(ctx, world, tmp_path) -> int:
    """Two ads linked to Arc France (one also to LeNord), an identifiers file, a bound chat."""
    arc, lenord = world.communities["arc"], world.communities["lenord"]
    folder = ctx.settings.security_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arc-ids.csv").write_text("1;2\n")
    with ctx.sessions() as session, session.begin():
        ads = [Proposal(user_id=world.users["marion"], created_date=now(), type=1) for _ in "ab"]
        session.add_all(ads)
        session.flush()
        session.add_all(
            [ProposalCommunity(proposal_id=ad.id, community_id=arc) for ad in ads]
            + [ProposalCommunity(proposal_id=ads[0].id, community_id=lenord)]
            + [CommunitySecurity(community_id=arc, filename="arc-ids.csv", original_name="ids.csv")]
            + [ChatBinding(platform="telegram", chat_id="-100", community_id=arc, created_at=now())]
        )
    return arc


def count(ctx, model, **where) -> int:
    with ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query)


def test_the_creator_sees_the_summary_then_deletes_by_typing_the_exact_name(ctx, world, tmp_path):
    arc = with_ads_files_and_binding(ctx, world, tmp_path)
    jeanmarc = actor(ctx, world, "jeanmarc")

    ask = run(ctx, jeanmarc, f"supprimer {arc}")

    assert ask.text.splitlines() == [
        f"⚠️ **Supprimer Arc France** (n° {arc}) ? C'est définitif. Partiront avec elle :",
        "• 3 membres dont 2 modérateurs, 3 demandes en attente, 1 refusé",
        "• les liens de 2 annonces avec la communauté (les annonces elles-mêmes restent)",
        "• 1 fichier d'identifiants",
        "Pour confirmer, tapez le nom exact de la communauté : Arc France",
    ]
    confirm = ask.all_buttons[0]
    assert (confirm.action, confirm.ref, confirm.style) == ("delete", str(arc), "danger")
    assert "• 3 membres" in confirm.input.prompt  # the summary again, where the name is typed

    reply = press(ctx, jeanmarc, Press("delete", confirm.ref, text="  Arc France "))

    assert reply.ok
    assert reply.text.splitlines()[0] == (
        f"🗑 La communauté Arc France (n° {arc}) a été supprimée par Jean-Marc M. le {NOW_FR}. "
        "Hauts-de-France Mobilités en est informé."
    )
    assert count(ctx, Community, id=arc) == 0
    assert count(ctx, CommunityUser, community_id=arc) == 0
    assert count(ctx, ProposalCommunity, community_id=arc) == 0
    assert count(ctx, CommunitySecurity, community_id=arc) == 0
    assert count(ctx, Proposal) == 2  # the ads themselves stay
    assert count(ctx, ProposalCommunity) == 1  # LeNord's link stays
    assert count(ctx, CommunityUser) == 4  # LeNord's and GSK's memberships stay
    assert not (ctx.settings.security_folder / "arc-ids.csv").exists()
    assert count(ctx, ChatBinding, active=True) == 0
    [entry] = audit_entries(ctx)
    assert (entry.action, entry.community_id) == ("delete_community", arc)
    before = json.loads(entry.before)
    assert (before["name"], before["validation_type"], before["domain"]) == (
        "Arc France", 1, "arcfrance.fr")  # fmt: skip
    after = json.loads(entry.after)
    assert (after["ads"], after["identifier_files"]) == (2, 1)
    assert after["memberships"] == {"0": 3, "1": 1, "2": 2, "3": 1}
    [(kind, community_id, payload)] = feed(ctx)
    assert (kind, community_id, payload["community"]) == ("community_deleted", arc, "Arc France")
    assert payload["before"]["description"] == "Covoiturage Arc France"


def test_a_name_not_exactly_typed_deletes_nothing(ctx, world, tmp_path):
    arc = with_ads_files_and_binding(ctx, world, tmp_path)
    jeanmarc = actor(ctx, world, "jeanmarc")
    before = full_snapshot(ctx)

    for typed in ("arc france", "Arc", "", "Arc France!"):
        reply = press(ctx, jeanmarc, Press("delete", str(arc), text=typed))
        assert_refused_full(ctx, reply, before, "n'est pas exactement celui de la communauté",
                            "Rien n'a été supprimé")  # fmt: skip
    assert (ctx.settings.security_folder / "arc-ids.csv").exists()


def test_a_moderator_or_a_member_may_not_delete(ctx, world):
    arc = world.communities["arc"]
    before = full_snapshot(ctx)

    for person in ("emilie",):  # a moderator of Arc France, not its creator
        who = actor(ctx, world, person)
        for reply in (
            run(ctx, who, f"supprimer {arc}"),
            run(ctx, who, f"supprimer {arc} Arc France"),
            press(ctx, who, Press("delete", str(arc), text="Arc France")),
        ):
            assert_refused_full(
                ctx, reply, before, "Seuls le référent de Arc France (son créateur)"
            )
    for person in ("marion", "eddy"):
        reply = press(ctx, actor(ctx, world, person), Press("delete", str(arc), text="Arc France"))
        assert_refused_full(
            ctx,
            reply,
            before,
            f"Communauté n° {arc} : introuvable parmi celles que vous administrez",
        )


def test_an_operator_deletes_any_community_with_the_name_in_the_command(ctx, world):
    gsk = world.communities["gsk"]

    reply = run(ctx, actor(ctx, world, "operator"), f"supprimer {gsk} GSK Saint Amand les Eaux")

    assert reply.ok
    assert "a été supprimée par Opérateur H." in reply.text
    assert "• 1 membre dont 1 modérateur, 1 demande en attente, 0 refusé" in reply.text
    assert count(ctx, Community, id=gsk) == 0
    assert [k for k, _, _ in feed(ctx)] == ["community_deleted"]


def test_a_community_deleted_meanwhile_is_said_to_be_unknown(ctx, world):
    gsk = world.communities["gsk"]
    operator = actor(ctx, world, "operator")
    run(ctx, operator, f"supprimer {gsk} GSK Saint Amand les Eaux")
    before = full_snapshot(ctx)

    reply = press(ctx, operator, Press("delete", str(gsk), text="GSK Saint Amand les Eaux"))

    assert_refused_full(
        ctx, reply, before, f"Communauté n° {gsk} : introuvable parmi celles que vous administrez"
    )


def test_on_the_platform_schema_the_other_references_follow_its_foreign_keys(ctx, world, engine):
    """community_import rows go with the community (ON DELETE CASCADE), mass mailings stay
    without it (SET NULL): the summary names what goes."""
    if engine.dialect.name != "mysql":
        pytest.skip("only the platform's real schema (MariaDB) has these tables")
    arc = world.communities["arc"]
    jeanmarc = actor(ctx, world, "jeanmarc")
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO community_import (community_id, community_external_id, status) "
                     "VALUES (:c, 'ext-1', 0)"), {"c": arc})  # fmt: skip
            connection.execute(
                text("INSERT INTO mass (community_id, file_name, original_name, size, mime_type, "
                     "created_date, status) VALUES (:c, 'f', 'o', 1, 'text/csv', NOW(), 0)"),
                {"c": arc},
            )  # fmt: skip

        ask = press(ctx, jeanmarc, Press("delete_ask", str(arc)))
        assert "• 1 ligne de « community_import »" in ask.text.splitlines()
        assert "mass" not in ask.text
        reply = press(ctx, jeanmarc, Press("delete", str(arc), text="Arc France"))

        assert reply.ok, reply.text
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT COUNT(*) FROM community_import")) == 0
            assert connection.scalar(text("SELECT community_id FROM mass")) is None
        assert json.loads(audit_entries(ctx)[0].after)["others"] == {"community_import": 1}
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM community_import"))
            connection.execute(text("DELETE FROM mass"))
