"""One CPU for the threads that take turns on the GIL ([bot] cpu).

The event loop and the use-case threads share CPython's GIL, and hand it over many times per
update (each SQLite step and each socket wait releases it). When the OS runs them on different
cores, every hand-over moves the work to a core whose caches hold none of it: on the Telegram
bench (docs/benchmarks.md) an /attente cost 6.5 ms of CPU unpinned and 4.4 ms with the process
on one core, and the throughput rose by 40%. Only one of those threads can run Python at a
time anyway. What truly runs beside them keeps every CPU: the chart workers (processes forked
before the pin) and the indicator refresher's thread (it calls `release`).

Linux only (`os.sched_setaffinity`); elsewhere, or with a single usable CPU, nothing happens.
"""

from __future__ import annotations

import contextlib
import logging
import os

from bot.config import ConfigError

log = logging.getLogger(__name__)

#: The CPUs the process may use when it started, before `pin` (None: not known here).
_allowed: frozenset[int] | None = None


def usable() -> frozenset[int] | None:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    with contextlib.suppress(OSError):
        return frozenset(getter(0))
    return None


def current_cpu() -> int | None:
    """The CPU this thread runs on now (field 39 of /proc/thread-self/stat)."""
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/thread-self/stat", encoding="ascii") as stat,
    ):
        # The command name (field 2) may hold spaces: count from the closing parenthesis.
        return int(stat.read().rpartition(")")[2].split()[36])
    return None


def choose(setting: str, allowed: frozenset[int] | None, running_on: int | None) -> int | None:
    """The CPU `setting` ("auto", "off" or a CPU number) names, or None for no pinning."""
    if setting == "off" or not allowed or len(allowed) < 2:
        return None
    if setting == "auto":
        return running_on if running_on in allowed else min(allowed)
    cpu = int(setting)
    if cpu not in allowed:
        raise ConfigError(f"[bot] cpu = {cpu}: this process may only use CPUs {sorted(allowed)}")
    return cpu


def cpu_for(setting: str) -> int | None:
    """The CPU to pin to on this machine (ConfigError for one it may not use), chosen before
    anything starts."""
    return choose(setting, usable(), current_cpu())


def pin(cpu: int | None) -> None:
    """Pin the calling thread, and the threads it starts from now on, to `cpu` (None: leave
    them to the OS). Called by the event loop's thread before the use-case threads exist."""
    global _allowed
    allowed = usable()
    if cpu is None or allowed is None:
        return
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as error:  # a sandbox may refuse it: run unpinned rather than not at all
        log.warning("could not keep the event loop on CPU %d (%s); [bot] cpu ignored", cpu, error)
        return
    _allowed = allowed
    log.info("event loop and use-case threads on CPU %d (of %d; [bot] cpu)", cpu, len(allowed))


def release() -> None:
    """Give the calling thread back every CPU the process had before `pin` (none pinned: a
    no-op)."""
    if _allowed is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, _allowed)
