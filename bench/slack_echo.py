"""The Slack bench's baseline: a bare slack-bolt AsyncApp that acknowledges everything at once.

    python -m bench.slack_echo --api-url http://127.0.0.1:PORT/api/ --port 3001

Served like the bot's front (aiohttp, POST /slack/events, slack-bolt's adapter, the same
signing-secret check and the same client against the fake Slack Web API), with no work at all.
"""

from __future__ import annotations

import argparse
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.process import SIGNING_SECRET
from tests.bot.slack.fake_slack_api import BOT_TOKEN


def build(api_url: str) -> web.Application:
    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url), signing_secret=SIGNING_SECRET
    )

    async def ack_only(ack) -> None:
        await ack()

    bolt.command("/passpass")(ack_only)
    bolt.action(re.compile(".*"))(ack_only)
    bolt.view(re.compile(".*"))(ack_only)

    async def handle(request: web.Request) -> web.Response:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(build(args.api_url), host="127.0.0.1", port=args.port, access_log=None,
                print=None)  # fmt: skip


if __name__ == "__main__":
    main()
