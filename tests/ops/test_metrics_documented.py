"""The README's metrics table names every metric the bot serves."""

from __future__ import annotations

import re
from pathlib import Path

from bot.metrics import Metrics

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_metric_is_in_the_readme_table():
    """An operator reads the README to build dashboards: a metric missing there is unseen."""
    documented = set(re.findall(r"`(referent_bot_\w+)`", README.read_text(encoding="utf-8")))
    families = list(Metrics().registry.collect())
    served = {f.name + "_total" if f.type == "counter" else f.name for f in families}
    missing = served - documented
    assert len(served) >= 10 and not missing, f"not in the README's table: {sorted(missing)}"
