"""Hostile HTTP clients on 127.0.0.1, with raw sockets, against the three listeners (issue 18,
point 5): the Telegram webhook, the Slack endpoint and /metrics.

- an oversized body is refused with 413 before it is read (the answer comes while the client
  is still sending, far from the whole body);
- a wrong secret (or no Slack signature) with a huge body is refused at once;
- 300 half-sent requests (headers or bodies dribbling a byte at a time) are cut within the
  timeouts, while a normal request is served meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot import http_guard
from bot.config import MetricsConfig
from bot.health import HealthServer
from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from tests.bot.slack.conftest import command_payload, sign, start_bot
from tests.bot.slack.fake_slack_api import FakeSlack
from tests.bot.telegram.conftest import telegram_config
from tests.bot.telegram.fake_bot_api import FakeBotApi

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),
]
SECRET = "webhook-secret-0123456789"
HUGE = 20 * 1024 * 1024
#: A slow client is cut by then: the guard's timeout, plus up to 1 s because aiohttp rounds its
#: timers of 5 s or more up to the next whole second, plus the clients' half-second between
#: bytes, plus the event loop's lag with 300 connections open on a busy 2-core machine (one of
#: 300 took 7.06 s in a full run at 2 s of slack). Far below the 20 s the issue measured.
CUT = max(http_guard.BODY_TIMEOUT, http_guard.HEADER_TIMEOUT) + 4.0


@dataclass
class Endpoint:
    port: int
    method: str
    path: str
    #: Headers a legitimate client sends (the credential that can be checked before the body).
    good: dict[str, str]
    #: Headers with a wrong credential (None: the endpoint has none).
    wrong: dict[str, str] | None
    #: A normal request, as raw bytes, and the status it gets.
    normal: bytes


def raw(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest_asyncio.fixture(params=["telegram", "slack", "metrics"])
async def endpoint(request, engine, ctx):
    kind = request.param
    if kind == "telegram":
        api = FakeBotApi()
        await api.start()
        config = telegram_config(
            api, mode="webhook", webhook_url="https://bot.example.org/telegram",
            webhook_secret=SECRET, listen_host="127.0.0.1", listen_port=0,
        )  # fmt: skip
        app = App(Runtime(config, engine, ctx))
        front = TelegramFront(app)
        await front.start()
        port = front._webhook.addresses[0][1]
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        update = json.dumps({"update_id": 1, "message": {
            "message_id": 1, "date": 0, "text": "/aide",
            "chat": {"id": 5551, "type": "private", "first_name": "X"},
            "from": {"id": 5551, "is_bot": False, "first_name": "X"},
        }}).encode()  # fmt: skip
        yield Endpoint(port, "POST", "/telegram", good,
                       {**good, "X-Telegram-Bot-Api-Secret-Token": "wrong"},
                       raw("POST", "/telegram", good, update))  # fmt: skip
        await front.stop()
        app.close()
        await api.stop()
    elif kind == "slack":
        fake = FakeSlack()
        await fake.start()
        bot = await start_bot(fake, engine, ctx.settings)
        body = urllib.parse.urlencode(command_payload("jeanmarc", "aide", "C0ROOM", fake.url))
        good = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        yield Endpoint(bot.front.port, "POST", "/slack/events", good,
                       {"Content-Type": "application/x-www-form-urlencoded"},
                       raw("POST", "/slack/events", good, body.encode()))  # fmt: skip
        await bot.front.stop()
        bot.app.close()
        await fake.stop()
    else:
        app = App(Runtime(telegram_config(FakeBotApi()), engine, ctx))
        health = HealthServer(app, MetricsConfig(enabled=True, port=0))
        await health.start()
        yield Endpoint(health.port, "GET", "/metrics", {}, None, raw("GET", "/healthz", {}))
        await health.stop()
        app.close()


async def status_of(reader: asyncio.StreamReader, timeout: float = 5.0) -> int:
    line = await asyncio.wait_for(reader.readline(), timeout)
    assert line.startswith(b"HTTP/1.1 "), line
    return int(line.split()[1])


async def normal_request(endpoint: Endpoint) -> tuple[int, float]:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    writer.write(endpoint.normal)
    await writer.drain()
    status = await status_of(reader)
    writer.close()
    return status, time.monotonic() - started


def huge_headers(endpoint: Endpoint, headers: dict[str, str]) -> bytes:
    lines = [f"{endpoint.method} {endpoint.path} HTTP/1.1", "Host: 127.0.0.1",
             *(f"{k}: {v}" for k, v in headers.items()), f"Content-Length: {HUGE}"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_an_oversized_body_is_refused_before_it_is_read(endpoint):
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    writer.write(huge_headers(endpoint, endpoint.good))
    sent = 0

    async def send() -> None:
        nonlocal sent
        chunk = b"x" * 65536
        while sent < HUGE:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0.001)

    sending = asyncio.create_task(send())
    try:
        assert await status_of(reader) == 413
        assert sent < HUGE // 4, sent  # answered while the client was still sending
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
    status, _ = await normal_request(endpoint)
    assert status == 200


async def test_a_wrong_secret_with_a_huge_body_is_refused_at_once(endpoint):
    if endpoint.wrong is None:
        pytest.skip("/metrics has no credential (bind it to 127.0.0.1)")
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    writer.write(huge_headers(endpoint, endpoint.wrong) + b"x" * 1024)
    await writer.drain()
    assert await status_of(reader) in (401, 403)
    assert time.monotonic() - started < 1.0
    assert await asyncio.wait_for(reader.read(), 5) is not None  # and the connection closes
    writer.close()


async def test_half_sent_requests_are_cut_while_a_normal_one_is_served(endpoint):
    """150 clients dribble their headers, 150 their bodies, a byte every half second."""

    async def dribble(prefix: bytes, rest: bytes) -> float:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        writer.write(prefix)

        async def trickle() -> None:
            for byte in rest:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.5)

        trickling = asyncio.create_task(trickle())
        try:
            await asyncio.wait_for(reader.read(), CUT + 5)  # until the server closes
        except ConnectionResetError:  # closed while bytes were still coming: cut all the same
            pass
        finally:
            trickling.cancel()
            await asyncio.gather(trickling, return_exceptions=True)
            writer.close()
        return time.monotonic() - started

    request = raw(endpoint.method, endpoint.path, endpoint.good, b"y" * 200)
    head_end = request.index(b"\r\n\r\n") + 4
    slow_headers = [dribble(request[:20], request[20:]) for _ in range(150)]
    slow_bodies = [dribble(request[:head_end], request[head_end:]) for _ in range(150)]
    everyone = asyncio.gather(*slow_headers, *slow_bodies)
    await asyncio.sleep(1.0)  # all 300 connections are open and trickling
    status, took = await normal_request(endpoint)
    assert status == 200 and took < 2.0, (status, took)
    durations = await everyone
    assert max(durations) < CUT, max(durations)
