"""Progress of the CLI's long commands (`demo --scale N`, `db indicators`) on stderr.

On a terminal, a tqdm bar per phase with its rate and the time left; elsewhere (a log, CI),
one plain line as each phase starts, at each tenth of it and as it ends, each with the time
left, so that a log gets a dozen lines per phase rather than one per batch or carriage
returns. stdout keeps only the command's result.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Never, TextIO

from tqdm import tqdm

from storage.progress import Step


class ProgressReport:
    """The `progress` callback given to storage's long jobs; a context manager that closes the
    last bar."""

    def __init__(self, label: str, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.bar_mode = self.stream.isatty() if bar is None else bar
        self._bar: tqdm[Never] | None = None
        self._phase: str | None = None
        self._started = 0.0
        self._tenth = -1

    def __call__(self, step: Step) -> None:
        if step.phase != self._phase:
            self._start(step)
        if self.bar_mode:
            if self._bar is not None:
                self._bar.update(step.done - self._bar.n)
            return
        if step.total is None:
            return
        tenth = 10 if step.done >= step.total else step.done * 10 // max(step.total, 1)
        if tenth > self._tenth:
            self._tenth = tenth
            self._line(step)

    def _start(self, step: Step) -> None:
        self.close()
        self._phase = step.phase
        self._started = time.monotonic()
        self._tenth = -1
        if not self.bar_mode:
            if step.total is None:
                self._write(f"{self.label}: {step}")
            return
        if step.total is None:
            tqdm.write(f"{self.label}: {step}", file=self.stream)
            return
        width = _columns(self.stream)
        self._bar = tqdm(
            total=step.total,
            desc=f"{self.label}: {step.phase}",
            file=self.stream,
            unit="",
            unit_scale=True,
            # A terminal that reports no size (`docker exec -t` before it is resized) would
            # get no bar at all: draw 80 columns then.
            dynamic_ncols=width != 0,
            ncols=80 if width == 0 else None,
            nrows=24 if width == 0 else None,
            leave=True,
        )

    def _line(self, step: Step) -> None:
        assert step.total is not None
        elapsed = time.monotonic() - self._started
        text = f"{self.label}: {step} ({step.done * 100 // max(step.total, 1)} %)"
        if step.done >= step.total:
            text += f" in {_duration(elapsed)}"
        elif step.done:
            left = elapsed * (step.total - step.done) / step.done
            text += f", {_duration(elapsed)} elapsed, about {_duration(left)} left"
        self._write(text)

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressReport:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _columns(stream: TextIO) -> int | None:
    """The terminal's width, 0 when it reports none, None when unknown (not a real file)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
