"""What every bench shares: percentiles, the figures table, the JSON the runner collects."""

from __future__ import annotations

import argparse
import json
import math
import socket
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    """One measured figure, beside the baseline measured in the same run."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    #: value / baseline (for throughput, how much of the baseline's the bot reaches).
    ratio: float | None = None
    goal: str = ""
    #: None when the figure has no goal.
    ok: bool | None = None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    whole = float(value).is_integer() or abs(value) >= 1000
    text = f"{value:,.0f}" if whole else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    """Markdown, so that the runner can paste it in docs/benchmarks.md as printed."""
    lines = ["| figure | value | baseline | ratio | goal | |", "|---|---|---|---|---|---|"]
    for f in figures:
        verdict = "" if f.ok is None else ("ok" if f.ok else "MISSED")
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        lines.append(
            f"| {f.name} | {fmt(f.value, f.unit)} | {fmt(f.baseline, f.unit)} | {ratio} "
            f"| {f.goal} | {verdict} |"
        )
    return "\n".join(lines)


def ratio(value: float, baseline: float | None) -> float | None:
    if baseline is None or not baseline or math.isnan(baseline) or math.isnan(value):
        return None
    return value / baseline


def parser(description: str) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--quick", action="store_true", help="a few seconds, for a smoke test")
    result.add_argument("--json", type=Path, help="also write the figures here (for the runner)")
    return result


def report(title: str, figures: list[Figure], notes: list[str], json_path: Path | None) -> None:
    print(f"## {title}\n")
    print(table(figures))
    for note in notes:
        print(f"\n{note}")
    print(flush=True)
    if json_path is not None:
        json_path.write_text(
            json.dumps(
                {"title": title, "figures": [asdict(f) for f in figures], "notes": notes},
                indent=1,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
