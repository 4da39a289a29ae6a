"""Client: the entry point of the bindings, over any transport."""

from __future__ import annotations

import os
import socket
from typing import Any

from ..clock import Clock
from ..core import ApiEdition, CoreScript, SimulatedServer, Transport
from ..errors import UnsupportedCommandError
from ._args import as_list, check_int, check_jid, check_name, loads
from .config import Config
from .events import Events
from .job import Job, RecurringJob
from .queue import Queue
from .throttle import Throttle


def default_worker_name() -> str:
    """Return `<hostname>-<pid>`, the worker name qless-py's workers use."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Jobs:
    """Jobs across all queues: by jid, completed, tracked, tagged and failed."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __getitem__(self, jid: str) -> Job | RecurringJob | None:
        """Return the job or recurring job `jid`, or None when there is none (as qless-py)."""
        check_jid(jid)
        reply = self.client.call("get", jid)
        if reply:
            return Job(self.client, loads(reply))
        reply = self.client.call("recur.get", jid)
        if reply:
            return RecurringJob(self.client, loads(reply))
        return None

    def get(self, *jids: str) -> list[Job]:
        """Return the jobs `jids` in one call, skipping jids with no job."""
        if not jids:
            return []
        for jid in jids:
            check_jid(jid)
        records = as_list(loads(self.client.call("multiget", *jids)))
        return [Job(self.client, record) for record in records]

    def complete(self, offset: int = 0, count: int = 25) -> list[str]:
        """Return the jids of completed jobs, most recent first."""
        check_int(offset, "offset", minimum=0)
        check_int(count, "count", minimum=0)
        return as_list(self.client.call("jobs", "complete", offset, count))

    def tracked(self) -> dict[str, Any]:
        """Return `{'jobs': [Job, ...], 'expired': [jid, ...]}` for tracked jobs."""
        result: dict[str, Any] = loads(self.client.call("track"))
        result["jobs"] = [Job(self.client, record) for record in as_list(result.get("jobs"))]
        result["expired"] = as_list(result.get("expired"))
        return result

    def tagged(self, tag: str, offset: int = 0, count: int = 25) -> dict[str, Any]:
        """Return `{'total': n, 'jobs': [jid, ...]}` for jobs tagged `tag`."""
        check_name(tag, "tag")
        check_int(offset, "offset", minimum=0)
        check_int(count, "count", minimum=0)
        result: dict[str, Any] = loads(self.client.call("tag", "get", tag, offset, count))
        result["jobs"] = as_list(result.get("jobs"))
        return result

    def failed(self, group: str | None = None, start: int = 0, limit: int = 25) -> dict[str, Any]:
        """Without `group`, return `{group: count}`; with it, `{'total': n, 'jobs': [Job, ...]}`."""
        if group is None:
            counts: dict[str, Any] = loads(self.client.call("failed"))
            return counts
        check_name(group, "group")
        check_int(start, "start", minimum=0)
        check_int(limit, "limit", minimum=0)
        result: dict[str, Any] = loads(self.client.call("failed", group, start, limit))
        result["jobs"] = self.get(*as_list(result.get("jobs")))
        return result


class Workers:
    """Workers that hold or held jobs recently."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def counts(self) -> list[dict[str, Any]]:
        """One `{'name', 'jobs', 'stalled'}` entry per worker with its job counts."""
        return as_list(loads(self.client.call("workers")))

    def __getitem__(self, worker_name: str) -> dict[str, list[str]]:
        """Return `{'jobs': [jid, ...], 'stalled': [jid, ...]}` for one worker."""
        check_name(worker_name, "worker name")
        result: dict[str, Any] = loads(self.client.call("workers", worker_name))
        return {"jobs": as_list(result.get("jobs")), "stalled": as_list(result.get("stalled"))}


class Queues:
    """Queues by name, and the counts of every queue."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __getitem__(self, name: str) -> Queue:
        return Queue(name, self.client)

    @property
    def counts(self) -> list[dict[str, Any]]:
        """One entry per known queue: its name, job counts by state, and `paused`."""
        return as_list(loads(self.client.call("queues")))


class Throttles:
    """Throttles by name (cores with throttles only)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __getitem__(self, name: str) -> Throttle:
        return Throttle(self.client, check_name(name, "throttle name"))


class Client:
    """A qless client over `transport`: the simulator or a real Redis.

    `worker_name` is the worker that pops, heartbeats and completes jobs;
    it defaults to `<hostname>-<pid>` and may be changed at any time.
    """

    def __init__(self, transport: Transport, *, worker_name: str | None = None) -> None:
        self.transport = transport
        self.worker_name = default_worker_name() if worker_name is None else worker_name
        self.server: SimulatedServer | None = getattr(transport, "server", None)
        self.queues = Queues(self)
        self.jobs = Jobs(self)
        self.workers = Workers(self)
        self.throttles = Throttles(self)
        self.config = Config(self)
        self._events: Events | None = None

    @property
    def clock(self) -> Clock:
        """The transport's clock: the `now` every command runs at."""
        return self.transport.clock

    @property
    def core(self) -> CoreScript:
        """The loaded qless-core script."""
        return self.transport.core

    @property
    def worker_name(self) -> str:
        """The worker name this client pops and acts on jobs under."""
        return self._worker_name

    @worker_name.setter
    def worker_name(self, value: str) -> None:
        self._worker_name = check_name(value, "worker_name")

    @property
    def core_has_worker_put(self) -> bool:
        """Whether the core speaks the worker-put API edition (put takes the worker)."""
        return self.core.edition is ApiEdition.WORKER_PUT

    def require_throttles(self, feature: str) -> None:
        """Raise `UnsupportedCommandError` for `feature` when the core has no throttles."""
        if not self.core.has_throttles:
            raise UnsupportedCommandError(
                f"{feature} needs a core with throttles, and {self.core.describe()} has none; "
                "load the 'reqless' core (core='reqless')",
                command="throttle",
            )

    @property
    def redis(self) -> Any:
        """A redis-py client on the same data: the simulator's or the real Redis's."""
        if self.server is not None:
            return self.server.redis
        redis = getattr(self.transport, "redis", None)
        if redis is None:
            raise AttributeError(
                f"transport {self.transport!r} exposes no redis client "
                "(neither a `server` nor a `redis` attribute)"
            )
        return redis

    @property
    def events(self) -> Events:
        """Callbacks on qless-core's pubsub events (created on first use)."""
        if self._events is None:
            self._events = Events(self.redis)
        return self._events

    def call(self, command: str, *args: Any) -> Any:
        """Run qless-core `command` with `args` at the clock's now; return the raw reply."""
        return self.transport.call(command, *args)

    __call__ = call

    def queue(self, name: str) -> Queue:
        """Return the queue `name` (creating it stores nothing)."""
        return Queue(name, self)

    def track(self, jid: str) -> None:
        """Start tracking job `jid`."""
        self.call("track", "track", check_jid(jid))

    def untrack(self, jid: str) -> None:
        """Stop tracking job `jid`."""
        self.call("track", "untrack", check_jid(jid))

    def tags(self, offset: int = 0, count: int = 100) -> list[str]:
        """Return the most used tags, most used first."""
        check_int(offset, "offset", minimum=0)
        check_int(count, "count", minimum=0)
        return as_list(loads(self.call("tag", "top", offset, count)))

    def unfail(self, group: str, queue: str, count: int = 500) -> int:
        """Put up to `count` failed jobs of `group` back into `queue`; return how many moved."""
        check_name(group, "group")
        check_name(queue, "queue")
        check_int(count, "count", minimum=1)
        return int(self.call("unfail", queue, group, count))

    def __repr__(self) -> str:
        return f"Client({self.transport!r}, worker_name={self.worker_name!r})"
