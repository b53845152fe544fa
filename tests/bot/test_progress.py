"""The CLI's progress report: a bar with the time left on a terminal, a few lines in a log."""

from __future__ import annotations

import io
import re

from bot.progress import ProgressReport
from storage.progress import Step


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(report: ProgressReport, phase: str, total: int, step: int) -> None:
    for done in range(0, total + 1, step):
        report(Step(phase, done, total))


def test_a_log_gets_a_line_per_tenth_of_each_phase_with_the_time_left():
    log = io.StringIO()
    with ProgressReport("demo", log) as report:
        report(Step("sample", 0, None))
        feed(report, "users", 10_000, 250)  # 41 batches
        report(Step("roles", 0, None))
    lines = log.getvalue().splitlines()
    assert lines[0] == "demo: sample..."
    assert lines[1] == "demo: users 0/10,000 (0 %)"
    users = [line for line in lines if line.startswith("demo: users")]
    assert [re.search(r"\((\d+) %\)", line)[1] for line in users] == [
        str(p) for p in range(0, 101, 10)
    ]
    assert all(re.search(r"elapsed, about [\d.]+ s left$", line) for line in users[1:-1])
    assert re.fullmatch(r"demo: users 10,000/10,000 \(100 %\) in [\d.]+ s", users[-1])
    assert lines[-1] == "demo: roles..."
    assert len(lines) == 13
    assert "\r" not in log.getvalue()  # no bar redrawn in a log


def test_a_terminal_gets_a_bar_per_phase_with_its_time_left():
    screen = Terminal()
    with ProgressReport("indicators", screen) as report:
        assert report.bar_mode
        feed(report, "grouped queries", 18, 1)
        report(Step("rows written", 0, 40_000))
        report(Step("rows written", 20_000, 40_000))
    text = screen.getvalue()
    assert "indicators: grouped queries: 100%" in text
    assert re.search(
        r"indicators: rows written:  50%\|.*\| 20\.0k/40\.0k \[\d\d:\d\d<\d\d:\d\d", text
    )
    assert "\r" in text  # redrawn in place
    assert "about" not in text  # the plain lines are for logs only


def test_a_pipe_is_not_a_terminal():
    assert not ProgressReport("demo", io.StringIO()).bar_mode
