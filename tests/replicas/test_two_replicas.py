"""Two `referent-bot run` processes on one server database, behind a reverse proxy that the test
plays: Telegram in webhook mode and Slack in HTTP mode, each replica on its own ports, both
pointed at the fake Bot API and the fake Slack API. Every update is answered once (Telegram's
redeliveries and Slack's retries go to both), every decision is recorded once, every pending
request written by SQL is pushed once to each decider; one replica is then SIGKILLed and the
other carries on alone, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable

import aiohttp
import pytest
from sqlalchemy import func, select

from handlers.chat.actions import parse_callback_data
from storage.bot_models import AuditEntry, Delivery, Notification, SeenUpdate
from storage.codes import MembershipStatus
from storage.engine import make_engine
from storage.models import CommunityUser
from tests.bot.slack.conftest import SLACK_IDS, command_payload, sign
from tests.bot.slack.fake_slack_api import TEAM, FakeSlack, block_text
from tests.bot.slack.test_scenarios import find
from tests.bot.telegram.fake_bot_api import BOT_ID, FakeBotApi
from tests.replicas.processes import SECRETS, WEBHOOK_SECRET, Replica, cli
from tests.support.databases import throwaway_database
from tests.support.notifications import ARC_GROUP, EMILIE_TG, link_deciders, new_pending
from tests.support.world import build_world

pytestmark = pytest.mark.asyncio
JEANMARC_DM = "D0JEANMARC"  # the fake's conversations.open for U0JEANMARC
DECIDERS = (EMILIE_TG, ARC_GROUP, JEANMARC_DM)  # where Arc France's requests are pushed
STRANGERS = range(7001, 7013)  # unlinked Telegram users: one update each
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(params=["postgres", "mariadb"])
def database_url(request):
    """A throwaway database on the server (MariaDB: with the platform's real schema)."""
    with throwaway_database(request.param, "rb_replicas") as url:
        yield url


# --- what Telegram and Slack post ------------------------------------------------------------


def user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": f"Personne {user_id}",
            "language_code": "fr"}  # fmt: skip


def text_update(update_id: int, user_id: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "from": user(user_id), "text": text,
        "chat": {"id": user_id, "type": "private", "first_name": "Personne"},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }}  # fmt: skip


def press_update(update_id: int, user_id: int, pushed, data: str) -> dict:
    """A press on a button of a message the bot sent (as the fake Bot API recorded it)."""
    message = {**pushed.result, "from": {"id": BOT_ID, "is_bot": True, "first_name": "bot"}}
    return {"update_id": update_id, "callback_query": {
        "id": f"q{update_id}", "from": user(user_id), "chat_instance": "ci", "data": data,
        "message": message,
    }}  # fmt: skip


def slack_press(who: str, element: dict, channel: str, message_ts: str) -> str:
    payload = {
        "type": "block_actions", "api_app_id": "A0PASSPASS", "token": "legacy",
        "user": {"id": SLACK_IDS[who], "team_id": TEAM}, "team": {"id": TEAM},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False},
        "channel": {"id": channel}, "trigger_id": f"trigger-{uuid.uuid4().hex}",
        "actions": [{"action_id": element["action_id"], "block_id": "b", "type": "button",
                     "value": element["value"], "action_ts": str(time.time())}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def direct_message(event_id: str, text: str) -> str:
    return json.dumps({
        "type": "event_callback", "token": "legacy", "team_id": TEAM,
        "api_app_id": "A0PASSPASS", "event_id": event_id, "event_time": int(time.time()),
        "event": {"type": "message", "channel": JEANMARC_DM, "channel_type": "im",
                  "user": SLACK_IDS["jeanmarc"], "team": TEAM, "text": text,
                  "ts": f"{time.time():.6f}"},
    })  # fmt: skip


class Proxy:
    """The reverse proxy: forwards to a replica chosen by the test, the way nginx would."""

    def __init__(self, http: aiohttp.ClientSession, replicas: list[Replica]) -> None:
        self.http = http
        self.replicas = replicas
        self.telegram_ids: set[int] = set()
        self.slack_keys: set[str] = set()

    async def telegram(self, replica: int, update: dict) -> None:
        self.telegram_ids.add(update["update_id"])
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        url = self.replicas[replica].webhook
        async with self.http.post(url, json=update, headers=headers) as response:
            assert response.status == 200

    async def telegram_to_both(self, update: dict) -> None:
        """Telegram's redelivery reaching the other replica at the same moment."""
        await asyncio.gather(self.telegram(0, update), self.telegram(1, update))

    async def slack(self, replica: int, body: str, content_type: str = FORM, **extra) -> None:
        headers = {"Content-Type": content_type, **sign(body), **extra}
        url = self.replicas[replica].slack_events
        async with self.http.post(url, data=body, headers=headers) as response:
            assert response.status == 200


async def until(condition: Callable[[], bool], what: str, replicas, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {r.name}\n{r.output()[-3000:]}" for r in replicas)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        await asyncio.sleep(0.1)


# --- the test --------------------------------------------------------------------------------


async def test_two_replicas_handle_each_update_once_and_push_each_request_once(
    tmp_path, database_url
):
    assert "bot tables at revision" in cli(tmp_path, database_url, "db", "upgrade")
    engine = make_engine(database_url)
    world = build_world(engine)
    link_deciders(engine, world)  # Emilie on Telegram, Jean-Marc on Slack, a bound group
    bot_api, slack = FakeBotApi(), FakeSlack()
    await bot_api.start()
    await slack.start()
    replicas = [Replica(name, tmp_path, database_url) for name in ("a", "b")]

    def tg_pushes():
        return [c for c in bot_api.sent(None, "sendMessage") if c.text.startswith("🔔")]

    def slack_pushes():
        return [c for c in slack.of("chat.postMessage") if block_text(c.args).startswith("🔔")]

    def pushed() -> Counter:
        return Counter(
            [(c.chat_id, c.text) for c in tg_pushes()]
            + [(c.args["channel"], block_text(c.args)) for c in slack_pushes()]
        )

    def states(*memberships: int) -> list[str]:
        with engine.connect() as connection:
            return list(connection.scalars(
                select(Delivery.state).join(Notification)
                .where(Notification.membership_id.in_(memberships))
            ))  # fmt: skip

    try:
        for replica in replicas:
            replica.start(bot_api, slack)
        for replica in replicas:
            await replica.ready()
        # Pushed by whichever replica gets there: the 3 requests already pending in Arc France,
        # and 3 more written by SQL, as the web admin would, while both replicas run.
        for given in ("Agathe", "Bruno", "Chloé"):
            new_pending(engine, world, given, "Durand")

        async with aiohttp.ClientSession() as http:
            proxy = Proxy(http, replicas)
            # Telegram: one update per person, alternately; every third one delivered twice.
            for index, person in enumerate(STRANGERS):
                update = text_update(100 + index, person, "/aide")
                if index % 3 == 0:
                    await proxy.telegram_to_both(update)
                else:
                    await proxy.telegram(index % 2, update)
            # Slack: a command per channel, alternately; every third one replayed to the other.
            for index in range(8):
                body = urllib.parse.urlencode(
                    command_payload("jeanmarc", "aide", f"C0ROOM{index}", slack.url)
                )
                await proxy.slack(index % 2, body)
                if index % 3 == 0:
                    await proxy.slack(1 - index % 2, body)
            # An event Slack thought lost, retried to the other replica.
            event = direct_message("Ev0ATTENTE", "attente")
            await proxy.slack(0, event, "application/json")
            await proxy.slack(1, event, "application/json", **{"X-Slack-Retry-Num": "1"})

            def push_of(name: str, chat: str):
                found = [c for c in tg_pushes() if c.chat_id == chat and name in c.text] + [
                    c for c in slack_pushes()
                    if c.args["channel"] == chat and name in block_text(c.args)
                ]  # fmt: skip
                return found[0] if found else None

            await until(
                lambda: push_of("Pierre L.", EMILIE_TG) and push_of("Hélène B.", JEANMARC_DM),
                "the pushes to decide from",
                replicas,
            )
            # Emilie approves Pierre from her push; the press reaches both replicas.
            pierre = world.membership("arc", "pierre")
            push = push_of("Pierre L.", EMILIE_TG)
            [data] = [b["callback_data"] for row in push.keyboard for b in row
                      if parse_callback_data(b["callback_data"]).action == "approve"]  # fmt: skip
            await proxy.telegram_to_both(press_update(200, int(EMILIE_TG), push, data))
            # Jean-Marc approves Hélène from his Slack push; the press is replayed.
            helene = world.membership("arc", "helene")
            dm = push_of("Hélène B.", JEANMARC_DM)
            press = slack_press("jeanmarc", find(dm, "approve"), JEANMARC_DM, dm.result["ts"])
            await proxy.slack(1, press)
            await proxy.slack(0, press)
            await until(lambda: sum(pushed().values()) == 6 * 3, "6 requests pushed", replicas)
            await until(
                lambda: (
                    states(pierre, helene) == ["edited"] * 6
                    and len(bot_api.sent(None, "answerCallbackQuery")) == 1
                ),
                "every copy of both decisions edited",
                replicas,
            )

            # Replica a dies; the proxy sends everything to b, which carries on alone.
            replicas[0].kill()
            for given in ("Emma", "Farid", "Gaëlle"):
                new_pending(engine, world, given, "Martin")
            for index, person in enumerate(range(7101, 7104)):
                await proxy.telegram(1, text_update(300 + index, person, "/aide"))
            await until(lambda: sum(pushed().values()) == 9 * 3, "b pushing alone", replicas)
            await until(
                lambda: (
                    all(len(bot_api.sent(p)) == 1 for p in (*STRANGERS, 7101, 7102, 7103))
                    and len(slack.of("chat.postMessage")) >= 9 + 8 + 1
                ),
                "every answer",
                replicas,
            )
            await asyncio.sleep(0.5)  # room for a copy wrongly handled to show up
        assert await replicas[1].stop() == 0, replicas[1].output()
    finally:
        for replica in replicas:
            if replica.process is not None and replica.process.poll() is None:
                replica.kill()
        await bot_api.stop()
        await slack.stop()

    # Every push once, to each decider, for each of the 9 requests.
    counts = pushed()
    assert max(counts.values()) == 1
    assert Counter(chat for chat, _ in counts) == {chat: 9 for chat in DECIDERS}
    # Every Telegram update answered once; the press once, as a success (not "already done").
    for person in (*STRANGERS, 7101, 7102, 7103):
        [answer] = bot_api.sent(person)
        assert answer.text.startswith("Votre compte de messagerie n'est pas relié"), answer.text
    [answer] = bot_api.sent(None, "answerCallbackQuery")
    assert answer.params["callback_query_id"] == "q200" and "text" not in answer.params
    # Slack: each command answered in its channel once; the retried event once; the press once.
    rooms = Counter(c.args["channel"] for c in slack.of("chat.postMessage"))
    assert {room: rooms[room] for room in rooms if room.startswith("C0ROOM")} == {
        f"C0ROOM{index}": 1 for index in range(8)
    }
    listings = [t for t in slack.texts("chat.postMessage") if t.startswith("*Demandes en")]
    assert len(listings) == 1
    every_text = [c.text for c in bot_api.calls] + [block_text(c.args) for c in slack.calls]
    assert not [t for t in every_text if t.startswith("Déjà traité")]
    # Each decision recorded once; each request notified once, each copy sent once.
    with engine.connect() as connection:
        decided = connection.execute(
            select(AuditEntry.membership_id, AuditEntry.action, AuditEntry.front)
        ).all()
        assert sorted(decided) == sorted(
            [(pierre, "approve", "telegram"), (helene, "approve", "slack")]
        ), decided
        statuses = dict(connection.execute(
            select(CommunityUser.id, CommunityUser.status)
            .where(CommunityUser.id.in_([pierre, helene]))
        ).all())  # fmt: skip
        assert statuses == {pierre: MembershipStatus.MEMBER, helene: MembershipStatus.MEMBER}
        assert connection.scalar(
            select(func.count()).select_from(Notification).where(
                Notification.community_id == world.communities["arc"])
        ) == 9  # fmt: skip
        assert Counter(connection.scalars(select(Delivery.state))) == {"sent": 21, "edited": 6}
        # One key per distinct update, whichever replica took it.
        seen = Counter(connection.scalars(select(SeenUpdate.platform)))
        assert seen == {"telegram": len(proxy.telegram_ids), "slack": 8 + 1 + 1}
    engine.dispose()
    for replica in replicas:
        log = replica.output()
        assert not [secret for secret in SECRETS if secret in log]
    assert "already handled, ignored" in replicas[0].output() + replicas[1].output()
