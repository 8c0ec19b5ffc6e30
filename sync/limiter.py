"""The client-side rate limit of the Sheets client (sync/http.py)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class SlidingWindowLimiter:
    """At most ``max_requests`` in any ``window`` seconds; ``acquire`` sleeps until allowed.

    Sheets quotas are per minute per user (60 write requests by default); staying under them
    on our side is cheaper than collecting 429s and backing off.
    """

    def __init__(
        self,
        max_requests: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        self.max_requests = max_requests
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._stamps: collections.deque[float] = collections.deque()
        # Sleeping while holding the lock is intended: concurrent callers queue up.
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a slot and take it; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._stamps and now - self._stamps[0] >= self.window:
                    self._stamps.popleft()
                if len(self._stamps) < self.max_requests:
                    self._stamps.append(now)
                    return waited
                delay = self._stamps[0] + self.window - now
                self._sleep(delay)
                waited += delay
