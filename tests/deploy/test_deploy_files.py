"""The deployment files agree with the code: the systemd unit is valid and runs the installed
entry point with the secrets file, the secrets file names every secret the configuration
reads, and nginx forwards exactly the paths the fronts serve."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import ENV_OVERRIDES
from bot.slack.front import PATH as SLACK_PATH
from bot.telegram.front import webhook_path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "referent-bot.service"
INSTALLED = "/opt/referent-bot/venv/bin/referent-bot"


def unit_settings(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values, as systemd reads it (a key may be given several times)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        assert current is not None and _, f"not key=value: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_runs_the_installed_entry_point_with_the_secrets_file_hardened():
    unit = unit_settings(UNIT.read_text("utf-8"))
    service = unit["Service"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert scripts["referent-bot"] == "bot.cli:main"
    assert service["ExecStart"] == [f"{INSTALLED} run"]
    assert service["EnvironmentFile"] == ["/etc/referent-bot/env"]
    assert service["User"] == ["referent-bot"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]  # what the CLI returns on a bad config
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "PrivateTmp": "yes", "ProtectHome": "yes"}.items():  # fmt: skip
        assert service[key] == [value], key
    assert "/var/lib/referent-bot" in service["ReadWritePaths"]
    assert service["StateDirectory"] == ["referent-bot"]
    assert service["TimeoutStopSec"] and service["KillSignal"] == ["SIGTERM"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    # the upgrade step, left for the administrator with several replicas
    assert f"#ExecStartPre={INSTALLED} db upgrade" in UNIT.read_text("utf-8")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path):
    """`systemd-analyze verify`, the entry point pointed at this installation (it checks that
    the program exists); any warning about the unit fails the test."""
    installed = Path(sys.executable).with_name("referent-bot")
    if not installed.exists():
        pytest.skip("the referent-bot script is not installed in this environment")
    copy = tmp_path / "referent-bot.service"
    copy.write_text(UNIT.read_text("utf-8").replace(INSTALLED, str(installed)), "utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    about_unit = [line for line in (done.stdout + done.stderr).splitlines() if copy.name in line]
    assert done.returncode == 0 and about_unit == [], done.stdout + done.stderr


def test_the_secrets_file_names_every_secret_the_configuration_reads():
    text = (DEPLOY / "env.example").read_text("utf-8")
    listed = set(re.findall(r"^#?(REFERENT_BOT_[A-Z_]+)=", text, re.M))
    assert listed == set(ENV_OVERRIDES.values())
    values = re.findall(r"^REFERENT_BOT_[A-Z_]+=(.*)$", text, re.M)
    assert all(value == "" or "CHANGE-ME" in value for value in values), values  # no real secret


def test_nginx_forwards_the_paths_the_fronts_serve():
    text = (DEPLOY / "nginx.conf").read_text("utf-8")
    locations = re.findall(r"location = (\S+) \{[^}]*?proxy_pass http://(\w+);", text, re.S)
    assert locations == [
        ("/telegram/webhook", "referent_bot_telegram"),
        (SLACK_PATH, "referent_bot_slack"),
        ("/healthz", "referent_bot_health"),
    ]
    [url] = set(re.findall(r'webhook_url = "([^"]+)"', text))
    assert "/" + webhook_path(url) == "/telegram/webhook"  # where the bot listens
    for upstream in ("telegram", "slack", "health"):
        block = re.search(rf"upstream referent_bot_{upstream} \{{(.*?)\}}", text, re.S)
        assert block and len(re.findall(r"server 127\.0\.0\.1:\d+", block.group(1))) == 2
    ports = re.findall(r"listen_port = (\d+)\s+\[slack\] port = (\d+)", text)
    assert ports == [("8443", "3000"), ("8444", "3001")]
    for telegram, slack in ports:
        assert f"server 127.0.0.1:{telegram} " in text and f"server 127.0.0.1:{slack} " in text
