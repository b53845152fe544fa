"""Smoke tests of the bench runner: `python -m bench --quick` runs the real bot and the
baselines against the fakes and prints the tables (the figures themselves are not judged here:
they belong to docs/benchmarks.md). They keep the benches running as the code changes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_telegram_bench_prints_its_table_and_results(tmp_path):
    results = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "telegram", "--results", str(results)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "| polling: /attente latency p99 at 20/s |" in done.stdout
    assert "| telegram | ok |" in done.stdout
    pressed = re.search(r"(\d+) of (\d+) approvals recorded in the database", done.stdout)
    assert pressed and pressed.group(1) == pressed.group(2) and int(pressed.group(1)) > 0
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["machine"]["cores"] >= 1 and len(data["machine"]["load_after"]) == 3
    (bench,) = data["benches"]
    figures = {f["name"]: f for f in bench["figures"]}
    latency = figures["polling: approve button latency p99 at 20/s"]
    assert latency["value"] > 0 and latency["baseline"] > 0
    assert latency["ratio"] == latency["value"] / latency["baseline"]


def test_quick_slack_and_notifications_benches_run(tmp_path):
    """The Slack bench walks every command and button through the handlers themselves, the
    notifications bench drives the notifier: both break when those change."""
    results = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "slack,notifications",
         "--results", str(results)],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "| slack | ok |" in done.stdout and "| notifications | ok |" in done.stdout
    assert re.search(r"Refused or failed: bot 0, echo 0", done.stdout)
    figures = {
        f["name"]: f
        for bench in json.loads(results.read_text(encoding="utf-8"))["benches"]
        for f in bench["figures"]
    }
    assert figures["duplicates"]["value"] == 0
    assert figures["messages delivered"]["value"] == figures["messages delivered"]["baseline"]
