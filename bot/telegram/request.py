"""python-telegram-bot's networking backend on aiohttp instead of httpx.

PTB makes every Bot API call through a `BaseRequest`, its documented extension point for other
HTTP libraries; its default (HTTPXRequest) cost 2 to 4 ms of CPU per call on the bench machine,
more than the bot's own work for an update, and more the more connections were open (httpcore
checks every pooled connection on every request). aiohttp, already a dependency (Slack), does
the same call in a tenth of that. Everything above `do_request` is PTB's own: the parameters'
encoding, the status codes turned into RetryAfter, Forbidden, BadRequest... Here only transport
failures are translated, as HTTPXRequest does: a timeout is `TimedOut`, any other failure
`NetworkError`, each with the aiohttp error as its cause, which `request_sent` reads.
"""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

#: Raised before the request left: the connection could not be made, or no pooled connection
#: freed up in time. Telegram never saw such a call.
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def request_sent(cause: BaseException | None) -> bool | None:
    """Whether the call that failed with this transport error may have reached Telegram: False
    when it failed before leaving, True after (a read timeout, a connection dropped mid-answer);
    None when the error is not a transport error of this backend."""
    if isinstance(cause, NOT_SENT):
        return False
    if isinstance(cause, aiohttp.ClientError | TimeoutError):
        return True
    return None


def maybe_delivered(error: NetworkError) -> bool:
    """Whether Telegram may have carried out a call that failed with this error: after a read
    timeout or a connection dropped mid-answer it may have (it had the request); after a
    connect failure it cannot have; an HTTP error status (5xx) is its answer that it did not."""
    return bool(request_sent(error.__cause__))


class AiohttpRequest(BaseRequest):
    """A pool of keep-alive connections (one aiohttp session), with HTTPXRequest's timeouts.

    aiohttp has no write timeout: a call is bounded as a whole instead, by the sum of its
    pool, connect, write and read timeouts (PTB adds the long-polling time to getUpdates' read
    timeout, so polling stays bounded too).
    """

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Called by PTB on the running event loop, where the session must be made."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _proxy_for(self, url: str) -> str | None:
        """HTTP(S)_PROXY and NO_PROXY, as httpx (PTB's default) honoured them, read once per
        host: aiohttp's `trust_env` reads the environment again on every request (1 ms each)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname)
        if key not in self._proxies:
            proxy = urllib.request.getproxies().get(parts.scheme)
            if proxy and parts.hostname and urllib.request.proxy_bypass(parts.hostname):
                proxy = None
            self._proxies[key] = proxy
        return self._proxies[key]

    def _timeout(
        self, read: Any, write: Any, connect: Any, pool: Any, files: bool
    ) -> aiohttp.ClientTimeout:
        """PTB passes DEFAULT_NONE for a timeout the caller did not set: this request's own."""

        def given(value: Any, default: float | None) -> float | None:
            return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value

        read = given(read, self._read_timeout)
        write = given(write, self._media_write_timeout if files else self._write_timeout)
        connect = given(connect, self._connect_timeout)
        pool = given(pool, self._pool_timeout)
        parts = (pool, connect, write, read)
        return aiohttp.ClientTimeout(
            total=None if None in parts else sum(parts),
            # aiohttp's `connect` covers waiting for a pooled connection and making a new one.
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = bool(request_data and request_data.contains_files)
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout, files)
        data: Any = None
        if request_data is not None:
            data = request_data.json_parameters
            if files:
                form = aiohttp.FormData(data)
                for name, (filename, content, mimetype) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
        try:
            async with self._session.request(
                method, url, data=data, timeout=timeout, proxy=self._proxy_for(url)
            ) as answer:
                return answer.status, await answer.read()
        except TimeoutError as error:
            if isinstance(error, aiohttp.ConnectionTimeoutError):
                raise TimedOut(
                    "Pool or connect timeout: the request was not sent to Telegram"
                ) from error
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name says what failed when the message is empty (a dropped connection).
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
