"""Platform parity, part "misc": dates in the platform's zone, the platform's addresses,
pseudonymised users, admin_id, `notified` rows, the address of a deleted community, removing a
member. Each test names the platform file it follows (Covivo/mobicoop 43afc69e2131, api/src/
unless said otherwise) and runs on SQLite, PostgreSQL and the platform's real schema (MariaDB).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers.community import admin as community_admin
from handlers.community import members, pending, widget
from handlers.core.context import Context
from handlers.core.platform_urls import community_page, url_key
from storage import clock, notified, queries
from storage.bot_models import EmailMessage
from storage.clock import now
from storage.codes import MembershipStatus, NotifiedStatus, UserStatus
from storage.community_admin import users_matching_name
from storage.models import (
    Address,
    Community,
    CommunityUser,
    Notified,
    Proposal,
    ProposalCommunity,
    User,
)
from tests.handlers.helpers import actor


@pytest.fixture
def mail_ctx(ctx: Context) -> Context:
    """[email] configured, and the platform's notification rows its migrations insert."""
    with ctx.sessions() as session, session.begin():
        notified.seed(session)
    return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, email_enabled=True))


def _emails(ctx: Context) -> list[EmailMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


def _notified(ctx: Context) -> list[tuple]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Notified).order_by(Notified.id))
        return [(n.notification_id, n.user_id, n.status, n.sent_date, n.created_date,
                 n.community_id) for n in rows]  # fmt: skip


def _pseudonymise(ctx: Context, user_id: int) -> None:
    """As User/Service/PseudonymizationManager::pseudonymizedUser: names emptied, e-mail
    `<id>@mobicoop-anonymized.io`, gender other, status 4; community_user rows stay."""
    with ctx.sessions() as session, session.begin():
        user = session.get(User, user_id)
        user.given_name = user.family_name = None
        user.email = f"{user_id}@mobicoop-anonymized.io"
        user.gender = 3
        user.status = int(UserStatus.PSEUDONYMIZED)


# --- Dates --------------------------------------------------------------------------------------


def test_dates_are_written_in_the_platform_zone(ctx, world):
    """The platform writes naive DATETIMEs in its PHP server's zone (Community/Entity/
    CommunityUser.php PreUpdate: `new \\DateTime()`): accepted_date and updated_date are the
    wall-clock time of [platform] timezone (storage.clock.set_zone)."""
    clock.set_now(None)
    clock.set_zone("Pacific/Kiritimati")  # UTC+14: no other zone is on the same day and hour
    before = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None, microsecond=0)
    pending.approve(ctx, actor(ctx, world, "emilie"), world.membership("arc", "pierre"))
    after = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None)
    with ctx.sessions() as session:
        row = session.get(CommunityUser, world.membership("arc", "pierre"))
        assert before <= row.accepted_date <= after
        assert row.updated_date == row.accepted_date


# --- Addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("GSK Saint Amand les Eaux", "GSK-Saint-Amand-les-Eaux"),
        ("L'Île-de-France à vélo", "L-Ile-de-France-a-velo"),
        ("Cœur d’Artois ", "Cur-dArtois"),  # œ and ’ are not Latin-1: utf8_decode's "?" goes
        ("Hôpital Nord -", "Hopital-Nord-"),  # "Nord--": only one trailing "-" is dropped
        ("Ça roule !", "Ca-roule"),
    ],
)
def test_url_key_as_the_platform_builds_it(name, key):
    """Community/Service/CommunityManager::generateUrlKey (and its twin in Community/Admin/
    Service/CommunityManager): the community page's last segment."""
    assert url_key(name) == key


def test_widget_and_community_page_addresses_are_the_platform_routes(mail_ctx, world):
    """client/src/MobicoopBundle/Resources/config/routes.yaml: community_get_widget
    /communaute/widget/get/{id} (the page giving the code), community_widget
    /communaute/widget/{id} (the iframe, CommunityGetWidget.vue); the acceptance e-mail links
    to /communaute/{id}/{urlKey} (api/templates/communication/fr/email/notification/
    community_membership_accepted.html.twig), all from [platform] base_url."""
    arc = world.communities["arc"]
    reply = widget.widget(mail_ctx, actor(mail_ctx, world, "emilie"), arc)
    base = "https://www.passpasscovoiturage.fr"
    assert f"{base}/communaute/widget/get/{arc}" in reply.text
    assert f'<iframe src="{base}/communaute/widget/{arc}" width="100%" height="640px"' in reply.text
    pending.approve(mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre"))
    [mail] = _emails(mail_ctx)
    assert f"{base}/communaute/{arc}/Arc-France" in mail.body
    assert community_page(base + "/", arc, "Arc France") == f"{base}/communaute/{arc}/Arc-France"


# --- Pseudonymised users ------------------------------------------------------------------------


def test_pseudonymised_users_are_not_found_to_add(ctx, world):
    """User/Admin/DataProvider/UserCollectionDataProvider (the admin's user search):
    `u.status != STATUS_PSEUDONYMIZED`. Neither by name nor by their placeholder e-mail."""
    lila = world.users["lila"]
    with ctx.sessions() as session:
        assert [u.id for u in users_matching_name(session, "Lila", 5)] == [lila]
    with ctx.sessions() as session, session.begin():
        session.get(User, lila).status = int(UserStatus.PSEUDONYMIZED)  # names kept, to search
    with ctx.sessions() as session:
        assert users_matching_name(session, "Lila", 5) == []
    _pseudonymise(ctx, lila)
    reply = community_admin.find_member_to_add(
        ctx, actor(ctx, world, "emilie"), world.communities["arc"], f"{lila}@mobicoop-anonymized.io"
    )
    assert reply.ok is False
    assert (
        f"Aucun compte Pass Pass covoiturage n'a l'adresse « {lila}@mobicoop-anonymized.io »"
        in (reply.text)
    )


def test_pseudonymised_members_are_not_listed_nor_counted(ctx, world):
    """Community/Repository/CommunityUserRepository::findAllCommunityMembers (the admin's member
    list) and findForCommunityNoContext (CommunityManager::getNbMembers): the user's status is
    not 4; their community_user rows stay (PseudonymizationManager keeps them)."""
    arc = world.communities["arc"]
    _pseudonymise(ctx, world.users["marion"])  # a member
    _pseudonymise(ctx, world.users["pierre"])  # a pending request
    reply = members.list_members(ctx, actor(ctx, world, "emilie"), arc)
    assert reply.text.splitlines() == [
        "**Membres de Arc France** — Tous : 5",
        "• Jean-Marc M. — modérateur · référent — rejoint le 13/10/2023",
        "• Emilie F. — modérateur — rejoint le 14/10/2023",
        "• Nathalie D. — refusé — demandé le 16/10/2023",
        "• Hélène B. — en attente — demandé le 12/01/2024",
        "• François B. — en attente — demandé le 13/01/2024",
    ]
    with ctx.sessions() as session:
        _, total = queries.memberships_page(session, arc)
        assert total == 5  # 7 rows, 2 pseudonymised
        assert queries.community_counts(session, arc) == (2, 2)  # 2 moderators; 2 pending left
        [counts] = [c for c in queries.administered_communities(session, world.users["emilie"])]
        assert (counts.members, counts.pending) == (2, 2)
        assert session.get(CommunityUser, world.membership("arc", "marion")) is not None


def test_pseudonymised_users_are_never_emailed(mail_ctx, world):
    """Communication/Service/NotificationManager::notifies returns at once for a pseudonymised
    recipient: no e-mail, no notified row."""
    _pseudonymise(mail_ctx, world.users["pierre"])
    reply = pending.approve(
        mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre")
    )
    assert reply.ok
    assert _emails(mail_ctx) == [] and _notified(mail_ctx) == []


# --- admin_id -----------------------------------------------------------------------------------


def test_admin_id_names_who_decided(ctx, world):
    """The platform never writes community_user.admin_id, and its admin never reads it
    (Community/Entity/CommunityUser.php: `admin` is only in the groups readCommunityUser and
    write, not in aRead of the admin's operations): the bot keeps writing it, for its own
    "decided by" line, which the platform shows nowhere."""
    emilie = actor(ctx, world, "emilie")
    pending.approve(ctx, emilie, world.membership("arc", "pierre"))
    with ctx.sessions() as session:
        assert (
            session.get(CommunityUser, world.membership("arc", "pierre")).admin_id
            == (world.users["emilie"])
        )
    reply = members.member_detail(ctx, emilie, world.membership("arc", "pierre"))
    assert "Décision de : Emilie F." in reply.text.splitlines()


# --- notified -----------------------------------------------------------------------------------


def test_a_notified_row_per_email_the_platform_sends(mail_ctx, world):
    """Community/Admin/Service/CommunityManager::patchCommunityUser dispatches
    community_membership_accepted for status 1 and community_membership_refused for 3, nothing
    for 2; NotificationManager::notifies sends their active e-mail notifications (130 and 132,
    Migrations/Version20210707103446) and createNotified writes one row each: status sent,
    sent_date now, the community. Adding a member (addCommunityUser) notifies nobody."""
    emilie = actor(mail_ctx, world, "emilie")
    arc = world.communities["arc"]
    when = now()
    pending.approve(mail_ctx, emilie, world.membership("arc", "pierre"))
    pending.refuse(mail_ctx, emilie, world.membership("arc", "helene"))
    members.set_member_status(
        mail_ctx, emilie, world.membership("arc", "francois"), int(MembershipStatus.MODERATOR),
        int(MembershipStatus.PENDING),
    )  # fmt: skip
    community_admin.add_member(mail_ctx, emilie, arc, world.users["lila"], 1)
    sent = int(NotifiedStatus.SENT)
    assert _notified(mail_ctx) == [
        (130, world.users["pierre"], sent, when, when, arc),
        (132, world.users["helene"], sent, when, when, arc),
    ]
    assert [m.kind for m in _emails(mail_ctx)] == ["accepted", "refused", "accepted", "added"]


def test_without_the_platform_notification_no_notified_row(mail_ctx, world):
    """A platform database without notification 130 (or with it inactive) sends no e-mail
    itself (NotificationRepository::findActiveByAction finds nothing): the bot writes no
    notified row, and still e-mails the member, which is what the referent expects."""
    from sqlalchemy import update

    from storage.models import Notification

    with mail_ctx.sessions() as session, session.begin():
        session.execute(update(Notification).values(active=False))
    pending.approve(mail_ctx, actor(mail_ctx, world, "emilie"), world.membership("arc", "pierre"))
    assert _notified(mail_ctx) == []
    assert [m.kind for m in _emails(mail_ctx)] == ["accepted"]


# --- Deletion and removal -----------------------------------------------------------------------


def test_deleting_a_community_deletes_its_address(ctx, world):
    """Community/Admin/Service/CommunityManager::deleteCommunity removes the community, and
    Community.address (OneToOne, orphanRemoval=true) goes with it; other addresses stay."""
    arc, lenord = world.communities["arc"], world.communities["lenord"]
    with ctx.sessions() as session:
        address_of_arc = session.get(Community, arc).address_id
        address_of_lenord = session.get(Community, lenord).address_id
    community_admin.delete_community(ctx, actor(ctx, world, "jeanmarc"), arc, "Arc France")
    with ctx.sessions() as session:
        assert session.get(Community, arc) is None
        assert session.get(Address, address_of_arc) is None
        assert session.get(Address, address_of_lenord) is not None


def test_removing_a_member_is_the_admin_delete_and_keeps_their_ads_linked(ctx, world):
    """The platform's admin removes a member with Community/Admin/DataPersister/
    CommunityUserDataPersister::remove -> Admin CommunityManager::deleteCommunityUser: the
    community_user row only. Unlinking the member's ads (proposal_community) is the member's
    own "leave" (Community/Controller/LeaveCommunityAction -> unlinkCommunityJourneys), which
    the bot does not do for them."""
    arc = world.communities["arc"]
    with ctx.sessions() as session, session.begin():
        ad = Proposal(user_id=world.users["marion"], created_date=now(), type=1)
        session.add(ad)
        session.flush()
        session.add(ProposalCommunity(proposal_id=ad.id, community_id=arc))
        ad_id = ad.id
    marion = world.membership("arc", "marion")
    reply = members.remove_member(
        ctx, actor(ctx, world, "emilie"), marion, int(MembershipStatus.MEMBER)
    )
    assert reply.ok
    with ctx.sessions() as session:
        assert session.get(CommunityUser, marion) is None
        assert session.get(ProposalCommunity, (ad_id, arc)) is not None
