"""The bot's HTTP listeners (Telegram webhook, Slack endpoint, health and metrics), hardened
against hostile clients on the open Internet.

Each request is refused as early as possible, so that junk costs the bot nothing:
1. the credential in the headers is checked first (Telegram's secret header; Slack's timestamp
   and the presence of its signature, whose check needs the body), before any body is read;
2. a body larger than MAX_BODY is refused with 413 without being read (declared length), or as
   soon as it passes the limit (chunked), and the connection is closed;
3. a body that does not arrive within BODY_TIMEOUT is cut (408, connection closed);
4. a connection whose request headers do not arrive within HEADER_TIMEOUT is closed (aiohttp's
   keep-alive timer runs from the connection's start and closes it while no request is whole).

So a few hundred half-sent requests hold nothing for more than a few seconds. Telegram's
largest update (a message with its entities and a reply) is a few tens of kilobytes and
Slack's requests are smaller still: 1 MiB leaves a wide margin.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

#: The largest body accepted (bytes).
MAX_BODY = 1024 * 1024
#: Seconds for a whole body to arrive once its headers have.
BODY_TIMEOUT = 5.0
#: Seconds for a connection to send whole request headers (and idle keep-alive time).
HEADER_TIMEOUT = 5.0

#: Returns a refusal when the request's headers do not authorise it, else None.
HeaderCheck = Callable[[web.Request], web.Response | None]


def closing(status: int, text: str) -> web.Response:
    """A refusal after which the connection is closed: the rest of the body is never read."""
    response = web.Response(status=status, text=text + "\n")
    response.force_close()
    return response


def guard(check: HeaderCheck | None, max_body: int, body_timeout: float):
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if check is not None and request.method == "POST":
            refused = check(request)
            if refused is not None:
                refused.force_close()
                return refused
        if request.content_length is not None and request.content_length > max_body:
            return closing(413, "request body too large")
        if request.body_exists:
            try:  # read here, within the time limit; request.read() then returns it cached
                await asyncio.wait_for(request.read(), body_timeout)
            except TimeoutError:
                return closing(408, "request body too slow")
            except web.HTTPRequestEntityTooLarge:
                return closing(413, "request body too large")
        return await handler(request)

    return middleware


def application(
    check: HeaderCheck | None = None,
    max_body: int = MAX_BODY,
    body_timeout: float = BODY_TIMEOUT,
) -> web.Application:
    """An aiohttp application whose every request goes through the guard."""
    return web.Application(
        client_max_size=max_body, middlewares=[guard(check, max_body, body_timeout)]
    )


def runner(web_app: web.Application, header_timeout: float = HEADER_TIMEOUT) -> web.AppRunner:
    """No lingering: after a refusal, aiohttp would otherwise read and discard the rest of
    the body for 10 s; the connection is closed instead."""
    return web.AppRunner(
        web_app, access_log=None, keepalive_timeout=header_timeout, lingering_time=0
    )


def telegram_secret(secret: str) -> HeaderCheck:
    """Telegram's X-Telegram-Bot-Api-Secret-Token, compared in constant time (403)."""
    expected = secret.encode()

    def check(request: web.Request) -> web.Response | None:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=403, text="forbidden\n")
        return None

    return check


#: Slack's replay window for a request's timestamp (the signature check applies it too).
SLACK_WINDOW = 300


def slack_headers(request: web.Request) -> web.Response | None:
    """What can be told of a Slack request before its body: a signature is there, and the
    timestamp it covers is recent (401, as slack-bolt answers a bad signature)."""
    signature = request.headers.get("X-Slack-Signature", "")
    stamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not signature.startswith("v0=") or not stamp.isascii() or not stamp.isdigit():
        return web.Response(status=401, text="invalid request\n")
    if abs(time.time() - int(stamp)) > SLACK_WINDOW:
        return web.Response(status=401, text="invalid request\n")
    return None
