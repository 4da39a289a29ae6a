"""qless_sim: the real qless-core script, in process, under a clock your tests control.

The names below are imported on first use, so that loading the pytest plugin
(which imports this package) costs no fakeredis, lupa or redis-py import
until a fixture needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Public name -> module that defines it, relative to this package.
_EXPORTS = {
    "ApiEdition": ".core",
    "Client": ".bindings",
    "Clock": ".clock",
    "CoreScript": ".core",
    "DEFAULT_START": ".clock",
    "Fault": ".faults",
    "FaultyTransport": ".faults",
    "Job": ".bindings",
    "JobRun": ".worker",
    "Queue": ".bindings",
    "RecurringJob": ".bindings",
    "SimClock": ".clock",
    "SimTransport": ".core",
    "SimulatedServer": ".core",
    "StalledWorker": ".worker",
    "SystemClock": ".clock",
    "WorkReport": ".worker",
    "Worker": ".worker",
    "client": ".bindings._factory",
    "load_core": ".core",
}

__all__ = [
    "ApiEdition",
    "Client",
    "Clock",
    "CoreScript",
    "DEFAULT_START",
    "Fault",
    "FaultyTransport",
    "Job",
    "JobRun",
    "Queue",
    "RecurringJob",
    "SimClock",
    "SimTransport",
    "SimulatedServer",
    "StalledWorker",
    "SystemClock",
    "WorkReport",
    "Worker",
    "client",
    "errors",
    "load_core",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qless_sim' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from .bindings import Client, Job, Queue, RecurringJob
    from .bindings._factory import client
    from .clock import DEFAULT_START, Clock, SimClock, SystemClock
    from .core import ApiEdition, CoreScript, SimTransport, SimulatedServer, load_core
    from .faults import Fault, FaultyTransport
    from .worker import JobRun, StalledWorker, Worker, WorkReport

from . import errors  # noqa: E402  (it imports nothing outside the standard library)
