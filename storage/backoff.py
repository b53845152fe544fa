"""Retry delays with jitter, for the two outboxes (chat deliveries, e-mails).

Why: a Telegram or SMTP outage fails many sends within a few seconds; with plain exponential
delays they all come back at the same moment, again and again, and hit the recovering server
together. "Equal jitter" keeps half of the delay and draws the other half at random: retries
spread out, yet none comes back sooner than half the planned delay.
"""

from __future__ import annotations

import math
import random

#: The random source of the jitter. Tests replace it (a seeded `random.Random`, or one whose
#: `randint` returns a bound) to know the delays.
source = random.Random()


def jittered(seconds: float, at_least: float = 0) -> int:
    """A delay in whole seconds between half of `seconds` (rounded up) and `seconds`, never
    below `at_least` (a Retry-After the server asked for)."""
    high = max(1, math.ceil(seconds))
    delay = source.randint(math.ceil(high / 2), high)
    return max(delay, math.ceil(at_least))
