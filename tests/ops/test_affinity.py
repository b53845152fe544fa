"""[bot] cpu: `referent-bot run` keeps the threads that share the GIL on one CPU, while its
chart workers and the indicator refresher keep every CPU (bot/affinity.py says why)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

from bot import affinity
from bot.config import ConfigError, load_config
from tests.bot.telegram.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi
from tests.ops.support import free_port, write_config

ROOT = Path(__file__).resolve().parents[2]
CPUS = affinity.usable()
several_cpus = pytest.mark.skipif(
    not CPUS or len(CPUS) < 2, reason="pinning needs Linux and at least two usable CPUs"
)


def test_the_cpu_chosen_for_each_setting():
    allowed = frozenset({0, 1, 2, 3})
    assert affinity.choose("auto", allowed, running_on=2) == 2
    assert affinity.choose("auto", allowed, running_on=None) == 0
    assert affinity.choose("3", allowed, running_on=0) == 3
    assert affinity.choose("off", allowed, running_on=1) is None
    assert affinity.choose("auto", frozenset({5}), running_on=5) is None  # one CPU: nothing
    assert affinity.choose("auto", None, running_on=None) is None  # not Linux
    with pytest.raises(ConfigError, match=r"may only use CPUs \[0, 1, 2, 3\]"):
        affinity.choose("7", allowed, running_on=0)


@pytest.mark.parametrize("value", ["all", "-1", "1.5", ""])
def test_a_bad_setting_is_explained(tmp_path, value):
    path = write_config(tmp_path / "bot.toml", bot={"cpu": value})
    with pytest.raises(ConfigError, match=r'\[bot\] cpu must be "auto", "off" or a CPU number'):
        load_config(path, environ={})


@several_cpus
def test_the_current_cpu_is_one_this_thread_may_use():
    assert affinity.current_cpu() in CPUS


@several_cpus
def test_a_thread_pinned_then_released(monkeypatch):
    """Threads started by the pinned thread share its CPU; `release` gives one every CPU back."""
    monkeypatch.setattr(affinity, "_allowed", None)  # what pin() records, reset afterwards
    seen: dict[str, set[int]] = {}

    def use_case() -> None:
        seen["use case"] = os.sched_getaffinity(0)

    def refresher() -> None:
        affinity.release()
        seen["refresher"] = os.sched_getaffinity(0)

    def loop_thread() -> None:
        cpu = affinity.cpu_for("auto")
        affinity.pin(cpu)
        seen["cpu"] = {cpu}
        seen["loop"] = os.sched_getaffinity(0)
        for target in (use_case, refresher):
            started = threading.Thread(target=target)
            started.start()
            started.join()
        affinity.release()
        seen["after"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=loop_thread)
    thread.start()
    thread.join()
    assert seen["loop"] == seen["use case"] == seen["cpu"]
    assert seen["refresher"] == seen["after"] == CPUS
    assert os.sched_getaffinity(0) == CPUS, "the test's own thread was never pinned"


async def _run(tmp_path: Path, cpu: str, api: FakeBotApi) -> subprocess.Popen:
    """`referent-bot run` on its embedded demo database, its Telegram front on the fake."""
    port = free_port()
    config = write_config(
        tmp_path / "bot.toml",
        bot={"data_dir": str(tmp_path / "data"), "cpu": cpu},
        telegram={"enabled": True, "token": TOKEN, "api_base_url": api.base_url,
                  "bot_username": BOT_USERNAME},
        metrics={"enabled": True, "port": port},
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERENT_BOT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/readyz") as answer,
            ):
                if answer.status == 200:
                    return process
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    process.kill()
    raise AssertionError("referent-bot run never became ready")


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=60)
    return output.decode(errors="replace")


async def _chart_workers(bot: psutil.Process) -> list[psutil.Process]:
    """The pool's workers (the forkserver's children), once the warm-up chart has started
    one."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = [p for p in bot.children(recursive=True) if p.ppid() != bot.pid]
        if workers:
            return workers
        await asyncio.sleep(0.2)
    raise AssertionError("no chart worker started")


@several_cpus
@pytest.mark.asyncio
async def test_run_pins_its_event_loop_but_not_its_chart_workers(tmp_path, api):
    process = await _run(tmp_path, "auto", api)
    try:
        bot = psutil.Process(process.pid)
        loop_cpus = set(bot.cpu_affinity())  # the main thread runs the event loop
        workers = await _chart_workers(bot)
        assert len(loop_cpus) == 1 and loop_cpus <= CPUS
        for worker in workers:
            assert set(worker.cpu_affinity()) == CPUS, "chart workers draw on every CPU"
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    cpu = next(iter(loop_cpus))
    assert f"event loop and use-case threads on CPU {cpu} (of {len(CPUS)}; [bot] cpu)" in output


@several_cpus
@pytest.mark.asyncio
async def test_run_with_cpu_off_leaves_the_threads_to_the_os(tmp_path, api):
    process = await _run(tmp_path, "off", api)
    try:
        assert set(psutil.Process(process.pid).cpu_affinity()) == CPUS
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "use-case threads on CPU" not in output


@several_cpus
def test_run_refuses_a_cpu_this_machine_lacks(tmp_path):
    config = write_config(
        tmp_path / "bot.toml",
        bot={"data_dir": str(tmp_path / "data"), "cpu": "999"},
        telegram={"enabled": True, "token": TOKEN, "api_base_url": "http://127.0.0.1:9/bot",
                  "bot_username": BOT_USERNAME},
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERENT_BOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        f"referent-bot: configuration error: [bot] cpu = 999: this process may only use CPUs "
        f"{sorted(CPUS)}" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@several_cpus
def test_a_sandbox_that_refuses_pinning_runs_unpinned(monkeypatch, caplog):
    def refuse(pid, cpus):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(affinity, "_allowed", None)
    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    affinity.pin(min(CPUS))
    assert "could not keep the event loop on CPU" in caplog.text
    assert affinity._allowed is None  # nothing to release
    affinity.release()  # and releasing is a no-op
