"""qless_sim: the real qless-core script, in process, under a clock your tests control."""

from __future__ import annotations

from .clock import DEFAULT_START, Clock, SimClock, SystemClock
from .core import ApiEdition, CoreScript, SimTransport, SimulatedServer, load_core

__all__ = [
    "DEFAULT_START",
    "ApiEdition",
    "Clock",
    "CoreScript",
    "SimClock",
    "SimTransport",
    "SimulatedServer",
    "SystemClock",
    "load_core",
]
