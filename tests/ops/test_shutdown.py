"""SIGTERM while a decision waits on a row lock: `referent-bot run` (a real process, against
the fake Bot API and a real server database) stops taking updates, lets the decision finish
and answers it, releases the deliveries its notifier claimed but did not send, and exits 0
within [bot] shutdown_seconds."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from handlers.chat import entry as chat
from handlers.chat.actions import callback_data
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount, issue_link_code
from storage.bot_models import Delivery
from storage.codes import Gender, MembershipStatus, PhoneDisplay, UserStatus
from storage.models import CommunityUser, User
from tests.bot.telegram.conftest import JEANMARC
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN
from tests.ops.support import free_port, url_of, write_config

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["postgres", "mariadb"], indirect=True),
]
SHUTDOWN_SECONDS = 15
EXTRA_PENDING = 8


def add_pending_members(engine: Engine, community_id: int, count: int) -> None:
    """More people waiting in Arc France: the notifier has a queue for Jean-Marc's chat."""
    when = dt.datetime(2024, 1, 16, 8, 0)
    with Session(engine) as session, session.begin():
        for n in range(count):
            user = User(given_name=f"Personne{n}", family_name="Attente",
                        email=f"personne{n}@arcfrance.fr", gender=int(Gender.FEMALE),
                        status=int(UserStatus.ACTIVE), created_date=when,
                        phone_display=int(PhoneDisplay.RESTRICTED))  # fmt: skip
            session.add(user)
            session.flush()
            pending = int(MembershipStatus.PENDING)
            session.add(CommunityUser(community_id=community_id, user_id=user.id,
                                      status=pending, created_date=when))  # fmt: skip


def waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                     "AND datname = current_database()")  # fmt: skip
        else:
            query = ("SELECT count(*) FROM information_schema.innodb_trx t JOIN "
                     "information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                     "WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()")  # fmt: skip
        return bool(connection.execute(text(query)).scalar())


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.1)


async def status_of(port: int, path: str) -> int | None:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}{path}") as response,
        ):
            return response.status
    except aiohttp.ClientError:
        return None


async def test_sigterm_finishes_the_decision_and_releases_the_claimed_deliveries(
    api, engine, ctx, world, tmp_path
):
    code = issue_link_code(ctx, "jean-marc.morel@arcfrance.fr").code
    jeanmarc = ChatAccount("telegram", str(JEANMARC["id"]), display_name="Jean-Marc Morel")
    assert chat.on_command(ctx, jeanmarc, ChatPlace("telegram", "1002"), "start", [code]).ok
    add_pending_members(engine, world.communities["arc"], EXTRA_PENDING)
    port = free_port()
    config = write_config(
        tmp_path / "bot.toml",
        database={"url": url_of(engine)},
        bot={"shutdown_seconds": SHUTDOWN_SECONDS},
        telegram={"enabled": True, "token": TOKEN, "api_base_url": api.base_url,
                  "bot_username": BOT_USERNAME},
        notifications={"poll_seconds": 1},
        metrics={"enabled": True, "port": port},
        logging={"format": "json"},
    )  # fmt: skip
    env = {**os.environ, "REFERENT_BOT_CONFIG": str(config), "XDG_DATA_HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=Path(__file__).resolve().parents[2],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lock = None
    try:
        await until(lambda: _ready(port), 60, "/readyz answers 200")

        def pushed() -> list:
            return [c for c in api.sent(JEANMARC["id"]) if "Nouvelle demande" in c.text]

        async def two_pushed() -> bool:
            return len(pushed()) >= 2

        await until(two_pushed, 30, "the notifier pushes requests to Jean-Marc")

        # Someone else holds Pierre's row: Jean-Marc's approval waits for it.
        pierre = world.membership("arc", "pierre")
        lock = engine.connect()
        lock.begin()
        lock.execute(select(CommunityUser.id).where(CommunityUser.id == pierre).with_for_update())
        query = api.press(JEANMARC, {"message_id": 5000}, callback_data("approve", str(pierre)))

        async def blocked() -> bool:
            return await asyncio.to_thread(waiting_for_a_lock, engine)

        await until(blocked, 20, "the decision waits for the row lock")

        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.sleep(1.0)
        assert process.returncode is None  # still finishing the decision
        assert await status_of(port, "/readyz") == 503  # no traffic for a bot shutting down
        assert not [c for c in api.calls if c.method == "answerCallbackQuery"]
        sent_before_release = len(pushed())

        lock.commit()  # the other transaction ends: the decision goes through
        lock.close()
        lock = None
        out, err = await asyncio.wait_for(process.communicate(), SHUTDOWN_SECONDS + 10)
        elapsed = time.monotonic() - signalled
    finally:
        if lock is not None:
            lock.close()
        if process.returncode is None:
            process.kill()
            await process.wait()

    log = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert process.returncode == 0, err.decode()[-3000:]
    assert elapsed < SHUTDOWN_SECONDS + 5

    # The decision was taken, and Jean-Marc saw it.
    [answer] = [c for c in api.calls if c.method == "answerCallbackQuery"]
    assert answer.params["callback_query_id"] == query
    [edit] = [c for c in api.calls if c.method == "editMessageText"
              and c.params.get("message_id") in (5000, "5000")]  # fmt: skip
    assert "Pierre L. : demande acceptée dans Arc France par Jean-Marc M." in edit.text
    with Session(engine) as session:
        assert session.get(CommunityUser, pierre).status == MembershipStatus.MEMBER
        deliveries = session.scalars(select(Delivery).where(Delivery.chat_id == "1002")).all()

    # Nothing is left claimed: what was not sent is pending again, free for the next start.
    assert all(d.claimed_by is None and d.claimed_until is None for d in deliveries)
    assert not [d for d in deliveries if d.state in ("sending", "unknown")]
    sent = [d for d in deliveries if d.state in ("sent", "edit")]
    pending = [d for d in deliveries if d.state == "pending"]
    assert len(sent) == len(pushed()) >= sent_before_release  # each one sent once
    assert pending and len(sent) + len(pending) == len(deliveries)
    [released] = [e for e in log if e["message"].startswith("released ")]
    assert released["logger"] == "bot.notifier"
    assert int(released["message"].split()[1]) == len(pending)
    assert any(e["message"].startswith("shutting down") for e in log)
    assert not [e for e in log if e["level"] in ("ERROR", "CRITICAL")], log
    assert TOKEN not in out.decode() + err.decode()


async def _ready(port: int) -> bool:
    return await status_of(port, "/readyz") == 200
