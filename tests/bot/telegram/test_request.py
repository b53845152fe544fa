"""The aiohttp networking backend of python-telegram-bot (bot/telegram/request.py), against small
HTTP servers on 127.0.0.1: what reaches the server, and whether a failed call may have reached
Telegram (a new message is never sent twice, a call that never left is sent again)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.telegram.front import _seconds
from bot.telegram.request import AiohttpRequest, maybe_delivered
from tests.bot.telegram.fake_bot_api import TOKEN

pytestmark = pytest.mark.asyncio


class Server:
    """Answers each Bot API call as `behaviour` says; records what it received."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict]] = []
        self.behaviour = "ok"
        self.release = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fields: dict = {}
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                fields[part.name] = (part.filename, await part.read())
        else:
            fields = dict(await request.post())
        self.received.append((request.method, request.match_info["method"], fields))
        if self.behaviour == "hang":
            await self.release.wait()
        if self.behaviour == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if self.behaviour == "flood":
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests",
                    "parameters": {"retry_after": 7}}  # fmt: skip
            return web.json_response(body, status=429)
        if self.behaviour == "bad":
            body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return web.json_response(body, status=400)
        if request.match_info["method"] == "sendMessage":
            message = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}
            return web.json_response({"ok": True, "result": message})
        return web.json_response({"ok": True, "result": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/bot"

    async def stop(self) -> None:
        self.release.set()
        assert self.runner is not None
        await self.runner.cleanup()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    running = Server()
    await running.start()
    yield running
    await running.stop()


async def bot_on(url: str, request: AiohttpRequest) -> Bot:
    bot = Bot(TOKEN, base_url=url, request=request, get_updates_request=AiohttpRequest())
    await request.initialize()
    return bot


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_call_reaches_the_server_with_its_parameters_encoded_as_ptb_does(server):
    request = AiohttpRequest()
    bot = await bot_on(server.url, request)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("✅ Accepter", callback_data="approve|7")]]
    )
    await bot.send_message(5, "Émilie <b>F.</b>", reply_markup=markup)
    method, name, fields = server.received[-1]
    assert (method, name) == ("POST", "sendMessage")
    assert fields["chat_id"] == "5" and fields["text"] == "Émilie <b>F.</b>"
    assert json.loads(fields["reply_markup"]) == {
        "inline_keyboard": [[{"text": "✅ Accepter", "callback_data": "approve|7"}]]
    }
    await request.shutdown()


async def test_a_file_goes_as_multipart_with_its_name(server):
    request = AiohttpRequest()
    bot = await bot_on(server.url, request)
    await bot.send_document(5, InputFile(b"a;b\n1;2\n", filename="membres.csv"), caption="CSV")
    method, name, fields = server.received[-1]
    assert name == "sendDocument"
    assert fields["document"] == ("membres.csv", b"a;b\n1;2\n")
    assert fields["caption"] == (None, b"CSV")
    await request.shutdown()


async def test_telegrams_refusals_are_ptbs_errors(server):
    request = AiohttpRequest()
    bot = await bot_on(server.url, request)
    server.behaviour = "flood"
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(5, "x")
    assert _seconds(flood.value) == 7
    server.behaviour = "bad"
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(5, "x")
    await request.shutdown()


async def test_a_call_that_could_not_connect_never_reached_telegram():
    request = AiohttpRequest(connect_timeout=2)
    bot = await bot_on(f"http://127.0.0.1:{closed_port()}/bot", request)
    with pytest.raises(NetworkError) as failed:
        await bot.send_message(5, "x")
    assert not maybe_delivered(failed.value)
    await request.shutdown()


async def test_a_connection_dropped_before_the_answer_may_have_delivered(server):
    request = AiohttpRequest()
    bot = await bot_on(server.url, request)
    server.behaviour = "drop"
    with pytest.raises(NetworkError) as failed:
        await bot.send_message(5, "x")
    assert len(server.received) == 1  # it did arrive
    assert maybe_delivered(failed.value)
    await request.shutdown()


async def test_an_answer_too_late_is_a_timeout_that_may_have_delivered(server):
    request = AiohttpRequest(read_timeout=0.3)
    bot = await bot_on(server.url, request)
    server.behaviour = "hang"
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimedOut) as failed:
        await bot.send_message(5, "x")
    assert asyncio.get_running_loop().time() - started < 3
    assert maybe_delivered(failed.value)
    await request.shutdown()


async def test_waiting_too_long_for_a_pooled_connection_never_reached_telegram(server):
    request = AiohttpRequest(
        connection_pool_size=1, pool_timeout=0.2, connect_timeout=0.2, read_timeout=10
    )
    bot = await bot_on(server.url, request)
    server.behaviour = "hang"
    first = asyncio.ensure_future(bot.send_message(5, "first"))
    while not server.received:
        await asyncio.sleep(0.01)
    with pytest.raises(TimedOut) as failed:
        await bot.send_message(5, "second")
    assert not maybe_delivered(failed.value)
    assert [fields["text"] for _, _, fields in server.received] == ["first"]
    server.release.set()
    assert await first
    await request.shutdown()


async def test_a_request_not_initialized_says_so():
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/botX/getMe", "POST")


async def test_an_outbound_proxy_from_the_environment_is_used(monkeypatch):
    """HTTP(S)_PROXY is honoured, as with python-telegram-bot's default client (httpx)."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length")), b"0"))  # fmt: skip
        await reader.readexactly(length)
        seen.append(head.split(b"\r\n", 1)[0])
        body = b'{"ok": true, "result": true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    request = AiohttpRequest()
    bot = await bot_on("http://api.telegram.invalid/bot", request)
    assert await bot.delete_webhook()
    assert seen == [f"POST http://api.telegram.invalid/bot{TOKEN}/deleteWebhook HTTP/1.1".encode()]
    await request.shutdown()
    server.close()
