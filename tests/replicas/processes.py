"""`referent-bot run` as real processes: one configuration file each, the secrets in the
environment (as deploy/env.example has them), logs kept in files for the assertions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.fake_slack_api import BOT_TOKEN, FakeSlack
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "replicas-webhook-secret-42"
WEBHOOK_PATH = "/telegram/webhook"
#: Every secret a replica is given: none may appear in its logs.
SECRETS = (TOKEN, WEBHOOK_SECRET, BOT_TOKEN, SIGNING_SECRET)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def entry_point() -> list[str]:
    """The installed `referent-bot` script (what the systemd unit runs), else the module."""
    script = Path(sys.executable).with_name("referent-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def environment(tmp: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp),
        "REFERENT_BOT_DATABASE_URL": database_url,
        "REFERENT_BOT_TELEGRAM_TOKEN": TOKEN,
        "REFERENT_BOT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "REFERENT_BOT_SLACK_BOT_TOKEN": BOT_TOKEN,
        "REFERENT_BOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }


def cli(tmp: Path, database_url: str, *args: str) -> str:
    """One CLI command (db upgrade...) run to completion; its output."""
    done = subprocess.run(
        [*entry_point(), *args], env=environment(tmp, database_url), cwd=REPO,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Replica:
    """One `referent-bot run`: Telegram in webhook mode and Slack in HTTP mode, on ports of
    its own, pointed at the fake Bot API and the fake Slack API."""

    name: str
    tmp: Path
    database_url: str
    telegram_port: int = field(default_factory=free_port)
    slack_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.telegram_port}{WEBHOOK_PATH}"

    @property
    def slack_events(self) -> str:
        return f"http://127.0.0.1:{self.slack_port}/slack/events"

    @property
    def log(self) -> Path:
        return self.tmp / f"{self.name}.log"

    def write_config(self, bot_api: FakeBotApi, slack: FakeSlack) -> Path:
        path = self.tmp / f"{self.name}.toml"
        path.write_text(
            f"""
[bot]
data_dir = "{self.tmp / self.name}"
[telegram]
enabled = true
api_base_url = "{bot_api.base_url}"
bot_username = "{BOT_USERNAME}"
mode = "webhook"
webhook_url = "https://bot.example.org{WEBHOOK_PATH}"
listen_host = "127.0.0.1"
listen_port = {self.telegram_port}
[slack]
enabled = true
api_base_url = "{slack.api_url}"
host = "127.0.0.1"
port = {self.slack_port}
[notifications]
poll_seconds = 1
# the world's requests are years old: no reminders in these counts
reminder_days = 36500
operators_reminder_days = 36500
""",
            "utf-8",
        )
        return path

    def start(self, bot_api: FakeBotApi, slack: FakeSlack) -> None:
        config = self.write_config(bot_api, slack)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*entry_point(), "--config", str(config), "run"],
                env=environment(self.tmp, self.database_url), cwd=REPO,
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, chart workers included
            )  # fmt: skip

    async def ready(self, timeout: float = 30.0) -> None:
        """Both listeners accept connections."""
        deadline = time.monotonic() + timeout
        for port in (self.telegram_port, self.slack_port):
            while True:
                assert self.process is not None and self.process.poll() is None, self.output()
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"{self.name} not ready\n{self.output()}"
                    await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the whole process group (the bot and its chart workers): no cleanup at
        all, as when the machine dies, and no orphaned worker left behind."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as systemd stops the unit; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"{self.name} did not stop on SIGTERM\n{self.output()}")
            await asyncio.sleep(0.1)
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
