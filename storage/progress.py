"""Where a long job stands (the demo fill, the indicator rebuild), for whoever shows it.

storage/ only reports steps; the CLI (bot/progress.py) turns them into a bar with the time
left on a terminal, or into a few lines in a log. A job goes through named phases in order;
within one, `done` grows to `total`, which lets the caller estimate the time left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """`done` of `total` units of `phase` (e.g. 5,000 of 10,000 "users"); `total` None: a
    phase of unknown size (ANALYZE, the roles), reported once as it starts."""

    phase: str
    done: int
    total: int | None

    def __str__(self) -> str:
        if self.total is None:
            return f"{self.phase}..."
        return f"{self.phase} {self.done:,}/{self.total:,}"


#: The callback a long job takes; called after each batch, never in a tight loop.
Progress = Callable[[Step], None]
