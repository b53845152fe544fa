"""Reading back what the admin use cases write: e-mails queued, the change feed, everything a
refused request must leave as it was."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from handlers.core.context import Context
from handlers.core.reply import Reply
from storage.bot_models import EmailMessage, Notification
from storage.models import Community, CommunitySecurity, CommunityUser, ProposalCommunity
from tests.handlers.helpers import snapshot


def full_snapshot(ctx: Context) -> tuple:
    """helpers.snapshot plus the texts of communities, every membership row, ad links,
    identifier files, e-mails and the change feed."""
    with ctx.sessions() as session:
        texts = session.execute(
            select(Community.id, Community.name, Community.description,
                   Community.full_description, Community.user_id).order_by(Community.id)
        ).all()  # fmt: skip
        rows = session.execute(
            select(CommunityUser.id, CommunityUser.community_id, CommunityUser.user_id,
                   CommunityUser.created_date).order_by(CommunityUser.id)
        ).all()  # fmt: skip
        links = session.execute(select(ProposalCommunity.proposal_id,
                                       ProposalCommunity.community_id)).all()  # fmt: skip
        files = session.execute(select(CommunitySecurity.id, CommunitySecurity.filename)).all()
        emails = session.scalar(select(func.count()).select_from(EmailMessage))
        feed = session.scalar(select(func.count()).select_from(Notification))
    return snapshot(ctx), texts, rows, sorted(links), files, emails, feed


def assert_refused_full(ctx: Context, reply: Reply, before: tuple, *fragments: str) -> None:
    assert reply.ok is False, reply.text
    for fragment in fragments:
        assert fragment in reply.text, (fragment, reply.text)
    assert full_snapshot(ctx) == before


def emails(ctx: Context) -> list[EmailMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


def feed(ctx: Context) -> list[tuple[str, int | None, dict]]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [(n.kind, n.community_id, json.loads(n.payload or "{}")) for n in rows]
