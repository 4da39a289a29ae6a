from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from ..errors import ClockError

# 2024-01-01T00:00:00Z. A fixed start makes every simulated run, and every
# timestamp qless-core stores, the same from one run to the next.
DEFAULT_START: float = 1704067200.0


@runtime_checkable
class Clock(Protocol):
    """A source of the current time, in seconds since the epoch (UTC)."""

    def now(self) -> float: ...


class SystemClock:
    """The machine's own time, as `time.time()` returns it."""

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


def _check_timestamp(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClockError(
            f"{what} must be a number of seconds, got {value!r} ({type(value).__name__})"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ClockError(f"{what} must be a finite number of seconds, got {value!r}")
    return number


def _seconds(value: float) -> str:
    """Format a number of seconds in plain decimal notation, e.g. 0.5 or 1704067200."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


class SimClock:
    """A clock that does not move until a test moves it.

    Time only moves forward: qless-core keeps leases, delays and recurring
    schedules in sorted sets scored by `now`, and a clock that went back would
    leave them in states no real deployment reaches.
    """

    def __init__(self, start: float = DEFAULT_START) -> None:
        start = _check_timestamp(start, "SimClock start")
        if start < 0:
            raise ClockError(f"SimClock start must not be before the epoch, got {start!r}")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` and return the new time.

        Raises `ClockError` for a negative, infinite or non-numeric step.
        """
        step = _check_timestamp(seconds, "SimClock.advance(seconds)")
        if step < 0:
            raise ClockError(
                f"SimClock.advance(seconds) got {seconds!r}: time cannot move backwards, "
                "because qless-core orders leases and delays by time; pass a step >= 0"
            )
        with self._lock:
            self._now += step
            return self._now

    def set(self, timestamp: float) -> float:
        """Move the clock to `timestamp` (seconds since the epoch) and return it.

        Raises `ClockError` if `timestamp` is earlier than the current time.
        """
        target = _check_timestamp(timestamp, "SimClock.set(timestamp)")
        with self._lock:
            if target < self._now:
                raise ClockError(
                    f"SimClock.set({timestamp!r}) is {_seconds(self._now - target)} s before the "
                    f"current time {self._now!r}: time cannot move backwards, because "
                    "qless-core orders leases and delays by time; create a new SimClock instead"
                )
            self._now = target
            return self._now

    def __repr__(self) -> str:
        moment = datetime.fromtimestamp(self._now, tz=timezone.utc).isoformat()
        return f"SimClock(now={self._now!r}, {moment})"
