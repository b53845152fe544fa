"""`referent-bot run` (or a baseline) as a child process of a bench, and its configuration."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.bot.slack.fake_slack_api import BOT_TOKEN
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # tests/bot/slack/conftest.SIGNING_SECRET
WEBHOOK_SECRET = "bench-webhook-secret"
ROOT = Path(__file__).resolve().parent.parent


def bot_config(
    folder: Path,
    database_url: str,
    *,
    telegram_url: str | None = None,
    telegram_mode: str = "polling",
    webhook_port: int = 0,
    slack_url: str | None = None,
    slack_port: int = 0,
    metrics_port: int = 0,
    poll_seconds: int = 0,
) -> Path:
    """A TOML configuration for `referent-bot run` against the fakes (the metrics endpoint on
    `metrics_port` and the notifier's round every `poll_seconds` when given)."""
    lines = [
        "[database]", f'url = "{database_url}"',
        "[bot]", f'data_dir = "{folder}"', 'log_level = "INFO"',
    ]  # fmt: skip
    if telegram_url:
        lines += [
            "[telegram]", "enabled = true", f'token = "{TOKEN}"',
            f'api_base_url = "{telegram_url}"', f'bot_username = "{BOT_USERNAME}"',
            f'mode = "{telegram_mode}"',
        ]  # fmt: skip
        if telegram_mode == "webhook":
            lines += [
                f'webhook_url = "http://127.0.0.1:{webhook_port}/telegram"',
                f'webhook_secret = "{WEBHOOK_SECRET}"', f"listen_port = {webhook_port}",
            ]  # fmt: skip
    if slack_url:
        lines += [
            "[slack]", "enabled = true", f'bot_token = "{BOT_TOKEN}"',
            f'signing_secret = "{SIGNING_SECRET}"', f'api_base_url = "{slack_url}"',
            'host = "127.0.0.1"', f"port = {slack_port}",
        ]  # fmt: skip
    if metrics_port:
        lines += ["[metrics]", "enabled = true", 'host = "127.0.0.1"', f"port = {metrics_port}"]
    if poll_seconds:
        lines += ["[notifications]", f"poll_seconds = {poll_seconds}"]
    path = folder / "bench-config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Child:
    """A child process whose output goes to a log file (shown when it fails)."""

    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.log.stem} exited ({self.process.returncode}):\n"
                               + self.tail())  # fmt: skip

    async def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (the bot stops its fronts cleanly), then SIGKILL if it takes too long."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        for _ in range(int(timeout * 10)):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.process.kill()
        self.process.wait()


def spawn(args: list[str], log: Path) -> Child:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERENT_BOT_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env
        )
    return Child(process, log)


def run_bot(config: Path, log: Path) -> Child:
    """`referent-bot run`, exactly as installed (bot/__main__.py is the console script's)."""
    return spawn(["-m", "bot", "--config", str(config), "run"], log)


async def wait_port(port: int, child: Child, timeout: float = 60.0) -> None:
    """Until something accepts connections on 127.0.0.1:port."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        child.check()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"nothing listens on port {port}:\n{child.tail()}") from None
            await asyncio.sleep(0.05)
