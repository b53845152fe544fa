"""Run every bench: `python -m bench [--only NAME] [--quick] [--update-docs]`.

Each bench runs as its own process with a time limit (3 minutes and a margin), prints its
table, and hands its figures over as JSON; a bench that fails or is missing is reported and the
others still run. At the end: one summary table (figure, value, baseline, ratio, goal, verdict)
and bench/results/latest.json (the machine, its load average before and after, every figure).
With --update-docs the sections of docs/benchmarks.md between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` are replaced by the latest tables (the charts section is its owner's).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path

from bench.common import Figure, table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
#: (name, module); the order they run in.
BENCHES = [
    ("telegram", "bench.telegram"),
    ("slack", "bench.slack"),
    ("charts", "bench.charts"),
    ("notifications", "bench.notifications"),
    ("memory", "bench.memory"),
]
#: Benches whose tables --update-docs writes (charts keeps its hand-written section).
DOC_SECTIONS = {"telegram", "slack", "notifications", "memory"}
LIMIT_S = 180 + 30
PACKAGES = ("python-telegram-bot", "slack-bolt", "slack-sdk", "SQLAlchemy", "aiohttp", "httpx",
            "matplotlib", "psycopg", "PyMySQL")  # fmt: skip


@dataclass
class Outcome:
    name: str
    status: str  # ok, failed (exit code N), timed out, missing
    seconds: float
    output: str = ""
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    title: str = ""


#: The benches of this runner that take --json and --quick (others are asked with --help).
OWN = {"bench.telegram", "bench.slack", "bench.notifications", "bench.memory"}


def supports(module: str, option: str) -> bool:
    """Whether a bench knows an option (the charts bench is written by its own owner)."""
    if module in OWN:
        return True
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        shown = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                               text=True, timeout=60, cwd=ROOT)  # fmt: skip
        return option in shown.stdout
    return False


def run_one(name: str, module: str, quick: bool) -> Outcome:
    if not (ROOT / (module.replace(".", "/") + ".py")).exists():
        return Outcome(name, "missing", 0.0)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        out = Path(folder) / "figures.json"
        args = [sys.executable, "-m", module]
        if supports(module, "--json"):
            args += ["--json", str(out)]
        if quick and supports(module, "--quick"):
            args.append("--quick")
        started = time.monotonic()
        print(f"\n=== {name}: {' '.join(args[1:])}", flush=True)
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=LIMIT_S, cwd=ROOT)
        except subprocess.TimeoutExpired as expired:
            shown = expired.stdout or ""
            shown = shown.decode(errors="replace") if isinstance(shown, bytes) else shown
            return Outcome(name, f"timed out after {LIMIT_S} s", time.monotonic() - started, shown)
        seconds = time.monotonic() - started
        status = "ok" if done.returncode == 0 else f"failed (exit code {done.returncode})"
        output = done.stdout + ("" if done.returncode == 0 else "\n" + done.stderr[-3000:])
        outcome = Outcome(name, status, seconds, output)
        if out.exists():
            data = json.loads(out.read_text(encoding="utf-8"))
            outcome.figures = [Figure(**f) for f in data["figures"]]
            outcome.notes = data.get("notes", [])
            outcome.title = data.get("title", "")
        return outcome


def machine() -> dict:
    import psutil

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    import sqlite3

    databases = {"SQLite": sqlite3.sqlite_version}
    for label, variable in (("PostgreSQL", "REFERENT_BOT_TEST_POSTGRES"),
                            ("MariaDB", "REFERENT_BOT_TEST_MARIADB")):  # fmt: skip
        url = os.environ.get(variable)
        if url:
            databases[label] = server_version(url)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%d/%m/%Y %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": versions,
        "databases": databases,
    }


def server_version(url: str) -> str:
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version()")).scalar_one()
        engine.dispose()
        return str(version).split(" on ")[0].split(",")[0]
    except Exception as error:  # a description must not stop the benches
        return f"unknown ({type(error).__name__})"


def describe(info: dict) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    databases = ", ".join(
        version if version.startswith(name) else f"{name} {version}"
        for name, version in info["databases"].items()
    )
    before, after = info["load_before"], info["load_after"]
    return (
        f"{info['date']}: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, "
        f"{info['system']}, Python {info['python']}; {packages}; databases: {databases}. "
        f"Load average (1, 5, 15 min) before: {before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f}; "
        f"after: {after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f}."
    )


def summary(outcomes: list[Outcome]) -> str:
    lines = ["| bench | status | time |", "|---|---|---|"]
    lines += [f"| {o.name} | {o.status} | {o.seconds:.0f} s |" for o in outcomes]
    figures = [
        Figure(f"{o.name}: {f.name}", f.value, f.unit, f.baseline, f.ratio, f.goal, f.ok)
        for o in outcomes
        for f in o.figures
        if f.ok is not None or f.ratio is not None
    ]
    return "\n".join(lines) + "\n\n" + table(figures)


def section(outcome: Outcome, info: dict, quick: bool) -> str:
    """What --update-docs writes for one bench."""
    head = f"Latest run: {info['date']}" + (" (--quick: small sizes, indicative only)" if quick
                                             else "")  # fmt: skip
    head += (f", load average {info['load_before'][0]:.2f} before the benches and "
             f"{info['load_after'][0]:.2f} after.")  # fmt: skip
    if outcome.status != "ok":
        return f"{head}\n\nThis bench {outcome.status}."
    notes = "\n\n".join(outcome.notes)
    return f"{head}\n\n{table(outcome.figures)}\n\n{notes}".rstrip()


def _framed(body: str, match: re.Match[str]) -> str:
    """A bench section's new body between its markers (the match's two groups)."""
    return match.group(1) + body + match.group(2)


def update_docs(outcomes: list[Outcome], info: dict, quick: bool) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    replaced = []
    blocks = {o.name: section(o, info, quick) for o in outcomes if o.name in DOC_SECTIONS}
    blocks["machine"] = describe(info)
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(\n<!-- /bench:{name} -->)", re.S)
        if pattern.search(text):
            text = pattern.sub(partial(_framed, body), text)
            replaced.append(name)
    DOCS.write_text(text, encoding="utf-8")
    return replaced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this bench (repeatable, or comma-separated): "
                        + ", ".join(name for name, _ in BENCHES))  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke test of the benches, not figures")  # fmt: skip
    parser.add_argument("--update-docs", action="store_true",
                        help="write the tables into docs/benchmarks.md")  # fmt: skip
    parser.add_argument("--results", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    only = {name for value in args.only for name in value.split(",") if name}
    unknown = only - {name for name, _ in BENCHES}
    if unknown:
        parser.error(f"unknown bench: {', '.join(sorted(unknown))}")
    info = machine()
    info["load_before"] = os.getloadavg()
    outcomes = []
    for name, module in BENCHES:
        if only and name not in only:
            continue
        outcome = run_one(name, module, args.quick)
        print(outcome.output.rstrip() or f"({outcome.status})", flush=True)
        print(f"--- {name}: {outcome.status} in {outcome.seconds:.0f} s", flush=True)
        outcomes.append(outcome)
    info["load_after"] = os.getloadavg()
    print("\n## Summary\n")
    print(describe(info) + "\n")
    print(summary(outcomes), flush=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(
            {
                "machine": info,
                "quick": args.quick,
                "benches": [
                    {"name": o.name, "status": o.status, "seconds": round(o.seconds, 1),
                     "title": o.title, "figures": [f.__dict__ for f in o.figures],
                     "notes": o.notes, "output": o.output if not o.figures else ""}
                    for o in outcomes
                ],
            },
            indent=1,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )  # fmt: skip
    print(f"\nResults: {args.results}")
    if args.update_docs:
        print("docs/benchmarks.md sections updated: " + ", ".join(
            update_docs(outcomes, info, args.quick)))  # fmt: skip
    return 0 if all(o.status in ("ok", "missing") for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
