"""What a test does when a service it needs (a database server, nginx) is not there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when REFERENT_BOT_REQUIRE_SERVERS says everything must run
    (`.ci/run` sets it)."""
    if os.environ.get("REFERENT_BOT_REQUIRE_SERVERS"):
        pytest.fail(reason + ", and REFERENT_BOT_REQUIRE_SERVERS says it must run")
    pytest.skip(reason)
