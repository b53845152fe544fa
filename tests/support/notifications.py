"""A world where deciders have linked chats, and fake transports recording what they got."""

from __future__ import annotations

import datetime as dt
import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.notifier import Notifier, RetryLater, Unreachable
from handlers.core.reply import Reply
from handlers.outbox.watch_state import ensure_state
from storage import clock
from storage.bot_models import ChatBinding, ChatIdentity, WatcherState
from storage.clock import now
from storage.codes import Gender, MembershipStatus, PhoneDisplay, UserStatus
from storage.models import CommunityUser, User

EMILIE_TG = "1001"
JEANMARC_SLACK = "U0JEANMARC"
TEAM = "T0PASSPASS"
ARC_GROUP = "-100200"


def link_deciders(engine, world) -> None:
    """Emilie on Telegram, Jean-Marc on Slack, and a Telegram group bound to Arc France."""
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                ChatIdentity(platform="telegram", team_id="", external_id=EMILIE_TG,
                             user_id=world.users["emilie"], active=True, linked_at=now()),
                ChatIdentity(platform="slack", team_id=TEAM, external_id=JEANMARC_SLACK,
                             user_id=world.users["jeanmarc"], active=True, linked_at=now()),
                ChatBinding(platform="telegram", team_id="", chat_id=ARC_GROUP,
                            community_id=world.communities["arc"], active=True, created_at=now()),
            ]
        )  # fmt: skip


def new_pending(engine, world, given: str = "Adèle", family: str = "Dubois") -> int:
    """A join request written straight into the database, as the web admin would."""
    with Session(engine) as session, session.begin():
        user = User(given_name=given, family_name=family,
                    email=f"{given.lower()}.{family.lower()}@arcfrance.fr",
                    gender=int(Gender.FEMALE), status=int(UserStatus.ACTIVE),
                    created_date=now(), phone_display=int(PhoneDisplay.RESTRICTED))  # fmt: skip
        session.add(user)
        session.flush()
        membership = CommunityUser(community_id=world.communities["arc"], user_id=user.id,
                                   status=int(MembershipStatus.PENDING),
                                   created_date=now() - dt.timedelta(minutes=1))  # fmt: skip
        session.add(membership)
        session.flush()
        return membership.id


@dataclass
class FakeTransport:
    """Records sends and edits; can be told to fail the next calls."""

    platform: str
    sent: list[tuple[str, str, Reply]] = field(default_factory=list)
    edits: list[tuple[str, str, Reply]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat_id: str, team_id: str, reply: Reply) -> str:
        self._maybe_fail(chat_id)
        ref = f"{chat_id}:{next(self.counter)}"
        self.sent.append((chat_id, ref, reply))
        return ref

    async def edit(self, chat_id: str, team_id: str, message_ref: str, reply: Reply) -> None:
        self._maybe_fail(chat_id)
        self.edits.append((chat_id, message_ref, reply))

    def _maybe_fail(self, chat_id: str) -> None:
        if chat_id in self.unreachable:
            raise Unreachable("Forbidden: bot was blocked by the user")
        if self.failures:
            raise self.failures.pop(0)


def retry(after: float | None = 0.0) -> RetryLater:
    return RetryLater("429 Too Many Requests", after)


@dataclass
class FakeApp:
    """What the notifier needs of bot.runtime.App: the context, a thread pool, transports."""

    ctx: object
    transports: dict
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4))

    async def call(self, func, *args, **kwargs):
        import asyncio
        import functools

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    async def call_background(self, func, *args, **kwargs):
        return await self.call(func, *args, **kwargs)


class NoPacing:
    """Pacing is tested on its own; elsewhere it would only slow the tests down."""

    async def acquire(self, platform: str, chat_id: str) -> None:
        return None


def notifier_for(front, reminders_done: bool = True) -> Notifier:
    """A notifier on the front's App, without pacing; today's reminders marked done (they are
    tested apart) unless `reminders_done` is False."""
    ctx = front.app.ctx
    if reminders_done:
        ensure_state(ctx, "reminders_last_day")
        with ctx.sessions() as session, session.begin():
            session.get(WatcherState, "reminders_last_day").value = clock.now().date().isoformat()
    notifier = Notifier(front.app, interval=0.05)
    notifier.limiter = NoPacing()
    return notifier
