"""Jittered retry delays (storage.backoff): their bounds, and the Retry-After floor."""

from __future__ import annotations

import random

import pytest

from storage import backoff
from storage.backoff import jittered


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setattr(backoff, "source", random.Random(17))


@pytest.mark.parametrize("seconds", [2, 64, 600, 21_600])
def test_between_half_the_delay_and_the_delay_and_spread_over_it(seeded, seconds):
    delays = [jittered(seconds) for _ in range(4000)]
    assert all(seconds // 2 <= delay <= seconds for delay in delays)
    # Both ends reached (or nearly, over 3 hours of possible delays), and spread in between.
    assert min(delays) - seconds // 2 <= seconds // 1000
    assert seconds - max(delays) <= seconds // 1000
    assert len(set(delays)) >= min(seconds // 2 + 1, 1000)
    assert abs(sum(delays) / len(delays) - 0.75 * seconds) < 0.05 * seconds


def test_odd_and_tiny_delays_stay_whole_seconds_of_at_least_one(seeded):
    assert {jittered(3) for _ in range(200)} == {2, 3}
    assert {jittered(1) for _ in range(50)} == {1}
    assert {jittered(0.2) for _ in range(50)} == {1}


def test_never_sooner_than_retry_after(seeded):
    assert {jittered(2, at_least=30) for _ in range(200)} == {30}
    assert {jittered(64, at_least=2.5) for _ in range(500)} >= {32, 64}
    above = [jittered(64, at_least=40) for _ in range(2000)]
    assert min(above) == 40 and max(above) == 64


def test_the_same_seed_gives_the_same_delays(monkeypatch):
    monkeypatch.setattr(backoff, "source", random.Random(5))
    first = [jittered(600) for _ in range(20)]
    monkeypatch.setattr(backoff, "source", random.Random(5))
    assert [jittered(600) for _ in range(20)] == first
    assert len(set(first)) > 10
