"""A bounded inference queue: a few readings run at once, a few more wait, the rest are told to come back.

Without a bound, 64 clients at once each wait behind all the others (p99 of seconds) and each
holds its body and decoded image in memory meanwhile. With one, the server's latency and memory
stay those of ``running + waiting`` requests, and the rest get 503 with ``Retry-After`` at once.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from pwocr.serving.limits import HTTPRefusal


class Gate:
    """Admits at most ``running + waiting`` requests; of those, at most ``running`` hold a slot at once.

    A request is admitted before its body is read (so waiting requests hold at most one body
    each) and leaves when it has its answer. Slots are an ``asyncio.Semaphore`` (first come,
    first served) made for the event loop that asks, so one app serves uvicorn's loop or a test
    client's; the counts are guarded by a thread lock.
    """

    def __init__(self, running: int, waiting: int) -> None:
        if running < 1 or waiting < 0:
            raise ValueError("a gate needs at least one running slot and no negative queue")
        self.running_limit = running
        self.capacity = running + waiting
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        #: Moving average of one reading's seconds, for ``Retry-After``.
        self._seconds = 1.0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._admitted - self._running

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queue ahead divided among the slots."""
        return max(1, math.ceil(self._seconds * self.capacity / self.running_limit))

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a place in the queue, or raise 503 with ``Retry-After`` when it is full."""
        with self._lock:
            if self._admitted >= self.capacity:
                full = True
            else:
                full = False
                self._admitted += 1
        if full:
            seconds = self.retry_after()
            raise HTTPRefusal(
                503,
                f"busy: {self.capacity} readings running or queued; retry in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a running slot (only admitted requests wait, so the wait is bounded)."""
        loop = asyncio.get_running_loop()
        slots = self._slots.setdefault(loop, asyncio.Semaphore(self.running_limit))
        async with slots:
            with self._lock:
                self._running += 1
            started = time.perf_counter()
            try:
                yield
            finally:
                elapsed = time.perf_counter() - started
                with self._lock:
                    self._running -= 1
                    self._seconds = 0.8 * self._seconds + 0.2 * elapsed


class PixelBudget:
    """At most ``budget`` pixels being decoded and read at once, so images never hold more than one maximal image's memory.

    A 40 MP colour photo peaks near 700 MB while it is decoded (Pillow holds RGB at 4 bytes a
    pixel, and the gray conversion works in float32); two running slots decoding two of them at
    once would double that. A reading takes its image's pixels from the budget on its worker
    thread, waiting while others decode, and gives them back once read; an image larger than
    the whole budget (never, when the budget is the pixel limit) takes it all.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._free = budget
        self._changed = threading.Condition()

    @contextmanager
    def take(self, pixels: int) -> Iterator[None]:
        pixels = min(pixels, self.budget)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= pixels)
            self._free -= pixels
        try:
            yield
        finally:
            with self._changed:
                self._free += pixels
                self._changed.notify_all()
