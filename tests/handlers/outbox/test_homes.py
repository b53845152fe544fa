"""Who opened their Home and when it is out of date (handlers/outbox/homes.py): a new request
or a decision marks the Homes of the community's deciders and of operators, nobody else's;
one replica publishes each change; a failed publish is due again."""

from __future__ import annotations

from sqlalchemy import select

from handlers.chat.home import open_home, render_due
from handlers.chat.linking import ChatAccount, issue_link_code, redeem_link_code
from handlers.community import pending
from handlers.outbox import homes, outcomes, watcher
from storage.bot_models import HomeView
from tests.handlers.helpers import actor, set_status_directly
from tests.support.notifications import new_pending


def opened(ctx, who: str, email: str) -> ChatAccount:
    """`who` linked on Slack and has opened their Home."""
    account = ChatAccount("slack", f"U0{who.upper()}", team_id="T1")
    assert redeem_link_code(ctx, account, issue_link_code(ctx, email).code, "fr").ok
    shown = open_home(ctx, account)
    assert shown.opened is not None
    from handlers.chat.home import published

    published(ctx, shown)
    return account


def due_ids(ctx) -> set[str]:
    return {d.key.external_id for d in homes.due(ctx, ["slack"])}


def test_a_new_request_and_a_decision_mark_the_deciders_and_operators_only(ctx, world, engine):
    watcher.scan_new_pending(ctx)  # the world's requests, before anyone opened a Home
    opened(ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")  # Arc France
    opened(ctx, "eddy", "eddy.lefebvre@lenord.fr")  # LeNord covoiture
    opened(ctx, "operator", "operateur@hautsdefrance-mobilites.fr")  # every community
    assert due_ids(ctx) == set()
    assert homes.due(ctx, []) == []
    new_pending(engine, world)  # Arc France
    watcher.scan_new_pending(ctx)
    assert due_ids(ctx) == {"U0JEANMARC", "U0OPERATOR"}
    for due in homes.due(ctx, ["slack"]):
        assert render_due(ctx, due) is not None
    assert due_ids(ctx) == set()
    # Decided on the console, and on the web admin behind the bot's back: the same.
    reply = pending.approve(ctx, actor(ctx, world, "jeanmarc"), world.membership("arc", "pierre"))
    assert reply.ok
    outcomes.scan_outcomes(ctx)
    assert due_ids(ctx) == {"U0JEANMARC", "U0OPERATOR"}
    assert homes.due(ctx, ["telegram"]) == []  # only the platforms asked for
    for due in homes.due(ctx, ["slack"]):
        render_due(ctx, due)
    set_status_directly(ctx, world.membership("gsk", "aurelien"), 1)
    outcomes.scan_outcomes(ctx)
    assert due_ids(ctx) == {"U0OPERATOR"}  # GSK: neither Jean-Marc's nor Eddy's


def test_one_publish_per_change_and_a_failed_one_is_due_again(ctx, world, engine):
    watcher.scan_new_pending(ctx)
    opened(ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
    new_pending(engine, world)
    watcher.scan_new_pending(ctx)
    (due,) = homes.due(ctx, ["slack"])
    found = render_due(ctx, due)
    assert found is not None and "Adèle D." in "\n".join(s.text for s in found.sections)
    assert render_due(ctx, due) is None  # another replica's claim of the same change
    homes.release(ctx, due)  # the publish failed
    (again,) = homes.due(ctx, ["slack"])
    assert again.version == due.version
    assert render_due(ctx, again) is not None
    # A release arriving after a newer change was shown undoes nothing.
    new_pending(engine, world, given="Bruno")
    watcher.scan_new_pending(ctx)
    (newer,) = homes.due(ctx, ["slack"])
    assert render_due(ctx, newer) is not None
    homes.release(ctx, again)
    assert homes.due(ctx, ["slack"]) == []


def test_forgotten_when_unreachable(ctx, world):
    account = opened(ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
    with ctx.sessions() as session:
        row = session.scalars(select(HomeView)).one()
        assert row.external_id == account.external_id
    homes.forget(ctx, row.id)
    with ctx.sessions() as session:
        assert session.scalars(select(HomeView)).all() == []
