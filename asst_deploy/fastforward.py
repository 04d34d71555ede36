"""Time shared by a client and the in-process server only it talks to (the built-in
sandbox a command starts): the client's waits move both clocks on at once instead of
sleeping. A run polled every half second ends as soon as its steps are due, and a turn
past its timeout is cancelled as it would be after the real wait, in no real time."""

from __future__ import annotations

import threading
import time


class FastForward:
    """Wall and monotonic clocks that run with real time plus every wait skipped so far."""

    def __init__(self) -> None:
        self._skipped = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        return time.time() + self._skipped

    def monotonic(self) -> float:
        return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        """A wait, skipped: both clocks are `seconds` later at once."""
        with self._lock:
            self._skipped += max(float(seconds), 0.0)
