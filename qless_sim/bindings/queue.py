"""Queue: put, pop, peek and the per-queue views and settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, overload

from ..errors import InvalidArgumentError
from ._args import (
    as_list,
    check_int,
    check_jid,
    check_name,
    check_names,
    check_seconds,
    dump_data,
    klass_name,
    loads,
)
from .job import Job
from .throttle import Throttle

if TYPE_CHECKING:
    from .client import Client


class QueueJobs:
    """The jids of one queue's jobs in each state, a page at a time."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def _jids(self, state: str, offset: int, count: int) -> list[str]:
        check_int(offset, "offset", minimum=0)
        check_int(count, "count", minimum=0)
        return as_list(self._queue.client.call("jobs", state, self._queue.name, offset, count))

    def running(self, offset: int = 0, count: int = 25) -> list[str]:
        """Return the jids of jobs a worker holds a lease on."""
        return self._jids("running", offset, count)

    def stalled(self, offset: int = 0, count: int = 25) -> list[str]:
        """Return the jids of running jobs whose lease has expired."""
        return self._jids("stalled", offset, count)

    def scheduled(self, offset: int = 0, count: int = 25) -> list[str]:
        """Return the jids of jobs put with a delay that has not passed yet."""
        return self._jids("scheduled", offset, count)

    def depends(self, offset: int = 0, count: int = 25) -> list[str]:
        """Return the jids of jobs waiting for their dependencies to complete."""
        return self._jids("depends", offset, count)

    def recurring(self, offset: int = 0, count: int = 25) -> list[str]:
        """Return the jids of the queue's recurring jobs."""
        return self._jids("recurring", offset, count)


class QueueHeartbeat(int):
    """A queue's heartbeat setting in seconds, also callable as `heartbeat(job)`.

    qless-py exposes `queue.heartbeat` as the per-queue setting, and the
    classic API calls `queue.heartbeat(job)` to renew a lease; this int is both.
    """

    _queue: Queue

    def __new__(cls, seconds: int, queue: Queue) -> QueueHeartbeat:
        value = super().__new__(cls, seconds)
        value._queue = queue
        return value

    def __call__(self, job: Job) -> float:
        """Renew `job`'s lease and save its data; return the new expiry (see `Job.heartbeat`)."""
        return self._queue._own(job, "heartbeat").heartbeat()


class Queue:
    """A qless queue, by name. Creating one stores nothing; putting a job does."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = check_name(name, "queue name")
        self.client = client
        self.jobs = QueueJobs(self)

    @property
    def worker_name(self) -> str:
        """The worker name pops are made under (the client's `worker_name`)."""
        return self.client.worker_name

    def _own(self, job: Job, action: str) -> Job:
        if not isinstance(job, Job):
            raise InvalidArgumentError(
                f"queue.{action}({job!r}): pass a Job returned by pop() or peek()"
            )
        return job

    def _put(self, klass: str, data: str, delay: float, jid: str, options: list[Any]) -> str:
        if self.client.core_has_worker_put:
            args: list[Any] = [self.client.worker_name, self.name, jid, klass, data, delay]
        else:
            args = [self.name, jid, klass, data, delay]
        return str(self.client.call("put", *args, *options))

    def put(
        self,
        klass: type | str,
        data: Any,
        priority: int = 0,
        tags: Iterable[str] = (),
        delay: float = 0,
        retries: int = 5,
        jid: str | None = None,
        depends: Iterable[str] | None = None,
        throttles: Iterable[str] | None = None,
    ) -> str:
        """Put a job of `klass` with `data` into this queue; return its jid.

        `klass` is a class or its dotted name. A higher `priority` pops first.
        `delay` is in seconds. A job with `depends` waits until those jobs
        complete. `throttles` needs a core with throttles. Putting an existing
        `jid` moves that job here. Raises `InvalidArgumentError`, before
        anything is stored, for data that is not JSON-serialisable, a negative
        delay or an invalid klass, priority, retries, tag or jid.
        """
        name = klass_name(klass)
        encoded = dump_data(data)
        check_seconds(delay, "delay")
        check_int(priority, "priority")
        check_int(retries, "retries", minimum=0)
        tag_list = check_names(tags, "tags")
        depend_list = check_names(depends or (), "depends")
        jid = uuid.uuid4().hex if jid is None else check_jid(jid)
        options: list[Any] = [
            "priority", priority,
            "tags", dump_data(tag_list, "tags"),
            "retries", retries,
            "depends", dump_data(depend_list, "depends"),
        ]
        if throttles is not None:
            self.client.require_throttles("put(throttles=...)")
            options += ["throttles", dump_data(check_names(throttles, "throttles"), "throttles")]
        return self._put(name, encoded, delay, jid, options)

    def move_job(self, job: Job, delay: float = 0, depends: Iterable[str] | None = None) -> str:
        """Put `job` into this queue, keeping its priority, tags and retries (see `Job.move`)."""
        check_seconds(delay, "delay")
        depend_list = check_names(depends or (), "depends")
        options = ["depends", dump_data(depend_list, "depends")]
        return self._put(job.klass_name, dump_data(job.data), delay, job.jid, options)

    def recur(
        self,
        klass: type | str,
        data: Any,
        interval: float,
        offset: float = 0,
        priority: int = 0,
        tags: Iterable[str] = (),
        retries: int = 5,
        jid: str | None = None,
        backlog: int = 0,
        throttles: Iterable[str] | None = None,
    ) -> str:
        """Add a recurring job that puts a job every `interval` s, first after `offset` s.

        `backlog` caps how many missed runs are put at once after a pause.
        Returns its jid.
        """
        name = klass_name(klass)
        encoded = dump_data(data)
        check_seconds(interval, "interval")
        if interval == 0:
            raise InvalidArgumentError("interval 0 is invalid; pass a number of seconds > 0")
        check_seconds(offset, "offset")
        check_int(priority, "priority")
        check_int(retries, "retries", minimum=0)
        check_int(backlog, "backlog", minimum=0)
        tag_list = check_names(tags, "tags")
        jid = uuid.uuid4().hex if jid is None else check_jid(jid)
        options: list[Any] = [
            "priority", priority,
            "tags", dump_data(tag_list, "tags"),
            "retries", retries,
            "backlog", backlog,
        ]
        if throttles is not None:
            self.client.require_throttles("recur(throttles=...)")
            options += ["throttles", dump_data(check_names(throttles, "throttles"), "throttles")]
        reply = self.client.call(
            "recur", self.name, jid, name, encoded, "interval", interval, offset, *options
        )
        return str(reply)

    @overload
    def pop(self, count: None = None) -> Job | None: ...

    @overload
    def pop(self, count: int) -> list[Job]: ...

    def pop(self, count: int | None = None) -> Job | None | list[Job]:
        """Lease jobs to this client's worker.

        Without `count`, return one Job or None when none is available; with
        `count`, return a list of up to `count` Jobs.
        """
        wanted = 1 if count is None else check_int(count, "count", minimum=1)
        reply = self.client.call("pop", self.name, self.worker_name, wanted)
        jobs = [Job(self.client, record) for record in as_list(loads(reply))]
        if count is None:
            return jobs[0] if jobs else None
        return jobs

    @overload
    def peek(self, count: None = None) -> Job | None: ...

    @overload
    def peek(self, count: int) -> list[Job]: ...

    def peek(self, count: int | None = None) -> Job | None | list[Job]:
        """Return the jobs `pop` would lease next, without leasing them (as `pop`)."""
        wanted = 1 if count is None else check_int(count, "count", minimum=1)
        if self.client.core_has_worker_put:
            # The worker-put edition's peek takes (queue, offset, count).
            reply = self.client.call("peek", self.name, 0, wanted)
        else:
            reply = self.client.call("peek", self.name, wanted)
        jobs = [Job(self.client, record) for record in as_list(loads(reply))]
        if count is None:
            return jobs[0] if jobs else None
        return jobs

    def stats(self, date: float | None = None) -> dict[str, Any]:
        """Return the day's wait and run statistics (count, mean, std, histogram).

        `date` is any time in that day, in seconds since the epoch; the
        default is now by the client's clock.
        """
        when = self.client.clock.now() if date is None else check_seconds(date, "date")
        stats: dict[str, Any] = loads(self.client.call("stats", self.name, when))
        for section in ("wait", "run"):
            if isinstance(stats.get(section), dict):
                stats[section]["histogram"] = as_list(stats[section].get("histogram"))
        return stats

    @property
    def length(self) -> int:
        """The number of jobs waiting, scheduled and running in this queue."""
        return int(self.client.call("length", self.name))

    def __len__(self) -> int:
        return self.length

    @property
    def counts(self) -> dict[str, Any]:
        """The queue's job counts by state, and whether it is paused."""
        counts: dict[str, Any] = loads(self.client.call("queues", self.name))
        return counts

    def pause(self) -> None:
        """Stop `pop` from leasing this queue's jobs until `unpause`."""
        self.client.call("pause", self.name)

    def unpause(self) -> None:
        """Let `pop` lease this queue's jobs again."""
        self.client.call("unpause", self.name)

    @property
    def paused(self) -> bool:
        """Whether the queue is paused."""
        return bool(self.counts.get("paused"))

    @property
    def heartbeat(self) -> QueueHeartbeat:
        """The queue's lease length in seconds (`<queue>-heartbeat`, else `heartbeat`).

        Setting it stores `<queue>-heartbeat` in qless's config. Calling it,
        `queue.heartbeat(job)`, renews a job's lease.
        """
        config = self.client.config.all
        seconds = config.get(f"{self.name}-heartbeat", config.get("heartbeat", 60))
        return QueueHeartbeat(int(float(seconds)), self)

    @heartbeat.setter
    def heartbeat(self, seconds: int) -> None:
        check_int(seconds, "heartbeat", minimum=1)
        self.client.config[f"{self.name}-heartbeat"] = seconds

    def complete(self, job: Job) -> str:
        """Complete `job`, saving its data (see `Job.complete`)."""
        return self._own(job, "complete").complete()

    @property
    def throttle(self) -> Throttle:
        """The queue's own throttle, which caps its running jobs (cores with throttles)."""
        self.client.require_throttles("queue.throttle")
        return Throttle(self.client, f"ql:q:{self.name}")

    def __repr__(self) -> str:
        return f"<Queue {self.name}>"
