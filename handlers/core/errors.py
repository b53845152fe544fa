"""Refusals: the expected ways a request fails, each shown to the user as a clear message."""

from __future__ import annotations


class Refusal(Exception):
    """Raised inside a use case; the transaction is rolled back and `key` is shown, translated."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
