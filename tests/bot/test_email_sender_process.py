"""`referent-bot run` with only [email] configured: a real process starts the sender, which
delivers the outbox to a real SMTP server, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from handlers.chat.identity import actor_for_user
from handlers.community import pending
from handlers.core.context import Context, Settings
from storage import schema
from storage.engine import make_engine, make_sessionmaker
from tests.handlers.community.helpers import emails
from tests.support.world import build_world


def test_run_sends_what_a_decision_queued_and_stops_on_sigterm(tmp_path, smtp):
    url = f"sqlite:///{tmp_path / 'world.sqlite3'}"
    engine = make_engine(url)
    schema.prepare(engine)
    world = build_world(engine)
    ctx = Context(make_sessionmaker(engine), Settings(email_enabled=True))
    emilie = actor_for_user(ctx, world.users["emilie"], "console")
    assert pending.approve(ctx, emilie, world.membership("arc", "pierre")).ok
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
        'security = "none"\nuser = ""\nsender = "bot@passpasscovoiturage.fr"\npoll_seconds = 1\n',
        "utf-8",
    )
    env = {**os.environ, "REFERENT_BOT_CONFIG": str(config), "XDG_DATA_HOME": str(tmp_path),
           "REFERENT_BOT_SMTP_PASSWORD": "never-Shown-42"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not smtp.received and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert [m["To"] for m in smtp.received] == ["pierre.lambert@arcfrance.fr"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "never-Shown-42" not in out + err
    [row] = emails(ctx)
    assert row.state == "sent"
    engine.dispose()
