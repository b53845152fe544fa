"""The bot's database behind a TCP proxy that a test cuts when it chooses (tests/support)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from handlers.core import uow
from handlers.core.context import Context
from storage.bot_models import AuditEntry, EmailMessage
from storage.engine import make_sessionmaker
from storage.models import CommunityUser
from tests.support.db_proxy import DbProxy, proxy_for


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """The use cases' waits before a new attempt, short (their count is what matters)."""
    monkeypatch.setattr(uow, "RETRY_DELAYS", (0.05, 0.1))


@dataclass
class Proxied:
    """The bot's context going through the proxy; `direct` reads the truth behind it."""

    proxy: DbProxy
    engine: Engine
    ctx: Context
    direct: Context


@pytest.fixture
def proxied(engine, ctx) -> Iterator[Proxied]:
    if engine.dialect.name == "sqlite":
        pytest.skip("a TCP proxy needs a database server")
    proxy = proxy_for(engine)
    through = proxy.engine_for(engine)
    settings = dataclasses.replace(ctx.settings, email_enabled=True)
    yield Proxied(
        proxy,
        through,
        Context(sessions=make_sessionmaker(through), settings=settings),
        dataclasses.replace(ctx, settings=settings),
    )
    through.dispose()
    proxy.stop()


def decision_rows(ctx: Context, membership_id: int) -> tuple:
    """Everything one decision writes: (status, admin_id, accepted?, refused?, audit rows,
    e-mail rows), read straight from the database."""
    with ctx.sessions() as session:
        membership = session.get(CommunityUser, membership_id)
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.membership_id == membership_id)
        )
        emails = session.scalar(
            select(func.count())
            .select_from(EmailMessage)
            .where(EmailMessage.membership_id == membership_id)
        )
        return (
            membership.status,
            membership.admin_id,
            membership.accepted_date is not None,
            membership.refused_date is not None,
            audits,
            emails,
        )
