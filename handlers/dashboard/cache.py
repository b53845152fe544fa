"""Drawing a chart's PNG: from a cache keyed by the digest of everything drawn, else through
`ctx.chart_renderer` (the bot's process pool) when there is one, else in the calling thread."""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from handlers.core.context import Context

RENDER_TIMEOUT_S = 60
log = logging.getLogger(__name__)


class RenderCache:
    """Recently drawn PNGs by digest of what they show (spec + data): a thread-safe LRU."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(function: Callable[[Any], bytes], data: object) -> str:
        return hashlib.sha256(pickle.dumps((function.__name__, data))).hexdigest()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return png

    def put(self, key: str, png: bytes) -> None:
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


CACHE = RenderCache()


def draw(ctx: Context, function: Callable[[Any], bytes], data: object) -> bytes:
    """The PNG of `data`: from the cache, else from the process pool (or in-process)."""
    key = CACHE.key(function, data)
    png = CACHE.get(key)
    if png is not None:
        return png
    png = None
    if ctx.chart_renderer is not None:
        try:
            png = ctx.chart_renderer.submit(function, data).result(timeout=RENDER_TIMEOUT_S)
        except (BrokenExecutor, FutureTimeout, RuntimeError) as error:
            # A dead or shut-down pool must not cost the referent their chart: this thread
            # (a use-case thread, never the event loop) draws it instead.
            log.warning("chart pool unavailable (%s): drawing in-process", type(error).__name__)
    if png is None:
        png = function(data)
    CACHE.put(key, png)
    return png
