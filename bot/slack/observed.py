"""The Slack front's central points, observed: each request (its id on every log line, counted,
timed, waited for at shutdown) and each Web API call (timed, errors counted)."""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.logs import request_id

#: The kind of the Slack request being handled (set by `scope`, read when its work starts).
request_kind: ContextVar[str] = ContextVar("referent_bot_slack_kind", default="other")
KINDS = {"block_actions": "button", "view_submission": "modal", "event_callback": "event"}


def kind_of(body: dict) -> str:
    if "command" in body:
        return "command"
    return KINDS.get(str(body.get("type") or ""), "other")


async def scope(body: dict, next) -> None:  # noqa: A002 (slack-bolt names it `next`)
    """slack-bolt middleware: the request's trigger or event id on every line it logs.

    slack-bolt runs the listener after the middleware returns, in the same task (an HTTP
    request's, or a Socket Mode message's own), so the values are set and left set."""
    label = body.get("trigger_id") or body.get("event_id") or body.get("envelope_id")
    request_id.set(f"slack {label}" if label else "slack")
    request_kind.set(kind_of(body))
    await next()


class CountedRateLimitRetries(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's retry of a 429 (after Retry-After), each 429 counted as an API error with
    code "429": retried calls end well, but the operators should see that Slack throttles."""

    def __init__(self, metrics: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    async def _can_retry_async(self, *, state, request, response=None, error=None) -> bool:
        if self.metrics is not None and response is not None and response.status_code == 429:
            self.metrics.api_errors.labels("slack", "429").inc()
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class MeteredWebClient(AsyncWebClient):
    """slack_sdk's client, each Web API call timed by method; an error counted by its code
    (after the client's own retries of 429, which CountedRateLimitRetries counts)."""

    def __init__(self, *args: Any, metrics: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if self.metrics is None:
            return await super().api_call(api_method, **kwargs)
        started = time.perf_counter()
        error: str | None = None
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as failure:
            error = str(failure.response.get("error") or failure.response.status_code)
            raise
        except Exception as failure:  # timeouts, refused connections: named by their type
            error = type(failure).__name__
            raise
        finally:
            self.metrics.api_call("slack", api_method, time.perf_counter() - started, error)
