"""qless_sim: the real qless-core script, in process, under a clock your tests control."""

from __future__ import annotations

from . import errors
from .bindings import Client, Job, Queue, RecurringJob
from .bindings._factory import client
from .clock import DEFAULT_START, Clock, SimClock, SystemClock
from .core import ApiEdition, CoreScript, SimTransport, SimulatedServer, load_core
from .faults import Fault, FaultyTransport
from .worker import JobRun, StalledWorker, Worker, WorkReport

__all__ = [
    "DEFAULT_START",
    "ApiEdition",
    "Client",
    "Clock",
    "CoreScript",
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
