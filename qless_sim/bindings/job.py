"""Job and RecurringJob: qless-core's job records, with the methods qless-py users know."""

from __future__ import annotations

import importlib
import traceback
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError, JobNotFoundError, QlessError
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
    loads_twice,
)

if TYPE_CHECKING:
    from .client import Client
    from .queue import Queue


def import_klass(name: str) -> Any:
    """Import the class named by a dotted `name` such as ``app.jobs.Resize``.

    Nested classes (``module.Outer.Inner``) resolve too: the longest importable
    module prefix is imported and the rest is looked up as attributes.
    """
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            target: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # Only a missing prefix of `name` means "try a shorter module";
            # a module that fails on its own missing import is a real error.
            if error.name is not None and module_name.startswith(error.name):
                continue
            raise
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(f"klass {name!r} names no importable module", name=name)


class _BaseJob:
    """The fields jobs and recurring jobs share: identity, klass, queue, tags, data."""

    def __init__(self, client: Client, record: dict[str, Any]) -> None:
        self.client = client
        self.jid: str = record["jid"]
        self.klass_name: str = record["klass"]
        self.queue_name: str = record["queue"]
        self._priority: int = record["priority"]
        self.tags: list[str] = as_list(record.get("tags"))
        self.throttles: list[str] = as_list(record.get("throttles"))
        self._data: Any = loads(record["data"])

    @property
    def data(self) -> Any:
        """The job's data, decoded from JSON (a dict for jobs put with a dict)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value

    @property
    def id(self) -> str:
        """The job's jid."""
        return self.jid

    @property
    def queue(self) -> Queue:
        """The Queue the job is in."""
        return self.client.queue(self.queue_name)

    @property
    def klass(self) -> Any:
        """The class named by `klass_name`, imported on each access."""
        return import_klass(self.klass_name)

    def __getitem__(self, key: str) -> Any:
        """Return `data[key]`, or None when the key is missing (as qless-py does)."""
        return self.data.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        """Set `data[key]`; it is saved by the next heartbeat, complete or fail."""
        self.data[key] = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.klass_name} {self.jid}>"


class Job(_BaseJob):
    """A job record as qless-core returned it, plus the commands that act on it.

    Fields are a snapshot from the time the record was read; the methods
    update the fields they change (priority, tags, tracked, expires_at).
    """

    def __init__(self, client: Client, record: dict[str, Any]) -> None:
        super().__init__(client, record)
        self.state: str = record["state"]
        self.tracked: bool = bool(record["tracked"])
        # qless-core writes `{}` for a job that has not failed.
        self.failure: dict[str, Any] = record.get("failure") or {}
        self.history: list[dict[str, Any]] = as_list(record.get("history"))
        self.dependents: list[str] = as_list(record.get("dependents"))
        self.dependencies: list[str] = as_list(record.get("dependencies"))
        self.expires_at: float = float(record["expires"])
        self.original_retries: int = record["retries"]
        self.retries_left: int = record["remaining"]
        # qless-core writes '' for the worker of a job that is not running.
        self.worker_name: str = record["worker"]
        self.spawned_from_jid: str | None = record.get("spawned_from_jid") or None

    @property
    def priority(self) -> int:
        """The job's priority; setting it saves it in qless (higher pops first)."""
        return self._priority

    @priority.setter
    def priority(self, value: int) -> None:
        check_int(value, "priority")
        try:
            self.client.call("priority", self.jid, value)
        except QlessError as error:
            # qless-core (d15c37c and reqless 0.13) compares the missing job's
            # queue with nil, but Redis returns false, so a missing job fails
            # further on with this message instead of "does not exist".
            if error.message != "Queue(): no queue name provided":
                raise
            raise JobNotFoundError(
                f"Priority(): Job {self.jid} does not exist", error.reply, "priority"
            ) from None
        self._priority = value

    @property
    def worker(self) -> str:
        """The worker holding the job's lease ('' when no worker holds it)."""
        return self.worker_name

    @property
    def expires(self) -> float:
        """When the lease ends, in seconds since the epoch (0 when not running)."""
        return self.expires_at

    @property
    def ttl(self) -> float:
        """Seconds left on the lease by the client's clock (negative once expired)."""
        return self.expires_at - self.client.clock.now()

    def remaining(self) -> float:
        """Return the seconds left on the lease, by the client's clock."""
        return self.ttl

    def heartbeat(self) -> float:
        """Renew the lease and save `data`; return the new `expires_at`.

        Raises `LostLockError` if another worker has the job or it is no
        longer running, and `JobNotFoundError` if it was canceled.
        """
        reply = self.client.call(
            "heartbeat", self.jid, self.client.worker_name, dump_data(self.data)
        )
        # NOTE: qless-core returns the new expiry as a Lua number, which Redis
        # truncates to an integer reply. With a clock at a fractional second,
        # the local `expires_at` is up to 1 s early until the job is read again.
        self.expires_at = float(reply)
        return self.expires_at

    def complete(
        self,
        next: str | None = None,
        delay: float = 0,
        depends: Iterable[str] | None = None,
    ) -> str:
        """Complete the job, saving `data`; with `next`, move it on to that queue.

        Returns the job's new state ('complete', or 'waiting', 'scheduled' or
        'depends' in `next`). Raises `LostLockError` if the worker lost the job.
        """
        data = dump_data(self.data)
        if next is None:
            if delay or depends:
                raise InvalidArgumentError(
                    f"complete(delay={delay!r}, depends={depends!r}) without next: a delay "
                    "and dependencies only apply when the job moves on; pass next=<queue name>"
                )
            args: list[Any] = []
        else:
            check_name(next, "next queue")
            check_seconds(delay, "delay")
            jids = check_names(depends or (), "depends")
            args = ["next", next, "delay", delay, "depends", dump_data(jids, "depends")]
        reply = self.client.call(
            "complete", self.jid, self.client.worker_name, self.queue_name, data, *args
        )
        return str(reply)

    def fail(self, group: str, message: str) -> str:
        """Fail the job in failure `group` with `message`, saving `data`; return the jid."""
        check_name(group, "group")
        if not isinstance(message, str):
            raise InvalidArgumentError(f"message {message!r} is not a str; pass a str")
        reply = self.client.call(
            "fail", self.jid, self.client.worker_name, group, message, dump_data(self.data)
        )
        return str(reply)

    def retry(self, delay: float = 0, group: str | None = None, message: str | None = None) -> int:
        """Give the job back to its queue after `delay` seconds, using up one retry.

        With `group` and `message` (both or neither), a job that has no retries
        left fails with them. Returns the retries left, negative when it failed.
        """
        check_seconds(delay, "delay")
        args: list[Any] = [delay]
        if (group is None) != (message is None):
            raise InvalidArgumentError(
                f"retry(group={group!r}, message={message!r}): pass both group and message "
                "or neither"
            )
        if group is not None and message is not None:
            args.extend([check_name(group, "group"), message])
        reply = self.client.call(
            "retry", self.jid, self.queue_name, self.client.worker_name, *args
        )
        return int(reply)

    def cancel(self) -> list[str]:
        """Delete the job (and, with it, its record and history); return the canceled jids."""
        return as_list(self.client.call("cancel", self.jid))

    def move(self, queue: str, delay: float = 0, depends: Iterable[str] | None = None) -> str:
        """Put the job into `queue`, keeping its klass, data, priority, tags and retries.

        A worker that held it gets `LostLockError` on its next heartbeat.
        """
        return self.client.queue(queue).move_job(self, delay=delay, depends=depends)

    def track(self) -> None:
        """Start tracking the job (qless's 'track' event and `jobs.tracked()`)."""
        self.client.track(self.jid)
        self.tracked = True

    def untrack(self) -> None:
        """Stop tracking the job."""
        self.client.untrack(self.jid)
        self.tracked = False

    def tag(self, *tags: str) -> list[str]:
        """Add `tags`; return the job's tags afterwards."""
        names = check_names(tags, "tags")
        self.tags = as_list(loads_twice(self.client.call("tag", "add", self.jid, *names)))
        return self.tags

    def untag(self, *tags: str) -> list[str]:
        """Remove `tags`; return the job's tags afterwards."""
        names = check_names(tags, "tags")
        self.tags = as_list(loads_twice(self.client.call("tag", "remove", self.jid, *names)))
        return self.tags

    def depend(self, *jids: str) -> bool:
        """Add `jids` to the dependencies of a job already in the 'depends' state."""
        names = check_names(jids, "jids")
        return bool(self.client.call("depends", self.jid, "on", *names))

    def undepend(self, *jids: str, all: bool = False) -> bool:
        """Remove `jids` (or, with all=True, every dependency) from the job's dependencies."""
        if all:
            if jids:
                raise InvalidArgumentError(
                    f"undepend({', '.join(map(repr, jids))}, all=True): pass jids or all=True, "
                    "not both"
                )
            return bool(self.client.call("depends", self.jid, "off", "all"))
        names = check_names(jids, "jids")
        return bool(self.client.call("depends", self.jid, "off", *names))

    def timeout(self) -> None:
        """End the job's lease now, as if it had expired (qless-core's `timeout`)."""
        self.client.call("timeout", self.jid)

    def log(self, message: str, data: dict[str, Any] | None = None) -> None:
        """Append an entry with `message` (and `data`) to the job's history."""
        check_name(message, "message")
        args: list[Any] = [message]
        if data is not None:
            args.append(dump_data(data, "log data"))
        self.client.call("log", self.jid, *args)

    def process(self) -> None:
        """Run the job's klass method for its queue, as qless-py's worker does.

        The method is `klass.<queue name>`, else `klass.process`; it must be a
        plain function (a staticmethod) taking the job. An import error, a
        missing or non-static method, or an exception from the method fails the
        job with group `<queue>-<ExceptionType>` (or `<queue>-method-missing`,
        `<queue>-method-type`), as qless-py 0.11 does. The method itself is
        expected to complete the job.
        """
        queue = self.queue_name
        try:
            klass = self.klass
        except Exception as error:
            self.fail(f"{queue}-{type(error).__name__}", f"Failed to import {self.klass_name}")
            return

        method = getattr(klass, queue, getattr(klass, "process", None))
        if method is None:
            self.fail(
                f"{queue}-method-missing",
                f'{self.klass_name} is missing a method "{queue}" or "process"',
            )
            return
        if not isinstance(method, types.FunctionType):
            self.fail(f"{queue}-method-type", f"{method!r} is not static")
            return

        try:
            method(self)
        except Exception as error:
            self.fail(f"{queue}-{type(error).__name__}", traceback.format_exc())


class RecurringJob(_BaseJob):
    """A recurring job: a template qless-core copies into its queue every `interval` s.

    Setting `priority`, `retries`, `interval`, `backlog`, `data` or `klass`
    saves the change in qless.
    """

    def __init__(self, client: Client, record: dict[str, Any]) -> None:
        super().__init__(client, record)
        self.state: str = record.get("state", "recur")
        self._retries: int = record["retries"]
        self._interval: float = record["interval"]
        self._backlog: int = record.get("backlog") or 0
        self.count: int = record["count"]

    def _update(self, key: str, value: Any) -> None:
        self.client.call("recur.update", self.jid, key, value)

    @property
    def priority(self) -> int:
        """The priority of each job it spawns."""
        return self._priority

    @priority.setter
    def priority(self, value: int) -> None:
        self._update("priority", check_int(value, "priority"))
        self._priority = value

    @property
    def retries(self) -> int:
        """The retries each spawned job gets."""
        return self._retries

    @retries.setter
    def retries(self, value: int) -> None:
        self._update("retries", check_int(value, "retries", minimum=0))
        self._retries = value

    @property
    def interval(self) -> float:
        """Seconds between two spawned jobs."""
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        check_seconds(value, "interval")
        if value == 0:
            raise InvalidArgumentError("interval 0 is invalid; pass a number of seconds > 0")
        self._update("interval", value)
        self._interval = value

    @property
    def backlog(self) -> int:
        """How many missed runs are caught up at most when the queue is next popped."""
        return self._backlog

    @backlog.setter
    def backlog(self, value: int) -> None:
        self._update("backlog", check_int(value, "backlog", minimum=0))
        self._backlog = value

    @property
    def data(self) -> Any:
        """The data each spawned job gets; setting it saves it in qless."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._update("data", dump_data(value))
        self._data = value

    @property
    def klass(self) -> Any:
        """The class named by `klass_name`; setting a class or dotted name saves it."""
        return import_klass(self.klass_name)

    @klass.setter
    def klass(self, value: type | str) -> None:
        name = klass_name(value)
        self._update("klass", name)
        self.klass_name = name

    @property
    def next(self) -> float | None:
        """When it next spawns a job, in seconds since the epoch (None once canceled)."""
        score = self.client.redis.zscore(f"ql:q:{self.queue_name}-recur", self.jid)
        return None if score is None else float(score)

    def move(self, queue: str) -> None:
        """Attach the recurring job to `queue`."""
        self._update("queue", check_name(queue, "queue"))
        self.queue_name = queue

    def cancel(self) -> None:
        """Stop spawning jobs and delete the recurring job."""
        self.client.call("unrecur", self.jid)

    def tag(self, *tags: str) -> list[str]:
        """Add `tags` to the recurring job (and to jobs it spawns); return its tags."""
        names = check_names(tags, "tags")
        reply = self.client.call("recur.tag", self.jid, *names)
        self.tags = as_list(loads(reply))
        return self.tags

    def untag(self, *tags: str) -> list[str]:
        """Remove `tags` from the recurring job; return its tags."""
        names = check_names(tags, "tags")
        reply = self.client.call("recur.untag", self.jid, *names)
        self.tags = as_list(loads(reply))
        return self.tags


def check_jids(jids: Iterable[str]) -> list[str]:
    """Return `jids` as a list after checking each one."""
    return [check_jid(jid) for jid in jids]
