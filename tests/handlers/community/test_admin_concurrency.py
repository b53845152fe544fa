"""Two referents acting at the same moment, each on their own connection (a second engine, as a
second process has): exactly one write is recorded, the other is refused with a clear message."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.community import admin as community_admin
from handlers.core.context import Context
from storage.bot_models import EmailMessage
from storage.engine import make_sessionmaker
from storage.models import CommunityUser
from tests.handlers.community.test_concurrency import other_engine, run_together  # noqa: F401
from tests.handlers.helpers import actor

ROUNDS = 3


def test_the_same_person_added_twice_at_once_joins_once(mail_ctx, world, other_engine):  # noqa: F811
    other = Context(sessions=make_sessionmaker(other_engine), settings=mail_ctx.settings)
    arc = world.communities["arc"]
    emilie, jeanmarc = actor(mail_ctx, world, "emilie"), actor(other, world, "jeanmarc")
    for person in ("lila", "eddy", "cyrielle")[:ROUNDS]:
        user = world.users[person]
        replies = run_together(
            lambda u=user: community_admin.add_member(mail_ctx, emilie, arc, u, 1),
            lambda u=user: community_admin.add_member(other, jeanmarc, arc, u, 2),
        )
        assert sorted(r.ok for r in replies) == [False, True], [r.text for r in replies]
        [refused] = [r for r in replies if not r.ok]
        assert "fait déjà partie de Arc France" in refused.text
        with mail_ctx.sessions() as session:
            rows = session.scalar(
                select(func.count()).select_from(CommunityUser).where(
                    CommunityUser.community_id == arc, CommunityUser.user_id == user)
            )  # fmt: skip
            mails = session.scalar(
                select(func.count()).select_from(EmailMessage).where(EmailMessage.user_id == user)
            )
        assert (rows, mails) == (1, 1)


def test_two_renames_at_once_each_see_the_name_the_other_wrote(mail_ctx, world, other_engine):  # noqa: F811
    other = Context(sessions=make_sessionmaker(other_engine), settings=mail_ctx.settings)
    arc = world.communities["arc"]
    emilie, jeanmarc = actor(mail_ctx, world, "emilie"), actor(other, world, "jeanmarc")

    replies = run_together(
        lambda: community_admin.edit_details(mail_ctx, emilie, arc, "name", "Arc Covoiturage"),
        lambda: community_admin.edit_details(other, jeanmarc, arc, "name", "Arc Covoiturage"),
    )

    texts = sorted(r.text.splitlines()[0] for r in replies)
    assert texts[0] == "Arc Covoiturage : c'est déjà la valeur actuelle. Rien n'a été modifié."
    assert texts[1].startswith("✏️ Nom changé par")
