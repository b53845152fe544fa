"""Memberships and the community's own row, written as the platform's entities write them.

Community/Entity/CommunityUser.php: setAutoCreatedDate (PrePersist), setAutoUpdatedDate
(PreUpdate), setAutoStatus (PrePersist), setAutoAcceptedOrRefusedDate (PrePersist, PreUpdate);
Community/Admin/Service/CommunityManager.php :: addCommunityUser (persist, then the chosen
status set again and flushed); Community/Entity/Community.php :: setAutoUpdatedDate.
"""

from __future__ import annotations

from sqlalchemy import select

from handlers.community import admin as community_admin
from handlers.community import members, pending
from handlers.community import settings as card
from storage.clock import now
from storage.codes import AuthItemId, MembershipStatus
from storage.models import CommunityUser, UserAuthAssignment
from tests.handlers.helpers import actor, community, membership


def _row(ctx, world, community_key: str, person: str) -> CommunityUser:
    with ctx.sessions() as session:
        row = session.scalars(
            select(CommunityUser).where(
                CommunityUser.community_id == world.communities[community_key],
                CommunityUser.user_id == world.users[person],
            )
        ).one()
        session.expunge(row)
        return row


def test_approving_sets_the_accepted_date_and_the_update(ctx, world):
    """CommunityUser.php :: setAutoAcceptedOrRefusedDate (status 1, no accepted_date)."""
    referent = actor(ctx, world, "jeanmarc")
    assert pending.approve(ctx, referent, world.memberships[("arc", "pierre")]).ok
    row = membership(ctx, world.memberships[("arc", "pierre")])
    assert row.status == MembershipStatus.MEMBER
    assert (row.accepted_date, row.refused_date, row.updated_date) == (now(), None, now())


def test_refusing_sets_the_refused_date_and_clears_the_accepted_one(ctx, world):
    """CommunityUser.php :: setAutoAcceptedOrRefusedDate (status 3, no refused_date)."""
    referent = actor(ctx, world, "jeanmarc")
    assert pending.refuse(ctx, referent, world.memberships[("arc", "helene")]).ok
    row = membership(ctx, world.memberships[("arc", "helene")])
    assert row.status == MembershipStatus.REFUSED
    assert (row.accepted_date, row.refused_date, row.updated_date) == (None, now(), now())


def test_back_to_pending_clears_both_dates(ctx, world):
    """CommunityUser.php :: setAutoAcceptedOrRefusedDate (status 0)."""
    referent = actor(ctx, world, "jeanmarc")
    marion = world.memberships[("arc", "marion")]
    assert members.set_member_status(
        ctx, referent, marion, MembershipStatus.PENDING, MembershipStatus.MEMBER
    ).ok
    row = membership(ctx, marion)
    assert (row.status, row.accepted_date, row.refused_date) == (0, None, None)
    assert row.updated_date == now()


def test_a_moderator_made_member_keeps_the_date_of_acceptance(ctx, world):
    """CommunityUser.php :: setAutoAcceptedOrRefusedDate leaves accepted_date once set."""
    referent = actor(ctx, world, "jeanmarc")
    emilie = world.memberships[("arc", "emilie")]
    accepted = membership(ctx, emilie).accepted_date
    assert accepted is not None and accepted != now()
    assert members.set_member_status(
        ctx, referent, emilie, MembershipStatus.MEMBER, MembershipStatus.MODERATOR
    ).ok
    row = membership(ctx, emilie)
    assert (row.status, row.accepted_date, row.refused_date) == (1, accepted, None)
    assert row.updated_date == now()


def test_a_refused_person_accepted_later_loses_the_refusal_date(ctx, world):
    """CommunityUser.php :: setAutoAcceptedOrRefusedDate (status 1 after 3)."""
    referent = actor(ctx, world, "jeanmarc")
    nathalie = world.memberships[("arc", "nathalie")]
    assert members.set_member_status(
        ctx, referent, nathalie, MembershipStatus.MEMBER, MembershipStatus.REFUSED
    ).ok
    row = membership(ctx, nathalie)
    assert (row.status, row.accepted_date, row.refused_date) == (1, now(), None)


def test_adding_a_member_to_an_open_community_is_a_single_insert(ctx, world):
    """Admin CommunityManager.php :: addCommunityUser: setAutoStatus keeps "member" in a
    community not validated by a moderator, so the second flush changes nothing and
    updated_date stays empty."""
    referent = actor(ctx, world, "eddy")  # LeNord: automatic validation
    assert community_admin.add_member(
        ctx, referent, world.communities["lenord"], world.users["cyrielle"], 1
    ).ok
    row = _row(ctx, world, "lenord", "cyrielle")
    assert (row.status, row.created_date, row.accepted_date) == (1, now(), now())
    assert (row.refused_date, row.updated_date) == (None, None)


def test_adding_a_member_to_a_moderated_community_is_an_insert_then_an_update(ctx, world):
    """Admin CommunityManager.php :: addCommunityUser: in a community validated by a
    moderator setAutoStatus makes the row pending, then the chosen status is written again:
    an UPDATE, so updated_date is set."""
    referent = actor(ctx, world, "jeanmarc")  # Arc France: validated by a moderator
    assert community_admin.add_member(
        ctx, referent, world.communities["arc"], world.users["lila"], 1
    ).ok
    row = _row(ctx, world, "arc", "lila")
    assert (row.status, row.created_date, row.accepted_date, row.updated_date) == (
        1,
        now(),
        now(),
        now(),
    )


def test_adding_a_moderator_gives_the_role_and_no_update(ctx, world):
    """setAutoStatus keeps a moderator; CommunityUserSaveListener::postPersist adds role 8."""
    referent = actor(ctx, world, "jeanmarc")
    assert community_admin.add_member(
        ctx, referent, world.communities["arc"], world.users["eddy"], 2
    ).ok
    row = _row(ctx, world, "arc", "eddy")
    assert (row.status, row.accepted_date, row.updated_date) == (2, now(), None)
    with ctx.sessions() as session:
        roles = session.scalars(
            select(UserAuthAssignment.auth_item_id).where(
                UserAuthAssignment.user_id == world.users["eddy"]
            )
        ).all()
    assert roles.count(AuthItemId.COMMUNITY_MANAGER_PUBLIC) == 1  # he held it already


def test_a_setting_sets_the_community_updated_date(ctx, world):
    """Community.php :: setAutoUpdatedDate (PreUpdate) on every change of the community."""
    referent = actor(ctx, world, "jeanmarc")
    arc = world.communities["arc"]
    assert community(ctx, arc).updated_date != now()
    assert card.set_ads_hidden(ctx, referent, arc, True).ok
    row = community(ctx, arc)
    assert (row.proposals_hidden, row.updated_date) == (True, now())
