"""Stand-ins for storage.backoff.source: the shortest or the longest jittered delay."""

from __future__ import annotations


class Shortest:
    def randint(self, low: int, high: int) -> int:
        return low


class Longest:
    def randint(self, low: int, high: int) -> int:
        return high
