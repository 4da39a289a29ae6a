"""Clocks that decide the `now` every qless-core command is called with."""

from __future__ import annotations

from ._clocks import DEFAULT_START, Clock, SimClock, SystemClock

__all__ = ["DEFAULT_START", "Clock", "SimClock", "SystemClock"]
