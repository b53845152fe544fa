"""/metrics, /healthz and /readyz of a bot driven through the real python-telegram-bot and
slack-bolt stacks against the fake APIs: the counters say what the scenario did."""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Config, MetricsConfig
from bot.health import HealthServer
from bot.notifier import Notifier
from bot.runtime import App
from bot.telegram.front import TelegramFront
from bot.wiring import Runtime
from handlers.chat.actions import callback_data
from handlers.community import pending
from handlers.core import audit
from handlers.outbox import claims
from storage.engine import make_engine
from tests.bot.slack.conftest import start_bot
from tests.bot.telegram.conftest import JEANMARC, link, telegram_config
from tests.handlers.helpers import actor
from tests.ops.support import free_port

pytestmark = [pytest.mark.asyncio, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = await get(port, "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_telegram_scenario_is_counted(api, engine, ctx, world):
    app = App(Runtime(telegram_config(api), engine, ctx))
    telegram = TelegramFront(app, poll_timeout=0.2)
    health = HealthServer(app, MetricsConfig(enabled=True, port=0))
    await health.start()
    await telegram.start()
    try:
        assert await get(health.port, "/healthz") == (200, "ok\n")
        assert await get(health.port, "/readyz") == (503, "starting\n")
        app.ready = True
        assert await get(health.port, "/readyz") == (200, "ready\n")

        await link(api, ctx, JEANMARC)  # a command: /start CODE
        pierre = world.membership("arc", "pierre")
        api.press(JEANMARC, {"message_id": 777}, callback_data("approve", str(pierre)))
        [edit] = await api.wait_for(lambda c: c.method == "editMessageText")
        assert "Pierre" in edit.text

        # Hélène and François are still pending: the notifier pushes both to Jean-Marc; the
        # first send meets flood control (429) and is retried later.
        api.fail_next("sendMessage", 429, retry_after=1)
        await Notifier(app).run_once()

        samples = await scrape(health.port)
        sends = len(api.sent(method="sendMessage"))
        states = Counter(row[3] for row in claims.delivery_states(ctx))
    finally:
        await telegram.stop()
        await health.stop()
        app.close()

    assert value(samples, "referent_bot_updates_total", front="telegram", kind="command") == 1
    assert value(samples, "referent_bot_updates_total", front="telegram", kind="button") == 1
    assert value(samples, "referent_bot_update_seconds_count", front="telegram",
                 kind="button") == 1  # fmt: skip
    assert value(samples, "referent_bot_updates_in_progress") == 0
    assert value(samples, "referent_bot_decisions_total", front="telegram",
                 outcome="approved") == 1  # fmt: skip
    assert value(samples, "referent_bot_decisions_total", front="telegram",
                 outcome="refused") == 0  # fmt: skip
    assert value(samples, "referent_bot_changes_total", front="telegram", action="approve") == 1
    assert value(samples, "referent_bot_usecase_seconds_count",
                 usecase="pending_input.on_press") == 1  # fmt: skip
    assert value(samples, "referent_bot_api_call_seconds_count", platform="telegram",
                 method="answerCallbackQuery") == 1  # fmt: skip
    assert value(samples, "referent_bot_api_call_seconds_count", platform="telegram",
                 method="editMessageText") == 1  # fmt: skip
    # every call the fake Bot API received, the one refused with 429 included
    assert sends >= 3
    assert value(samples, "referent_bot_api_call_seconds_count", platform="telegram",
                 method="sendMessage") == sends  # fmt: skip
    assert value(samples, "referent_bot_api_errors_total", platform="telegram", code="429") == 1
    # two requests and the daily reminder (Hélène waits since 12/01): one met the 429
    assert states == {"sent": 2, "pending": 1}
    assert value(samples, "referent_bot_deliveries_total", platform="telegram",
                 result="sent") == 2  # fmt: skip
    assert value(samples, "referent_bot_deliveries_total", platform="telegram",
                 result="retry") == 1  # fmt: skip
    # read from the outbox at scrape time
    assert value(samples, "referent_bot_outbox_deliveries", state="sent") == 2
    assert value(samples, "referent_bot_outbox_deliveries", state="pending") == 1


async def test_readiness_follows_the_database_and_the_shutdown(api, engine, ctx, world):
    app = App(Runtime(telegram_config(api), engine, ctx), ready=True)
    health = HealthServer(app, MetricsConfig(enabled=True, port=0))
    await health.start()
    try:
        assert await get(health.port, "/readyz") == (200, "ready\n")
        down = make_engine(f"postgresql+psycopg://bot@127.0.0.1:{free_port()}/gone")
        app.runtime = dataclasses.replace(app.runtime, engine=down)
        assert await get(health.port, "/readyz") == (503, "database unreachable\n")
        app.draining = True
        assert await get(health.port, "/readyz") == (503, "shutting down\n")
        assert await get(health.port, "/healthz") == (200, "ok\n")  # alive all along
    finally:
        await health.stop()
        app.close()


@contextlib.asynccontextmanager
async def slack_with_metrics(engine, settings):
    """The Slack front on the fake Web API, its metrics served on a free port."""
    from tests.bot.slack.fake_slack_api import FakeSlack

    fake = FakeSlack()
    await fake.start()
    bot = await start_bot(fake, engine, settings, min_interval=0.0)
    health = HealthServer(bot.app, MetricsConfig(enabled=True, port=0))
    await health.start()
    try:
        yield fake, bot, health
    finally:
        await health.stop()
        await bot.front.stop()
        bot.app.close()
        await fake.stop()


async def test_slack_requests_and_api_errors_are_counted(engine, settings):
    async with slack_with_metrics(engine, settings) as (fake, bot, health):
        fake.fail("chat.postEphemeral", "channel_not_found")
        sent = await bot.user.command("stranger", "aide")
        assert sent.status == 200
        await fake.wait_for("response_url")  # the ephemeral failed: answered by response_url
        await bot.front.drain()  # the request's work is done
        samples = await scrape(health.port)
    assert value(samples, "referent_bot_updates_total", front="slack", kind="command") == 1
    assert value(samples, "referent_bot_api_errors_total", platform="slack",
                 code="channel_not_found") == 1  # fmt: skip
    assert value(samples, "referent_bot_api_call_seconds_count", platform="slack",
                 method="users.info") == 1  # fmt: skip


async def test_a_slack_call_throttled_then_retried_is_counted(engine, settings):
    """slack_sdk waits out a 429 and calls again: the reply goes out, and the 429 shows."""
    async with slack_with_metrics(engine, settings) as (fake, bot, health):
        fake.rate_limit("chat.postEphemeral", retry_after=0)
        sent = await bot.user.command("stranger", "aide")
        assert sent.status == 200
        await bot.front.drain()  # the request's work is done
        samples = await scrape(health.port)
        calls = [c.method for c in fake.calls]
    assert calls.count("chat.postEphemeral#429") == 1 and calls.count("chat.postEphemeral") == 1
    assert value(samples, "referent_bot_api_errors_total", platform="slack", code="429") == 1
    assert value(samples, "referent_bot_api_call_seconds_count", platform="slack",
                 method="chat.postEphemeral") == 1  # fmt: skip


async def test_only_the_audited_changes_that_commit_are_counted(engine, ctx, world, monkeypatch):
    """A use case rolled back after its audit row was written (a later listener failed) is not
    counted; a second App in the process (listeners registered again) counts once."""
    app = App(Runtime(Config(), engine, ctx))
    App(Runtime(Config(), engine, ctx)).close()
    emilie = actor(ctx, world, "emilie")

    def failing(session, event) -> None:
        raise RuntimeError("listener failed")

    try:
        with monkeypatch.context() as patch:
            patch.setattr(audit, "LISTENERS", [*audit.LISTENERS, failing])
            with pytest.raises(RuntimeError, match="listener failed"):
                await app.call(pending.approve, ctx, emilie, world.membership("arc", "pierre"))
        assert (await app.call(pending.refuse, ctx, emilie, world.membership("arc", "helene"))).ok
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(app.metrics.render().decode())
            for s in family.samples
        }
    finally:
        app.close()

    assert value(samples, "referent_bot_decisions_total", front="console",
                 outcome="approved") == 0  # fmt: skip
    assert value(samples, "referent_bot_decisions_total", front="console", outcome="refused") == 1
    assert value(samples, "referent_bot_changes_total", front="console", action="approve") == 0
    assert value(samples, "referent_bot_changes_total", front="console", action="refuse") == 1
