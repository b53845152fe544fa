"""/healthz, /readyz and /metrics on [metrics] host:port, for an orchestrator and Prometheus.

- /healthz: 200 while the process runs its event loop (liveness).
- /readyz: 200 once every front has started and while the database answers; 503 while
  starting, while draining on SIGTERM, or when the database does not answer within 2 s.
- /metrics: the App's registry in Prometheus' text format; the outbox's deliveries by state
  are read from the database at scrape time (one grouped count on an indexed column).

Slow or oversized clients are cut as on the chat endpoints (bot/http_guard.py).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import Engine, text

from bot import http_guard
from bot.config import MetricsConfig
from bot.metrics import CONTENT_TYPE
from handlers.outbox import claims

log = logging.getLogger(__name__)
DATABASE_TIMEOUT = 2.0


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class HealthServer:
    def __init__(self, app, config: MetricsConfig) -> None:
        self.app = app
        self.config = config
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        web_app = http_guard.application()  # body size and time capped, slow headers cut
        web_app.router.add_get("/healthz", self.healthz)
        web_app.router.add_get("/readyz", self.readyz)
        web_app.router.add_get("/metrics", self.metrics)
        self.runner = http_guard.runner(web_app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        self.port = self.runner.addresses[0][1]
        log.info("health and metrics on http://%s:%s (/healthz, /readyz, /metrics)",
                 self.config.host, self.port)  # fmt: skip

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        if self.app.draining:
            return web.Response(status=503, text="shutting down\n")
        if not self.app.ready:
            return web.Response(status=503, text="starting\n")
        try:
            await asyncio.wait_for(self.app.call(ping, self.app.runtime.engine), DATABASE_TIMEOUT)
        except Exception as error:  # any failure means: do not send traffic here
            log.warning("readiness: database unreachable (%s)", type(error).__name__)
            return web.Response(status=503, text="database unreachable\n")
        return web.Response(text="ready\n")

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            counts = await asyncio.wait_for(
                self.app.call(claims.count_by_state, self.app.ctx), DATABASE_TIMEOUT
            )
            self.app.metrics.set_delivery_states(counts)
        except Exception as error:  # the other metrics are still worth serving
            log.warning("metrics: outbox not read (%s)", type(error).__name__)
        return web.Response(body=self.app.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
