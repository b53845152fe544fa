"""The Slack front: slash command, buttons, selects, modals and files, over slack-bolt.

It only translates. A Slack request becomes (chat account = team id + user id, place = channel,
command or press); the use case runs in the thread pool (`App.call`, never on the event loop);
its Reply becomes Web API calls. Every request is acknowledged first (Slack allows 3 seconds),
the work is done after the acknowledgement: each listener calls ack(), hands the work to a task
(`_later`) and returns, and the app runs with `process_before_response=True`, so that bolt
answers as soon as the listener returns. (With the default, bolt runs the listener in a task of
its own and looks for the ack every 10 ms: every acknowledgement took 10 ms or more.)

HTTP mode serves POST /slack/events on [slack] host:port, where slack-bolt checks every request
against the signing secret (bad signature, or a timestamp more than 5 minutes away: 401).
Socket Mode ([slack] socket_mode) serves workspaces without a public URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot import http_guard
from bot.notifier import MaybeSent, RetryLater, Unreachable
from bot.runtime import App
from bot.slack import render
from bot.slack.limits import ChannelLimiter, install_redaction, remove_redaction
from bot.slack.observed import CountedRateLimitRetries, MeteredWebClient, request_kind, scope
from bot.slack.transport import SlackTransport
from handlers.chat import commands, pending_input
from handlers.chat import entry as chat
from handlers.chat import home as homes
from handlers.chat.actions import REGISTRY, parse_callback_data
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount
from handlers.core import markup
from handlers.core.actions import Press
from handlers.core.i18n import normalize_language, t
from handlers.core.reply import InputRequest, Reply
from handlers.core.uow import is_database_outage, outage_reply

if TYPE_CHECKING:  # imported when Socket Mode starts
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)
#: The logger given to slack-bolt and slack_sdk (records are redacted, see limits.py).
LIB_LOG = logging.getLogger("bot.slack.sdk")
PATH = "/slack/events"
ACTION_IDS = re.compile(r"^rbs?:\d+$")
LOCALE_TTL = 3600.0


class SlackFront:
    """One Slack app: the bolt AsyncApp, its HTTP server or Socket Mode connection."""

    name = "slack"

    def __init__(self, app: App, min_interval: float = 1.0) -> None:
        self.app = app
        self.config = app.config.slack
        self.client = MeteredWebClient(
            metrics=getattr(app, "metrics", None),
            token=self.config.bot_token,
            base_url=self.config.api_base_url,
            logger=LIB_LOG,
            retry_handlers=[
                CountedRateLimitRetries(getattr(app, "metrics", None), max_retry_count=3)
            ],
        )
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=self.config.signing_secret or None,
            logger=LIB_LOG,
            request_verification_enabled=not self.config.socket_mode,
            # The HTTP answer goes when the listener returns, right after its ack(): listeners
            # never do the work themselves (see the module's docstring).
            process_before_response=True,
        )
        self.limiter = ChannelLimiter(min_interval)
        #: Sends for the notifier, and publishes the Home tab (paced with the same limiter).
        self.transport = SlackTransport(
            self.client, self.limiter, app.ctx.settings.default_language
        )
        self.runner: web.AppRunner | None = None
        self.socket: AsyncSocketModeHandler | None = None
        self.port: int | None = None
        self._tasks: set[asyncio.Task] = set()
        self._locales: dict[tuple[str, str], tuple[float, str | None, str | None]] = {}
        self.bolt.use(scope)  # request id on every log line, kind for the metrics
        self.bolt.use(self.once)  # after bolt's own checks (signature), before any listener
        self.bolt.command(self.config.command)(self.on_command)
        self.bolt.action(ACTION_IDS)(self.on_action)
        self.bolt.view("rb_input")(self.on_view)
        self.bolt.event("message")(self.on_message)
        self.bolt.event("app_home_opened")(self.on_home_opened)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        install_redaction(
            [self.config.bot_token, self.config.signing_secret, self.config.app_token]
        )
        transports = getattr(self.app, "transports", None)
        if transports is not None:  # the notifier delivers pending-member notifications with it
            transports["slack"] = self.transport
        if self.config.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self.socket = AsyncSocketModeHandler(
                self.bolt, self.config.app_token, logger=LIB_LOG, web_client=self.client
            )
            await self.socket.connect_async()
            log.info("Slack front connected in Socket Mode")
            return
        # The signature's headers checked before the body is read; body size and time capped.
        web_app = http_guard.application(check=http_guard.slack_headers)
        web_app.router.add_post(PATH, self.handle_http)
        self.runner = http_guard.runner(web_app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        self.port = self.runner.addresses[0][1]
        log.info("Slack front listening on http://%s:%s%s", self.config.host, self.port, PATH)

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.close_async()
        if self.runner is not None:
            await self.runner.cleanup()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        remove_redaction()

    async def drain(self) -> None:
        """Shutdown: no new request (HTTP answers 503, Slack retries elsewhere; Socket Mode
        disconnects), then the work of the requests already acknowledged finishes."""
        if self.socket is not None:
            await self.socket.close_async()
            self.socket = None
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def handle_http(self, request: web.Request) -> web.Response:
        """slack-bolt's dispatch: signature check, then the listener (which acks first)."""
        if getattr(self.app, "draining", False):
            return web.Response(status=503, text="shutting down")
        bolt_request = await to_bolt_request(request)
        response = await self.bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def once(self, body: dict, next) -> BoltResponse | None:
        """A copy of a request already taken, by this replica or another, is acknowledged and
        dropped: Slack retries an event (X-Slack-Retry-Num) it thinks was lost."""
        key = delivery_key(body)
        if key and not await self.app.first_seen("slack", key):
            log.info("Slack delivery %s already handled, ignored", key.split(":", 1)[0])
            return BoltResponse(status=200, body="")
        return await next()

    # --- translation helpers -----------------------------------------------------------------

    def _later(self, coroutine) -> None:
        """Work done after the acknowledgement; kept referenced so that stop() can wait."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        track = getattr(self.app, "track", None)
        if track is not None:  # counted, timed, and waited for at shutdown
            finished = track("slack", request_kind.get())
            task.add_done_callback(lambda _: finished())

    async def _hint(self, team_id: str, user_id: str) -> tuple[str | None, str | None]:
        """(language hint, display name) from users.info, cached; only used before linking."""
        key = (team_id, user_id)
        cached = self._locales.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        locale = name = None
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
            user = response.get("user") or {}
            locale = user.get("locale")
            name = user.get("real_name") or user.get("name")
        except SlackApiError as error:
            log.info("users.info failed: %s", error.response.get("error"))
        self._locales[key] = (time.monotonic() + LOCALE_TTL, locale, name)
        return locale, name

    async def _post(self, channel: str, reply: Reply, language: str, **extra: Any) -> str | None:
        """A new message in the channel (then its images and files); returns its ts."""
        await self.limiter.wait(channel)
        response = await self.client.chat_postMessage(
            channel=channel,
            text=render.fallback_text(reply),
            blocks=render.blocks(reply, language),
            unfurl_links=False,
            **extra,
        )
        await self._uploads(channel, reply, extra.get("thread_ts"))
        return response.get("ts")

    async def _ephemeral(self, channel: str, user: str, reply: Reply, language: str) -> None:
        await self.client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=render.fallback_text(reply),
            blocks=render.blocks(reply, language),
        )

    async def _update(self, channel: str, ts: str, reply: Reply, language: str) -> None:
        await self.client.chat_update(
            channel=channel,
            ts=ts,
            text=render.fallback_text(reply),
            blocks=render.blocks(reply, language),
        )
        await self._uploads(channel, reply, None)

    async def _uploads(self, channel: str, reply: Reply, thread_ts: str | None) -> None:
        """Charts and CSV files with files_upload_v2 (getUploadURLExternal, upload, complete).

        A file that fails is logged and skipped, not retried (the upload's last step shares
        it: a retry could show it twice); the message above it, whose caption states the key
        numbers in words, is already there, and the others follow."""
        for image in reply.images:
            await self.limiter.wait(channel)
            await self._upload(
                channel=channel,
                file_uploads=[
                    {
                        "content": image.png,
                        "filename": image.filename,
                        "title": markup.plain(image.caption)[:250] or image.filename,
                        "alt_txt": image.alt[:1000],
                    }
                ],
                # The caption, unless the message just posted already says it.
                initial_comment=(
                    None if image.caption in reply.text else render.mrkdwn(image.caption)
                ),
                thread_ts=thread_ts,
            )
        for name, content in reply.files:
            await self.limiter.wait(channel)
            await self._upload(
                channel=channel,
                file_uploads=[{"content": content, "filename": name, "title": name}],
                thread_ts=thread_ts,
            )

    async def _upload(self, **arguments: Any) -> None:
        try:
            await self.client.files_upload_v2(**arguments)
        except SlackApiError as error:
            log.warning("a file upload to Slack failed: %s", error.response.get("error"))
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("a file upload to Slack failed on the network: %s", type(error).__name__)

    async def _deliver(
        self,
        reply: Reply,
        language: str,
        channel: str,
        user: str,
        *,
        origin_ts: str | None = None,
        response_url: str | None = None,
        private: bool = False,
        pressed: bool = False,
    ) -> None:
        """Refusals and private replies: ephemeral. An outcome replacing the pressed message:
        chat.update. Anything else: a new message in the channel."""
        try:
            if reply.replaces_message and origin_ts:
                await self._update(channel, origin_ts, reply, language)
            elif reply.replaces_message and pressed and response_url:
                await self._respond(response_url, reply, language, replace=True)
            elif not reply.ok or private:
                await self._ephemeral_or_respond(channel, user, reply, language, response_url)
            else:
                try:
                    await self._post(channel, reply, language)
                except SlackApiError as error:
                    if error.response.get("error") not in ("channel_not_found", "not_in_channel"):
                        raise
                    # A conversation the bot is not part of: answer the person only.
                    await self._ephemeral_or_respond(channel, user, reply, language, response_url)
        except SlackApiError as error:
            log.warning("Slack refused a reply: %s", error.response.get("error"))
            if error.response.status_code >= 500:
                await self._second_way(response_url, reply, language, maybe_done=False)
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("a reply to Slack failed on the network: %s", type(error).__name__)
            maybe_done = not isinstance(error, aiohttp.ClientConnectorError)
            await self._second_way(response_url, reply, language, maybe_done)

    async def _second_way(
        self, response_url: str | None, reply: Reply, language: str, maybe_done: bool
    ) -> None:
        """The Web API failed: answer through the response_url instead, when that cannot
        show the reply twice (an outcome replaces the message; anything else only if the
        failed call certainly did nothing: Slack has no idempotency key)."""
        if not response_url or (maybe_done and not reply.replaces_message):
            return
        try:
            await self._respond(response_url, reply, language, replace=reply.replaces_message)
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("the response_url failed too: %s", type(error).__name__)

    async def _ephemeral_or_respond(
        self, channel: str, user: str, reply: Reply, language: str, response_url: str | None
    ) -> None:
        try:
            await self._ephemeral(channel, user, reply, language)
        except SlackApiError:
            if not response_url:
                raise
            await self._respond(response_url, reply, language, replace=False)

    async def _respond(self, url: str, reply: Reply, language: str, replace: bool) -> None:
        """The response_url: for ephemeral messages and conversations the bot is not in."""
        payload = {
            "response_type": "ephemeral",
            "replace_original": replace,
            "text": render.fallback_text(reply),
            "blocks": render.blocks(reply, language),
        }
        async with aiohttp.ClientSession() as session, session.post(url, json=payload) as r:
            if r.status >= 400:
                log.warning("response_url answered %s", r.status)

    async def _failed(
        self,
        channel: str,
        user: str,
        language: str,
        response_url: str | None,
        error: BaseException | None = None,
    ):
        reply = Reply(t(language, "slack.error.failed"), ok=False)
        if error is not None and is_database_outage(error):  # before a use case could say so
            reply = outage_reply(language)
        try:
            await self._ephemeral_or_respond(channel, user, reply, language, response_url)
        except Exception:  # the person cannot even be told: logged below by the caller
            log.warning("could not tell a Slack user that their request failed")

    # --- slash command -----------------------------------------------------------------------

    async def on_command(self, ack, body: dict) -> None:
        await ack()
        self._later(self._run_command(body))

    async def _run_command(self, body: dict) -> None:
        team = body.get("team_id") or ""
        user = body.get("user_id") or ""
        channel = body.get("channel_id") or ""
        response_url = body.get("response_url")
        name, args = commands.parse(body.get("text") or "")
        name = name or "aide"
        hint, display = await self._hint(team, user)
        language = normalize_language(hint)
        account = ChatAccount("slack", user, team_id=team, display_name=display)
        place = ChatPlace("slack", channel, team, is_group=not _is_direct(body))
        try:
            answer = await self.app.call(
                pending_input.on_command, self.app.ctx, account, place, name, args, hint
            )
            reply = answer.reply
            language = await self.app.call(_language, self.app.ctx, account, hint)
            await self._deliver(reply, language, channel, user, response_url=response_url,
                                private=commands.is_private(name))  # fmt: skip
        except Exception as error:
            log.exception("Slack command %r failed", name)
            await self._failed(channel, user, language, response_url, error)

    # --- buttons and selects -----------------------------------------------------------------

    async def on_action(self, ack, body: dict) -> None:
        await ack()
        self._later(self._action(body))

    async def _action(self, body: dict) -> None:
        """A press, right after its acknowledgement: a modal first if it asks for text (its
        trigger_id lives 3 seconds), else the use case."""
        action = (body.get("actions") or [{}])[0]
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        press = parse_callback_data(value)
        user = body.get("user") or {}
        team = user.get("team_id") or (body.get("team") or {}).get("id") or ""
        channel = (body.get("channel") or {}).get("id") or ""
        container = body.get("container") or {}
        origin_ts = None if container.get("is_ephemeral") else container.get("message_ts")
        # A press in the Home tab comes with its view, and no channel nor message.
        in_home = container.get("type") == "view" and (body.get("view") or {}).get("type") == "home"
        hint, display = await self._hint(team, user.get("id", ""))
        account = ChatAccount("slack", user.get("id", ""), team_id=team, display_name=display)
        place = ChatPlace("slack", channel, team, is_group=not channel.startswith("D"))
        try:
            language, linked = await self.app.call(_language_linked, self.app.ctx, account, hint)
        except Exception:  # the database is away: the press below tells the person
            language, linked = normalize_language(hint), False
        label = ((action.get("text") or {}).get("text") or "") if "value" in action else ""
        asking = pending_input.resolve(press.action, language, label) if linked else None
        if asking is not None and asking[1].kind == "text":
            real, request = asking
            if real != press.action:  # a button marked as asking: its label says for what
                request = replace(request, prompt=label or request.prompt)
            declared = REGISTRY.get(real)
            # The trigger_id lives 3 seconds: open the modal now, before anything slow.
            multiline = bool(declared and declared.reason)
            await self._open_modal(body, Press(real, press.ref), request, multiline, language,
                                   channel, origin_ts, in_home,
                                   body.get("response_url"))  # fmt: skip
            return
        await self._run_press(
            account, place, press, hint, channel, origin_ts, body.get("response_url"), in_home
        )

    async def _open_modal(
        self,
        body: dict,
        press: Press,
        request: InputRequest,
        multiline: bool,
        language: str,
        channel: str,
        origin_ts: str | None,
        in_home: bool = False,
        response_url: str | None = None,
    ) -> None:
        fields = {"v": f"{press.action}|{press.ref}", "c": channel, "ts": origin_ts or ""}
        if not origin_ts and not in_home and response_url:
            # An ephemeral message (a list shown privately) has no ts to update: only its
            # response_url can replace it once the modal is submitted (private_metadata is
            # only ever seen by the bot, and kept out of the logs).
            fields["r"] = response_url
        metadata = json.dumps(fields | ({"h": 1} if in_home else {}))  # h: pressed in the Home
        view = render.input_modal(language, request.prompt, request.optional, metadata, multiline)
        try:
            await self.client.views_open(trigger_id=body.get("trigger_id"), view=view)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))

    async def _run_press(
        self,
        account: ChatAccount,
        place: ChatPlace,
        press: Press,
        hint: str | None,
        channel: str,
        origin_ts: str | None,
        response_url: str | None,
        in_home: bool = False,
    ) -> None:
        language = normalize_language(hint)
        if in_home:  # what the press brings or asks for goes to the direct message
            channel = await self._direct(account.external_id)
            place = ChatPlace("slack", channel, account.team_id, is_group=False)
        try:
            origin = f"{channel}:{origin_ts}" if origin_ts else f"{channel}:"
            answer = await self.app.call(
                pending_input.on_press, self.app.ctx, account, place, press, hint, origin
            )
            language = await self.app.call(_language, self.app.ctx, account, hint)
            reply = answer.reply
            awaits_file = answer.awaiting is not None and answer.awaiting.kind == "file"
            if in_home and not awaits_file:
                await self._home_answer(account, hint, reply, language, channel)
                return
            if awaits_file:
                # An identifiers file: ask for it here, privately; the upload completes the press.
                reply = Reply(t(language, "slack.file.ask", prompt=reply.text), reply.buttons,
                              ok=reply.ok)  # fmt: skip
                await self._deliver(reply, language, channel, account.external_id,
                                    response_url=response_url, private=True)  # fmt: skip
                if in_home:
                    await self._publish_home(account, hint, t(language, "home.sent_to_messages"))
                return
            target_ts = _origin_ts(answer.origin, channel) or origin_ts
            await self._deliver(reply, language, channel, account.external_id,
                                origin_ts=target_ts, response_url=response_url,
                                pressed=True)  # fmt: skip
        except Exception as error:
            log.exception("Slack button %r failed", press.action)
            await self._failed(channel, account.external_id, language, response_url, error)

    # --- modal submissions -------------------------------------------------------------------

    async def on_view(self, ack, body: dict, view: dict) -> None:
        await ack()
        self._later(self._submitted(body, view))

    async def _submitted(self, body: dict, view: dict) -> None:
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        if not isinstance(meta, dict):  # the bot only ever writes an object there
            meta = {}
        press = parse_callback_data(str(meta.get("v") or ""))
        values = (view.get("state") or {}).get("values") or {}
        text = ((values.get("answer") or {}).get("text") or {}).get("value") or ""
        press = Press(press.action, press.ref, text=text)
        user = body.get("user") or {}
        team = user.get("team_id") or (body.get("team") or {}).get("id") or ""
        channel = str(meta.get("c") or "")
        hint, display = await self._hint(team, user.get("id", ""))
        account = ChatAccount("slack", user.get("id", ""), team_id=team, display_name=display)
        place = ChatPlace("slack", channel, team, is_group=not channel.startswith("D"))
        in_home = bool(meta.get("h"))
        response_url = (meta.get("r") if isinstance(meta.get("r"), str) else None) or None
        origin_ts = meta.get("ts") or None
        await self._run_press(
            account, place, press, hint, channel, origin_ts, response_url, in_home
        )

    # --- the Home tab ------------------------------------------------------------------------

    async def on_home_opened(self, body: dict, event: dict) -> None:
        """The person opened the app's Home tab: publish their Home, read now."""
        if event.get("tab") != "home" or not event.get("user"):
            return
        team = body.get("team_id") or event.get("team") or ""
        self._later(self._open_home(team, event["user"]))

    async def _open_home(self, team: str, user: str) -> None:
        hint, display = await self._hint(team, user)
        account = ChatAccount("slack", user, team_id=team, display_name=display)
        await self._publish_home(account, hint)

    async def _publish_home(
        self, account: ChatAccount, hint: str | None, notice: str | None = None
    ) -> None:
        """Read the person's Home (remembering them, and `notice`: what their press did) and
        publish it. The database away: the Home says so; Slack failing: logged (the next
        opening or change publishes it again)."""
        try:
            shown = await self.app.call(homes.open_home, self.app.ctx, account, hint, notice)
        except Exception as error:
            log.warning("the Slack Home could not be read: %s", type(error).__name__)
            language = normalize_language(hint)
            reply = (
                outage_reply(language)
                if is_database_outage(error)
                else Reply(t(language, "slack.error.failed"), ok=False)
            )
            shown = homes.Shown(homes.Home(language, (reply,)), None)
        try:
            await self.transport.publish_home(account.external_id, account.team_id, shown.home)
        except (RetryLater, Unreachable, MaybeSent) as error:
            log.warning("views.publish failed: %s", error)
            return
        try:
            await self.app.call(homes.published, self.app.ctx, shown)
        except Exception as error:  # the notifier publishes it once more: harmless
            log.warning("a published Home could not be recorded: %s", type(error).__name__)

    async def _home_answer(
        self, account: ChatAccount, hint: str | None, reply: Reply, language: str, channel: str
    ) -> None:
        """After a press in the Home: an outcome or a refusal (text only) shows on top of the
        Home published again; anything more (a list, a card, buttons, a chart) goes to the
        direct message, which the Home points to."""
        notice = reply.text
        if (
            reply.buttons
            or reply.images
            or reply.files
            or not (reply.replaces_message or not reply.ok)
        ):
            notice = t(language, "home.sent_to_messages")
            await self._deliver(reply, language, channel, account.external_id)
        await self._publish_home(account, hint, notice)

    async def _direct(self, user: str) -> str:
        """The direct message with the person ("" if Slack refuses to open it)."""
        try:
            return await self.transport.direct(user)
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            log.warning("conversations.open failed: %s", type(error).__name__)
            return ""

    # --- files and direct messages -----------------------------------------------------------

    async def on_message(self, body: dict, event: dict) -> None:
        """An uploaded identifiers file (the bot asked for it); a typed line that answers what
        the bot asked this person in this conversation (the exact name after `supprimer`...);
        in the direct message with the bot, any other typed line is a command (`attente`,
        `link CODE`). Other messages are ignored."""
        if event.get("bot_id") or not event.get("user"):
            return
        if event.get("files"):
            self._later(self._run_file(body, event))
        elif not event.get("subtype") and event.get("text"):
            self._later(self._run_text(body, event))

    async def _run_text(self, body: dict, event: dict) -> None:
        user = event["user"]
        team = event.get("team") or body.get("team_id") or ""
        channel = event.get("channel") or ""
        direct = event.get("channel_type") == "im"
        # Slack escapes &, < and > in a message's text; the answer is compared as typed.
        text = event["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        # No users.info call for every message of a channel: only someone linked has a
        # question waiting, and their own language is used.
        account = ChatAccount("slack", user, team_id=team)
        place = ChatPlace("slack", channel, team, is_group=not direct)
        language = self.app.ctx.settings.default_language
        try:
            answer = await self.app.call(
                pending_input.on_text, self.app.ctx, account, place, text, None
            )
            if answer is not None:
                language = await self.app.call(_language, self.app.ctx, account, None)
                await self._deliver(answer.reply, language, channel, user,
                                    origin_ts=_origin_ts(answer.origin, channel))  # fmt: skip
                return
        except Exception as error:
            log.exception("Slack typed answer failed")
            await self._failed(channel, user, language, None, error)
            return
        if direct:
            await self._run_command(
                {
                    "team_id": team,
                    "user_id": user,
                    "channel_id": channel,
                    "channel_name": "directmessage",
                    "text": event["text"],
                }
            )

    async def _run_file(self, body: dict, event: dict) -> None:
        user = event["user"]
        team = event.get("team") or body.get("team_id") or ""
        channel = event.get("channel") or ""
        direct = event.get("channel_type") == "im"
        shared = event["files"][0]
        hint, display = await self._hint(team, user)
        account = ChatAccount("slack", user, team_id=team, display_name=display)
        place = ChatPlace("slack", channel, team, is_group=not direct)
        language = normalize_language(hint)
        try:
            # In a channel, only a file the bot asked for is its business: the size is checked
            # once it is known to be that file (the use case refuses a file that is too big).
            size = shared.get("size") if direct else None
            target = await self.app.call(
                pending_input.file_target, self.app.ctx, account, place, size, hint
            )
            language = await self.app.call(_language, self.app.ctx, account, hint)
            if not direct and target.origin is None:
                return  # a file shared in a channel that the bot did not ask for
            if target.press is None:
                if target.reply is not None:
                    await self._deliver(target.reply, language, channel, user)
                return
            limit = self.app.ctx.settings.max_identifiers_file_bytes
            content = await self._download(shared.get("url_private_download")
                                           or shared.get("url_private") or "", limit)  # fmt: skip
            if content is None:
                reply = Reply(t(language, "slack.file.download_failed"), ok=False)
                await self._deliver(reply, language, channel, user)
                return
            reply = await self.app.call(
                pending_input.on_file, self.app.ctx, account, place, target.press,
                shared.get("name") or "", content, hint,
            )  # fmt: skip
            await self._deliver(reply, language, channel, user,
                                origin_ts=_origin_ts(target.origin, channel))  # fmt: skip
        except Exception:
            log.exception("Slack file upload handling failed")
            await self._failed(channel, user, language, None)

    def _slack_file_url(self, url: str) -> bool:
        """The bot token goes only to Slack's file host (or the configured API's host)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        api_host = (urlsplit(self.config.api_base_url).hostname or "").lower()
        if host == api_host and parts.scheme in ("http", "https"):
            return True
        if host != "files.slack.com" and not host.endswith(".slack.com"):
            log.warning("file URL outside Slack refused: %s", host[:100])
            return False
        return parts.scheme == "https"

    async def _download(self, url: str, limit: int) -> bytes | None:
        """url_private needs the bot token; at most limit + 1 bytes (the use case says too big)."""
        if not url or not self._slack_file_url(url):
            return None
        headers = {"Authorization": f"Bearer {self.config.bot_token}"}
        try:
            async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
                if r.status != 200:
                    log.warning("file download answered %s", r.status)
                    return None
                content = bytearray()
                async for chunk in r.content.iter_chunked(64 * 1024):
                    content += chunk
                    if len(content) > limit:  # enough to say it is too big
                        break
                return bytes(content[: limit + 1])
        except aiohttp.ClientError as error:
            log.warning("file download failed: %s", type(error).__name__)
            return None


def _log_failure(task: asyncio.Task) -> None:
    """What bolt's listener error handler logged when it ran the work itself."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("Slack work after the acknowledgement failed: %s", type(error).__name__,
                  exc_info=(type(error), error, error.__traceback__))  # fmt: skip


def delivery_key(body: dict) -> str | None:
    """What identifies a delivery across its copies: an event's event_id (the same in Slack's
    retries), else the trigger_id Slack gives each command, button press and modal submission."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def _is_direct(body: dict) -> bool:
    channel = str(body.get("channel_id") or "")
    return body.get("channel_name") == "directmessage" or channel.startswith("D")


def _origin_ts(origin: str | None, channel: str) -> str | None:
    """'C123:1700000000.000100' -> the ts, when it is a message of this channel."""
    if not origin:
        return None
    where, _, ts = origin.partition(":")
    return ts if where == channel and ts else None


def _language(ctx, account: ChatAccount, hint: str | None) -> str:
    return _language_linked(ctx, account, hint)[0]


def _language_linked(ctx, account: ChatAccount, hint: str | None) -> tuple[str, bool]:
    """The linked person's language, else the Slack client's; and whether they are linked."""
    actor = chat.who(ctx, account)
    if actor is not None:
        return actor.language, True
    return normalize_language(hint or ctx.settings.default_language), False


def build_front(app: App) -> SlackFront:
    return SlackFront(app)
