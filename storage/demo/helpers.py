"""Small helpers of the generator, and the buffered writer that inserts its rows in batches."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from storage.demo.constants import BATCH_SIZE
from storage.models import PlatformBase
from storage.progress import Progress, Step


def _ascii(text_: str) -> str:
    """Lower-case ASCII for e-mail local parts and domains."""
    folded = text_.replace("œ", "oe").replace("Œ", "Oe")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    out = "".join(c if c.isalnum() or c == "-" else "-" for c in folded.lower())
    return "-".join(part for part in out.split("-") if part)


def _of(town: str) -> str:
    """French "de Lille" / "d'Arras"."""
    return f"d'{town}" if town[0] in "AEIOUÉÈÂ" else f"de {town}"


def _first_domain(domain: str | None) -> str | None:
    """The first of a community's `;`-separated domains, as the platform reads them."""
    if not domain:
        return None
    return domain.split(";")[0].strip().lstrip("@")


def _rect_wkt(box: tuple[float, float, float, float]) -> str:
    min_lat, max_lat, min_lon, max_lon = box
    ring = (
        f"{min_lon} {min_lat}, {max_lon} {min_lat}, {max_lon} {max_lat}, "
        f"{min_lon} {max_lat}, {min_lon} {min_lat}"
    )
    return f"MULTIPOLYGON((({ring})))"


@dataclass
class _Comm:
    """What the generator remembers of a community."""

    id: int
    creator: int
    created: dt.datetime
    validation: int
    domain: str | None  # first domain, for e-mails
    town: int
    weight: float


class _Writer:
    """Buffers rows per table and writes them with executemany, parents before children.

    Why flush every table together: a child row (an address) must never reach the database
    before its parent (its user), and foreign keys are checked on SQLite and PostgreSQL.
    """

    def __init__(self, connection: Connection, progress: Progress | None) -> None:
        self.connection = connection
        self.tables = [t for t in PlatformBase.metadata.sorted_tables if t.name != "territory"]
        self.buffers: dict[str, list[dict[str, Any]]] = {t.name: [] for t in self.tables}
        self.counts: dict[str, int] = {t.name: 0 for t in self.tables}
        self.progress = progress
        #: The phase reported after each batch: its name, size and how much of it is done.
        self._phase: tuple[str, int, Callable[[], int]] | None = None
        self._last: Step | None = None

    def written(self, table: str) -> int:
        """Rows of `table` generated so far (written or still buffered)."""
        return self.counts[table] + len(self.buffers[table])

    def phase(self, name: str, total: int | None, done: Callable[[], int] | None = None) -> None:
        """Report phase `name` from now on: `done()` of `total` after each batch (from 0 as
        it starts); without a size, only that it starts. Ends the previous phase."""
        self.end_phase()
        if total is None or done is None:
            self._report(Step(name, 0, None))
            return
        self._phase = (name, total, done)
        self._report(Step(name, 0, total))

    def rows_phase(self, name: str, table: str, total: int) -> None:
        """A phase measured in rows of `table` generated from now on."""
        start = self.written(table)
        self.phase(name, total, lambda: self.written(table) - start)

    def end_phase(self) -> None:
        if self._phase is not None:
            name, total, _ = self._phase
            self._phase = None
            self._report(Step(name, total, total))

    def _report(self, step: Step) -> None:
        if self.progress is not None and step != self._last:  # a flush right after the end
            self._last = step
            self.progress(step)

    def add(self, table: str, row: dict[str, Any]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Write every buffer in dependency order and commit: one transaction per batch."""
        for table in self.tables:
            rows = self.buffers[table.name]
            if rows:
                self.connection.execute(table.insert(), rows)
                self.counts[table.name] += len(rows)
                self.buffers[table.name] = []
        self.connection.commit()
        if self._phase is not None:
            name, total, done = self._phase
            self._report(Step(name, min(done(), total), total))
