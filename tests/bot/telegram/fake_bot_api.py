"""A small Bot API server on 127.0.0.1, so the real python-telegram-bot stack runs in tests.

It long-polls getUpdates from a queue the test fills, answers the methods the front uses like
Telegram does, records every call (method, parameters, uploaded files), serves getFile
downloads, and can be told to fail the next call of a method (429 with retry_after, 403,
a migrated chat, 5xx), to answer it too late (`delay_next`: after the client gave up, the
message delivered or not) or to drop the connection without an answer (`reset_next`).
Given `TelegramLimits`, it also answers 429 as Telegram does when a bot sends too much.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTestsOnly-abcdefghijk"
BOT_ID = 123456789
BOT_USERNAME = "PassPassReferentBot"
#: Parameters PTB sends JSON-encoded inside form fields.
JSON_PARAMS = {"reply_markup", "commands", "scope", "allowed_updates", "entities"}
#: The server never holds a getUpdates longer than this, so the front stops quickly.
MAX_POLL_SECONDS = 0.3
#: The tags Telegram accepts with parse_mode=HTML (core.telegram.org/bots/api#html-style).
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
ATTRIBUTE = r"""\s+[a-zA-Z-]+(?:=(?:"[^"]*"|'[^']*'|[^\s>]*))?"""
TAG = re.compile(rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:{ATTRIBUTE})*)\s*>")
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def html_error(text: str) -> str | None:
    """Why Telegram would refuse `text` as HTML ("can't parse entities: ..."), or None: an
    unsupported tag, an end tag that closes nothing open or not the last opened, a tag left
    open, a `<` that starts no tag, a `&` that starts no entity."""
    stack: list[tuple[str, int]] = []
    position = 0
    while position < len(text):
        char = text[position]
        offset = len(text[:position].encode())
        if char == "<":
            tag = TAG.match(text, position)
            if tag is None:
                return f"Unexpected end of name token at byte offset {offset}"
            closing, name = tag.group(1), tag.group(2).lower()
            if name not in HTML_TAGS:
                return f'Unsupported start tag "{name}" at byte offset {offset}'
            if closing:
                if not stack or stack[-1][0] != name:
                    return f"Unexpected end tag at byte offset {offset}"
                stack.pop()
            else:
                stack.append((name, offset))
            position = tag.end()
        elif char == "&":
            entity = ENTITY.match(text, position)
            if entity is None:
                return f"Character entity expected at byte offset {offset}"
            position = entity.end()
        else:
            position += 1
    if stack:
        name, offset = stack[-1]
        return f'Can\'t find end tag corresponding to start tag "{name}" at byte offset {offset}'
    return None


#: The methods that send a message, which Telegram's limits count.
MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument"}


@dataclass(frozen=True)
class TelegramLimits:
    """Telegram's limits on what a bot sends (core.telegram.org/bots/faq, "broadcasting"):
    30 messages a second overall, 20 a minute per group, about one a second per chat, where
    "short bursts" are tolerated: a chat may get `chat_burst` messages at once, then one a
    second (a token bucket; 1 is a strict second between messages)."""

    per_second: int = 30
    per_group_minute: int = 20
    chat_burst: int = 3


@dataclass(frozen=True)
class Fault:
    """A network fault on one call: `delay` seconds before answering (past the client's
    timeout), or no answer at all (`reset`); `deliver`: the call is carried out all the same."""

    delay: float = 0.0
    reset: bool = False
    deliver: bool = True


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    #: What the server answered (the message sent, for send/edit methods); None on an error.
    result: Any = None

    @property
    def message_id(self) -> int:
        return int(self.result["message_id"])

    @property
    def chat_id(self) -> str:
        return str(self.params.get("chat_id", ""))

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def keyboard(self) -> list[list[dict]]:
        """Inline keyboard rows ([] when none)."""
        markup = self.params.get("reply_markup") or {}
        return markup.get("inline_keyboard", [])

    def button(self, label_part: str) -> dict:
        found = [b for row in self.keyboard for b in row if label_part in b["text"]]
        assert len(found) == 1, (label_part, self.keyboard)
        return found[0]


class FakeBotApi:
    def __init__(self, token: str = TOKEN, limits: TelegramLimits | None = None) -> None:
        self.token = token
        self.limits = limits
        #: The messages refused with 429 because a limit was exceeded, and which limit.
        self.too_many: list[tuple[Call, str]] = []
        self._overall: deque[float] = deque()
        self._groups: dict[str, deque[float]] = defaultdict(deque)
        self._chats: dict[str, tuple[float, float]] = {}  # chat -> (tokens, when)
        self.calls: list[Call] = []
        self.updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self.files: dict[str, tuple[str, bytes]] = {}
        self.failures: dict[str, list[tuple[int, dict]]] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.chat_types: dict[str, str] = {}
        #: Calls per method still to refuse for their entities (`refuse_entities_next`).
        self.entity_refusals: dict[str, int] = {}
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- server ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params, files = await self._read(request)
        call = Call(method, params, files)
        if method != "getUpdates":
            self.calls.append(call)
        exceeded = self._exceeded(call) if self.limits and method in MESSAGE_METHODS else None
        if exceeded is not None:
            self.too_many.append((call, exceeded))
            payload = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return web.json_response(payload, status=429)
        faults = self.faults.get(method)
        if faults:
            return await self._faulty(request, call, faults.pop(0))
        queued = self.failures.get(method)
        if queued:
            status, payload = queued.pop(0)
            return web.json_response(payload, status=status)
        refused = self._refused_entities(method, params)
        if refused is not None:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": refused}, status=400
            )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        call.result = result
        return web.json_response({"ok": True, "result": result})

    def _exceeded(self, call: Call) -> str | None:
        """Which limit this message exceeds (None: it goes, and is counted)."""
        assert self.limits is not None
        now, chat = call.at, call.chat_id
        while self._overall and now - self._overall[0] >= 1.0:
            self._overall.popleft()
        group = self._groups[chat] if chat.startswith("-") else None
        while group and now - group[0] >= 60.0:
            group.popleft()
        tokens, when = self._chats.get(chat, (float(self.limits.chat_burst), now))
        tokens = min(float(self.limits.chat_burst), tokens + (now - when))
        if len(self._overall) >= self.limits.per_second:
            return "overall"
        if group is not None and len(group) >= self.limits.per_group_minute:
            return "group"
        if tokens < 1.0 - 1e-9:
            return "per chat"
        self._overall.append(now)
        if group is not None:
            group.append(now)
        self._chats[chat] = (tokens - 1.0, now)
        return None

    async def _faulty(self, request: web.Request, call: Call, fault: Fault) -> web.Response:
        if fault.deliver:
            handler = getattr(self, f"_m_{call.method}", None)
            call.result = handler(call.params, call.files) if handler else True
        if fault.reset:
            assert request.transport is not None
            request.transport.abort()  # no status line, no body: the connection just drops
            return web.Response()
        await asyncio.sleep(fault.delay)
        if fault.deliver:
            return web.json_response({"ok": True, "result": call.result})
        return web.json_response(
            {"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504
        )

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = value
        params.update(request.query)
        for key in JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params, files

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for stored_path, content in self.files.values():
            if stored_path == path:
                self.calls.append(Call("download", {"path": path}))
                return web.Response(body=content)
        return web.Response(status=404)

    # --- methods ---------------------------------------------------------------------------

    def _m_getMe(self, params, files) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Pass Pass référents",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params, files) -> list[dict]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        while True:
            ready = [u for u in self.updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return ready[: int(params.get("limit") or 100)]
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    def _message(self, params, **extra) -> dict:
        chat_id = str(params["chat_id"])
        kind = self.chat_types.get(chat_id, "private" if not chat_id.startswith("-") else "group")
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": kind},
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Pass Pass référents",
                "username": BOT_USERNAME,
            },
            **extra,
        }
        if params.get("reply_markup") and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        return message

    def _m_sendMessage(self, params, files) -> dict:
        return self._message(params, text=params.get("text", ""))

    def _m_editMessageText(self, params, files) -> dict:
        return {
            **self._message(params, text=params.get("text", "")),
            "message_id": int(params["message_id"]),
        }

    def _m_editMessageReplyMarkup(self, params, files) -> dict:
        return {**self._message(params, text=""), "message_id": int(params["message_id"])}

    def _m_sendPhoto(self, params, files) -> dict:
        photo = [{"file_id": "photo1", "file_unique_id": "p1", "width": 800, "height": 600}]
        return self._message(params, photo=photo, caption=params.get("caption"))

    def _m_sendDocument(self, params, files) -> dict:
        name = next(iter(files.values()))[0] if files else "file"
        document = {"file_id": "doc1", "file_unique_id": "d1", "file_name": name}
        return self._message(params, document=document, caption=params.get("caption"))

    def _m_getFile(self, params, files) -> dict:
        file_id = params["file_id"]
        path, content = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id[-8:],
            "file_size": len(content),
            "file_path": path,
        }

    # --- what tests use --------------------------------------------------------------------

    def fail_next(self, method: str, status: int, **parameters: Any) -> None:
        """Answer the next call of `method` with an error (parameters: retry_after, ...)."""
        descriptions = {
            429: "Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: group chat was upgraded to a supergroup chat",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": status,
            "description": descriptions.get(status, "Error").format(**parameters),
        }
        if parameters:
            payload["parameters"] = parameters
        self.failures.setdefault(method, []).append((status, payload))

    def refuse_entities_next(self, method: str) -> None:
        """Refuse the next call of `method` sent with a parse mode, as Telegram does when it
        cannot parse the text's entities (whatever the text)."""
        self.entity_refusals[method] = self.entity_refusals.get(method, 0) + 1

    def _refused_entities(self, method: str, params: dict[str, Any]) -> str | None:
        if params.get("parse_mode") is None:
            return None
        if self.entity_refusals.get(method):
            self.entity_refusals[method] -= 1
            return "Bad Request: can't parse entities: refused by the test"
        if str(params["parse_mode"]).upper() != "HTML":
            return None
        for field_name in ("text", "caption"):
            error = html_error(str(params.get(field_name) or ""))
            if error is not None:
                return f"Bad Request: can't parse entities: {error}"
        return None

    def delay_next(self, method: str, seconds: float, deliver: bool = True) -> None:
        """Answer the next call of `method` after `seconds` (longer than the client waits);
        with `deliver` the message is sent all the same, as Telegram does when only its
        answer is late."""
        self.faults.setdefault(method, []).append(Fault(delay=seconds, deliver=deliver))

    def reset_next(self, method: str, deliver: bool = True) -> None:
        """Drop the connection of the next call of `method` without answering (after carrying
        it out, with `deliver`)."""
        self.faults.setdefault(method, []).append(Fault(reset=True, deliver=deliver))

    def delivered(self, chat_id: int | str | None = None) -> list[Call]:
        """Messages that reached the chat (sent, whatever the bot was told)."""
        return [c for c in self.sent(chat_id) if c.result is not None]

    def add_file(self, name: str, content: bytes) -> str:
        number = next(self._file_ids)
        file_id = f"BQACAgQAAxkBAAI{number:06d}"
        self.files[file_id] = (f"documents/file_{number}{name[name.rfind('.') :]}", content)
        return file_id

    def push(self, update: dict) -> dict:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._new_update.set()
        return update

    def _sender(self, user: dict, chat: dict | None) -> tuple[dict, dict]:
        chat = chat or {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        self.chat_types[str(chat["id"])] = chat["type"]
        return {"is_bot": False, **user}, chat

    def send_text(self, user: dict, text: str, chat: dict | None = None, **extra) -> dict:
        sender, chat = self._sender(user, chat)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "text": text,
            **extra,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return self.push({"message": message})

    def send_document(
        self, user: dict, name: str, content: bytes, chat: dict | None = None, size=None
    ) -> dict:
        sender, chat = self._sender(user, chat)
        file_id = self.add_file(name, content)
        document = {
            "file_id": file_id,
            "file_unique_id": file_id[-8:],
            "file_name": name,
            "mime_type": "text/csv",
            "file_size": len(content) if size is None else size,
        }
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "document": document,
        }
        return self.push({"message": message})

    def press(self, user: dict, message: Call | dict, data: str, chat: dict | None = None) -> str:
        """A press on an inline button of a message the bot sent, queued for getUpdates;
        returns the callback query's id."""
        update = self.push(self.callback_update(user, message, data, chat))
        return update["callback_query"]["id"]

    def callback_update(
        self, user: dict, message: Call | dict, data: str, chat: dict | None = None
    ) -> dict:
        """The update of a press on a message the bot sent (a recorded call, whose keyboard
        comes back with the press as Telegram does, or a hand-made message), without its
        update_id: `press` queues it, a webhook test posts it."""
        sender, chat = self._sender(user, chat)
        if isinstance(message, Call):
            shown = {"message_id": message.message_id}
            if "reply_markup" in message.result:
                shown["reply_markup"] = message.result["reply_markup"]
        else:
            shown = dict(message)
        query_id = f"q{next(self._update_ids)}"
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "bot"}
        pressed = {"date": int(time.time()), "chat": chat, "from": bot, "text": "…", **shown}
        return {
            "callback_query": {
                "id": query_id,
                "from": sender,
                "chat_instance": "ci",
                "data": data,
                "message": pressed,
            }
        }

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def sent(self, chat_id: int | str | None = None, method: str = "sendMessage") -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == str(chat_id))
        ]

    async def wait_for(self, predicate, timeout: float = 10.0, count: int = 1) -> list[Call]:
        """The calls matching `predicate`, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls if predicate(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no matching call within {timeout}s; calls: "
                    + "\n".join(f"{c.method} {c.params}" for c in self.calls)
                )
            await asyncio.sleep(0.01)
