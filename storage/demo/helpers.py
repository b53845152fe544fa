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

    def __init__(self, connection: Connection, progress: Callable[[str], None] | None) -> None:
        self.connection = connection
        self.tables = [t for t in PlatformBase.metadata.sorted_tables if t.name != "territory"]
        self.buffers: dict[str, list[dict[str, Any]]] = {t.name: [] for t in self.tables}
        self.counts: dict[str, int] = {t.name: 0 for t in self.tables}
        self.progress = progress

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
        if self.progress is not None:
            self.progress(
                f"users {self.counts['user']:,}, ads {self.counts['proposal']:,}, "
                f"carpool items {self.counts['carpool_item']:,}"
            )
