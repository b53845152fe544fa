"""A small Slack Web API on 127.0.0.1: records every call, so tests assert what people see.

It serves the methods the bot uses, the upload URL of files_upload_v2, url_private downloads,
response_url posts, and a Socket Mode websocket (apps.connections.open) on which a test pushes
envelopes and reads the bot's acknowledgements. `rate_limit(method, seconds)` makes the next
call of a method answer 429 with Retry-After; `server_error`, `delay` and `reset` inject the
other faults of a network API (5xx, an answer later than the client waits, a dropped
connection), the call carried out or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-0123456789-SECRETBOTTOKEN"
TEAM = "T0PASSPASS"
BOT_USER = "UBOTPASSPASS"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    token: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """One faulty answer: a 5xx `status`, or `delay` seconds before answering, or no answer
    at all (`reset`); `deliver`: the call is carried out all the same (for delay and reset)."""

    status: int = 0
    delay: float = 0.0
    reset: bool = False
    deliver: bool = True


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    downloads: dict[str, bytes] = field(default_factory=dict)
    locales: dict[str, str] = field(default_factory=dict)
    _limits: dict[str, int] = field(default_factory=dict)
    _errors: dict[str, str] = field(default_factory=dict)
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _ts = itertools.count(1)
    runner: web.AppRunner | None = None
    port: int = 0
    socket: web.WebSocketResponse | None = None
    socket_acks: asyncio.Queue | None = None
    _socket_ready: asyncio.Event | None = None
    _changed: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def start(self) -> None:
        self.socket_acks = asyncio.Queue()
        self._socket_ready = asyncio.Event()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/api/{method}", self.api)
        app.router.add_get("/api/{method}", self.api)
        app.router.add_post("/upload/{file_id}", self.upload)
        app.router.add_get("/files/{name}", self.download)
        app.router.add_post("/response/{key}", self.response_url)
        app.router.add_get("/socket", self.websocket)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self.runner is not None:
            await self.runner.cleanup()

    # --- what tests use ------------------------------------------------------------------------

    def rate_limit(self, method: str, retry_after: int = 1) -> None:
        self._limits[method] = retry_after

    def fail(self, method: str, error: str) -> None:
        """The next call of `method` answers ok=false with this error (e.g. channel_not_found)."""
        self._errors[method] = error

    def server_error(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next `times` calls of `method` answer `status` (ok=false, nothing done)."""
        self._faults.setdefault(method, []).extend([Fault(status=status)] * times)

    def delay(self, method: str, seconds: float, deliver: bool = True) -> None:
        """The next call of `method` is answered after `seconds`; done anyway with `deliver`."""
        self._faults.setdefault(method, []).append(Fault(delay=seconds, deliver=deliver))

    def reset(self, method: str, deliver: bool = True) -> None:
        """The next call of `method` loses its connection before the answer."""
        self._faults.setdefault(method, []).append(Fault(reset=True, deliver=deliver))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def homes(self, user: str) -> list[dict[str, Any]]:
        """The Home views published for this Slack user, oldest first."""
        return [c.args["view"] for c in self.of("views.publish") if c.args.get("user_id") == user]

    def texts(self, method: str) -> list[str]:
        """What a person reads in each call of `method`: the mrkdwn of its blocks."""
        return [block_text(c.args) for c in self.of(method)]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """The calls of `method` once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} {method} call(s); got {[c.method for c in self.calls]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.of(method)

    async def push(self, envelope: dict[str, Any], timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), timeout)
        await self.socket.send_str(json.dumps(envelope))

    # --- routes -------------------------------------------------------------------------------

    def _record(self, method: str, args: dict[str, Any], token: str | None = None) -> None:
        self.calls.append(Call(method, args, time.monotonic(), token))
        self._changed.set()

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "files", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method in self._limits:
            retry_after = self._limits.pop(method)
            self._record(method + "#429", args, token)
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        if method in self._errors:
            self._record(method + "#error", args, token)
            return web.json_response({"ok": False, "error": self._errors.pop(method)})
        if self._faults.get(method):
            return await self._faulty(request, method, args, token, self._faults[method].pop(0))
        result = self.answer(method, args)
        self._record(method, args, token)
        self.calls[-1].result = result
        return web.json_response(result)

    async def _faulty(self, request, method: str, args: dict, token, fault: Fault) -> web.Response:
        """A call recorded as `method` when carried out, `method#<fault>` when not."""
        if fault.status:
            self._record(f"{method}#{fault.status}", args, token)
            return web.json_response({"ok": False, "error": "internal_error"}, status=fault.status)
        result: dict[str, Any] = {"ok": False, "error": "request_timeout"}
        if fault.deliver:
            result = self.answer(method, args)
            self._record(method, args, token)
            self.calls[-1].result = result
        else:
            self._record(f"{method}#{'reset' if fault.reset else 'timeout'}", args, token)
        if fault.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        await asyncio.sleep(fault.delay)
        return web.json_response(result)

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"1705485720.{next(self._ts):06d}"
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BPASSPASS", "team_id": TEAM,
                    "user": "passpass", "team": "Pass Pass", "url": self.url + "/"}  # fmt: skip
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text"), "ts": ts}}  # fmt: skip
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V1", **(args.get("view") or {})}}
        if method == "views.publish":  # the Home tab of args["user_id"], recorded with its view
            return {"ok": True, "view": {"id": "VHOME", **(args.get("view") or {})}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))[1:]}}
        if method == "users.info":
            user = args.get("user", "")
            return {"ok": True, "user": {"id": user, "name": user.lower(), "real_name": user,
                                         "locale": self.locales.get(user, "fr-FR")}}  # fmt: skip
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")}
                                          for f in args.get("files") or []]}  # fmt: skip
        if method == "files.info":
            return {"ok": True, "file": {"id": args.get("file")}}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": False, "error": "unknown_method"}

    async def upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            data = await part.read()
        else:
            data = await request.read()
        self.uploads[file_id] = bytes(data)
        self._record("upload", {"file_id": file_id, "size": len(data)})
        return web.Response(text=f"OK - {len(data)}")

    async def download(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.Response(status=403)
        self._record("download", {"name": name})
        if name not in self.downloads:
            return web.Response(status=404)
        return web.Response(body=self.downloads[name])

    async def response_url(self, request: web.Request) -> web.Response:
        self._record("response_url", await request.json())
        return web.Response(text="ok")

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self._socket_ready.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await self.socket_acks.put(json.loads(message.data))
        return ws


def block_text(args: dict[str, Any]) -> str:
    """The text of a message's section and context blocks (else its `text`)."""
    texts = []
    for block in args.get("blocks") or []:
        if block.get("type") == "section":
            texts.append(block["text"]["text"])
        elif block.get("type") == "context":
            texts.extend(e.get("text", "") for e in block.get("elements", []))
    return "\n".join(texts) if texts else str(args.get("text", ""))


def elements(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Every interactive element (buttons, selects) of a message, in order."""
    return [
        element
        for block in args.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]
