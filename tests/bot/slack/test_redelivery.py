"""Slack retries an Events API delivery it thinks was lost (X-Slack-Retry-Num), possibly to the
other replica; a proxy may replay a command or a press. Each is handled once, and every copy is
acknowledged (200) so that Slack stops retrying."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.runtime import App
from bot.slack.front import SlackFront
from bot.wiring import Runtime
from storage.bot_models import AuditEntry
from storage.codes import MembershipStatus
from tests.bot.slack.conftest import (
    CHANNEL,
    SLACK_IDS,
    command_payload,
    link,
    sign,
    slack_config,
    start_bot,
)
from tests.bot.slack.fake_slack_api import TEAM
from tests.bot.slack.test_scenarios import find
from tests.handlers.helpers import membership

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
FORM = "application/x-www-form-urlencoded"


async def post(port: int, body: str, content_type: str, **headers: str) -> int:
    """What Slack posts (signed now), to one replica; returns the HTTP status."""
    sent = {"Content-Type": content_type, **sign(body), **headers}
    url = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=sent) as r:
        return r.status


def direct_message(event_id: str, text: str) -> str:
    return json.dumps({
        "type": "event_callback", "token": "legacy", "team_id": TEAM,
        "api_app_id": "A0PASSPASS", "event_id": event_id, "event_time": int(time.time()),
        "event": {"type": "message", "channel": "D0JEANMARC", "channel_type": "im",
                  "user": SLACK_IDS["jeanmarc"], "team": TEAM, "text": text,
                  "ts": f"{time.time():.6f}"},
    })  # fmt: skip


def press_body(element: dict, message_ts: str, trigger: str) -> str:
    payload = {
        "type": "block_actions", "api_app_id": "A0PASSPASS", "token": "legacy",
        "user": {"id": SLACK_IDS["jeanmarc"], "team_id": TEAM}, "team": {"id": TEAM},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL,
                      "is_ephemeral": False},
        "channel": {"id": CHANNEL}, "trigger_id": trigger,
        "actions": [{"action_id": element["action_id"], "block_id": "b", "type": "button",
                     "value": element["value"], "action_ts": str(time.time())}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


async def test_retried_events_and_replayed_requests_are_handled_once(fake, engine, settings):
    bot = await start_bot(fake, engine, settings, min_interval=0.0)
    other = App(Runtime(slack_config(fake), engine, bot.ctx))  # a second replica
    other_front = SlackFront(other, min_interval=0.0)
    await other_front.start()
    ports = [bot.front.port, other_front.port]
    link(bot.ctx, "jeanmarc", "jean-marc.morel@arcfrance.fr")
    try:
        event = direct_message("Ev0REDELIVERED", "attente")
        assert await post(ports[0], event, "application/json") == 200
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert await post(ports[1], event, "application/json", **retry) == 200
        (listing,) = await fake.wait_for("chat.postMessage")
        assert listing.args["channel"] == "D0JEANMARC"

        command = urllib.parse.urlencode(command_payload("jeanmarc", "aide", CHANNEL, fake.url))
        for port in ports:  # the same request twice (a proxy replaying it)
            assert await post(port, command, FORM) == 200
        await fake.wait_for("chat.postMessage", 2)

        await bot.user.command("jeanmarc", "attente")  # a new command, same words: handled
        (_, _, pending) = await fake.wait_for("chat.postMessage", 3)
        approve = find(pending, "approve_listed", "Pierre")
        press = press_body(approve, pending.result["ts"], "trigger-press-1")
        for port in (*ports, ports[0]):
            assert await post(port, press, FORM) == 200
        await fake.wait_for("chat.update")
        await asyncio.sleep(0.3)  # room for a wrongly handled copy to show up
    finally:
        for front, app in ((bot.front, bot.app), (other_front, other)):
            await front.stop()
            app.close()
    assert len(fake.of("chat.postMessage")) == 3
    texts = fake.texts("chat.postMessage")
    assert texts[0].startswith("*Demandes en attente : Arc France*")
    assert texts[2] == texts[0]
    assert fake.of("chat.postEphemeral") == []  # no "already decided" for a copy of the press
    [update] = fake.texts("chat.update")
    assert update.startswith("*Demandes en attente : Arc France* (2)")
    assert update.endswith("✅ Pierre L. : acceptée par Jean-Marc M. le 17/01/2024 à 10:02")
    pierre = membership(bot.ctx, bot.world.membership("arc", "pierre"))
    assert pierre.status == MembershipStatus.MEMBER
    with bot.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
