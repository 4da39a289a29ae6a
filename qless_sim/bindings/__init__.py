"""The qless client API (Client, Queue, Job, ...) over any transport."""

from __future__ import annotations

from ._factory import client as make_client
from .client import Client, Jobs, Queues, Throttles, Workers, default_worker_name
from .config import Config
from .events import EVENTS, Events
from .job import Job, RecurringJob
from .queue import Queue, QueueHeartbeat, QueueJobs
from .throttle import Throttle

__all__ = [
    "EVENTS",
    "Client",
    "Config",
    "Events",
    "Job",
    "Jobs",
    "Queue",
    "QueueHeartbeat",
    "QueueJobs",
    "Queues",
    "RecurringJob",
    "Throttle",
    "Throttles",
    "Workers",
    "default_worker_name",
    "make_client",
]
