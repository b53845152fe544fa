"""What the notifier needs from Slack: send a Reply to a channel or a person, edit it later.

A person is addressed by their Slack user id (the linked identity's external id): the bot
opens its direct message with them (conversations.open). Slack's errors are mapped to the
outbox's outcomes: 429, server errors and failures to connect are retried later, a channel or
person that cannot be reached is marked unreachable, and a post that timed out or lost its
connection after Slack had it may have been delivered (MaybeSent: posted again by the
notifier, marked as a possible repeat).
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.notifier import MaybeSent, RetryLater, Unreachable
from bot.slack import render
from bot.slack.limits import ChannelLimiter
from handlers.chat.home import Home
from handlers.core.reply import Reply

#: Slack errors meaning the recipient cannot be reached until someone fixes it.
UNREACHABLE = {
    "channel_not_found", "is_archived", "not_in_channel", "user_not_found", "user_disabled",
    "account_inactive", "cannot_dm_bot", "restricted_action", "team_access_not_granted",
    "missing_scope", "invalid_auth", "not_authed",
}  # fmt: skip


class SlackTransport:
    def __init__(self, client: AsyncWebClient, limiter: ChannelLimiter, language: str) -> None:
        self.client = client
        self.limiter = limiter
        self.language = language
        self._direct: dict[str, str] = {}

    async def _channel(self, chat_id: str) -> str:
        """A user id becomes the id of the bot's direct message with them."""
        if chat_id[:1] not in ("U", "W"):
            return chat_id
        if chat_id not in self._direct:
            opened = await self.client.conversations_open(users=chat_id)
            self._direct[chat_id] = opened["channel"]["id"]
        return self._direct[chat_id]

    async def direct(self, user_id: str) -> str:
        """The bot's direct message with this person (where answers to Home presses go)."""
        return await self._channel(user_id)

    async def send(self, chat_id: str, team_id: str, reply: Reply) -> str:
        try:
            channel = await self._channel(chat_id)
        except SlackApiError as error:
            raise _outcome(error) from None
        except (TimeoutError, aiohttp.ClientError) as error:  # opening a DM: harmless to redo
            raise RetryLater(type(error).__name__) from None
        await self.limiter.wait(channel)
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                text=render.fallback_text(reply),
                blocks=render.blocks(reply, self.language),
                unfurl_links=False,
            )
        except SlackApiError as error:
            raise _outcome(error) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _network_outcome(error) from None
        return f"{channel}:{response['ts']}"

    async def edit(self, chat_id: str, team_id: str, message_ref: str, reply: Reply) -> None:
        channel, _, ts = message_ref.partition(":")
        try:
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=render.fallback_text(reply),
                blocks=render.blocks(reply, self.language),
            )
        except SlackApiError as error:
            raise _outcome(error) from None
        except (TimeoutError, aiohttp.ClientError) as error:  # an edit can be done again
            raise RetryLater(type(error).__name__) from None

    async def publish_home(self, user_id: str, team_id: str, home: Home) -> None:
        """Publish the person's App Home tab, paced like a message to one channel. A publish
        replaces the whole Home: doing it again is harmless, so every failure is retried."""
        await self.limiter.wait(home_channel(user_id))
        try:
            await self.client.views_publish(user_id=user_id, view=render.home_view(home))
        except SlackApiError as error:
            raise _outcome(error) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise RetryLater(type(error).__name__) from None


def home_channel(user_id: str) -> str:
    """The pacing key of a person's Home (the limiter paces per channel)."""
    return f"home:{user_id}"


def _network_outcome(error: Exception) -> Exception:
    """A post that failed on the network: never sent if the connection could not be made;
    otherwise Slack may have posted it (timeout, connection dropped before the answer)."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return RetryLater(type(error).__name__)
    return MaybeSent(type(error).__name__)


def _outcome(error: SlackApiError) -> Exception:
    code = str(error.response.get("error") or "")
    if error.response.status_code == 429:
        retry = error.response.headers.get("Retry-After") or error.response.headers.get(
            "retry-after"
        )
        return RetryLater("ratelimited", float(retry) if retry else None)
    if code in UNREACHABLE:
        return Unreachable(code)
    return RetryLater(code or f"HTTP {error.response.status_code}")
