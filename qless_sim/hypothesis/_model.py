"""A pure-Python reference model of qless-core job lifecycles (reqless 0.13 edition).

The model is written from qless's documented behaviour and checked against the
real script by `JobLifecycleMachine`: every rule compares its prediction with
what the script returned, and every invariant compares the model's state with
what qless reports. It covers the commands the machine issues, not all of qless.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

# reqless 0.13's defaults: `heartbeat` (lease length, s), `grace-period` (s a
# lapsed lease is kept after the worker is sent `lock_lost`) and
# `max-job-history` (entries kept per job; the first entry always survives).
DEFAULT_HEARTBEAT = 60
DEFAULT_GRACE_PERIOD = 10
MAX_JOB_HISTORY = 100


def cjson_roundtrip(value: Any) -> Any:
    """Return `value` as it reads after Redis's cjson decoded and encoded it again.

    cjson cannot tell an empty array from an empty object and writes `{}` for
    both, and it prints numbers with 14 significant digits (Redis 7.0 lua-cjson).
    """
    if isinstance(value, dict):
        return {key: cjson_roundtrip(item) for key, item in value.items()}
    if isinstance(value, list):
        return [cjson_roundtrip(item) for item in value] if value else {}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.loads(f"{value:.14g}")
    return value


@dataclass(frozen=True)
class ExpectedError:
    """A qless-core error the model predicts: the bindings' exception type and message."""

    kind: str
    messages: frozenset[str]

    def describe(self) -> str:
        return f"{self.kind}({' | '.join(sorted(self.messages))!r})"


def _error(kind: str, *messages: str) -> ExpectedError:
    return ExpectedError(kind, frozenset(messages))


@dataclass
class ModelJob:
    """One job in the model; its queue-set membership is for `queue`."""

    jid: str
    klass: str
    data: Any
    queue: str
    state: str
    priority: int
    tags: list[str]
    retries: int
    remaining: int
    worker: str = ""
    expires: float = 0
    failure: dict[str, Any] = field(default_factory=dict)
    dependencies: set[str] = field(default_factory=set)
    dependents: set[str] = field(default_factory=set)
    history: list[dict[str, Any]] = field(default_factory=list)
    spawned_from_jid: str | None = None
    # qless-core's `grace` flag: the lease already lapsed once and the worker
    # was sent `lock_lost`. It stays set until a retry or a handover clears it.
    grace: bool = False
    # The `scheduled` hash field a job put with a delay and dependencies keeps
    # until its dependencies complete.
    depends_scheduled: float | None = None
    # Scores in the queue's sorted sets, None when the job is not in that set.
    work: float | None = None
    lock: float | None = None
    scheduled: float | None = None
    depends: float | None = None


@dataclass
class ModelRecurring:
    """A recurring job template."""

    jid: str
    klass: str
    data: Any
    queue: str
    priority: int
    tags: list[str]
    retries: int
    interval: int
    backlog: int
    next: float
    count: int = 0


def work_score(now: float, priority: float) -> float:
    # qless-core orders a queue's waiting jobs by `priority - now / 1e10`,
    # highest first, and Redis breaks score ties by member, in reverse for ZREVRANGE.
    return priority - (now / 10000000000)


class QlessModel:
    """The reference model: jobs, recurring jobs, failed groups, tracking, pauses."""

    def __init__(
        self, heartbeat: int = DEFAULT_HEARTBEAT, grace_period: int = DEFAULT_GRACE_PERIOD
    ) -> None:
        self.lease_seconds = heartbeat
        self.grace_period = grace_period
        self.jobs: dict[str, ModelJob] = {}
        self.recurring: dict[str, ModelRecurring] = {}
        # Failed groups, newest jid first (qless-core LPUSHes).
        self.failed: dict[str, list[str]] = {}
        self.tracked: set[str] = set()
        self.paused: set[str] = set()
        self.known_queues: set[str] = set()
        self.completed: set[str] = set()
        # ql:w:<worker>:jobs: jid -> lease expiry, as qless-core keeps it.
        self.worker_jobs: dict[str, dict[str, float]] = {}

    # -- helpers -----------------------------------------------------------

    def _history(self, job: ModelJob, now: float, what: str, **item: Any) -> None:
        if len(job.history) > MAX_JOB_HISTORY - 1:
            job.history = [job.history[0], *job.history[-(MAX_JOB_HISTORY - 2):]]
        job.history.append({**item, "when": math.floor(now), "what": what})

    def _clear_sets(self, job: ModelJob) -> None:
        job.work = job.lock = job.scheduled = job.depends = None

    def _drop_worker_job(self, worker: str, jid: str) -> None:
        if worker:
            self.worker_jobs.get(worker, {}).pop(jid, None)

    def _add_to_failed(self, job: ModelJob, group: str) -> None:
        self.failed.setdefault(group, []).insert(0, job.jid)

    def _remove_from_failed(self, job: ModelJob) -> None:
        group = job.failure.get("group")
        if group in self.failed:
            self.failed[group] = [jid for jid in self.failed[group] if jid != job.jid]
            if not self.failed[group]:
                del self.failed[group]

    def _pop_job(self, now: float, worker: str, job: ModelJob) -> None:
        self._history(job, now, "popped", worker=worker)
        expires = now + self.lease_seconds
        self.worker_jobs.setdefault(worker, {})[job.jid] = expires
        job.worker = worker
        job.expires = expires
        job.state = "running"
        job.lock = expires

    def _release_dependents(self, now: float, job: ModelJob) -> None:
        for dependent_jid in sorted(job.dependents):
            dependent = self.jobs[dependent_jid]
            dependent.dependencies.discard(job.jid)
            if dependent.dependencies:
                continue
            dependent.depends = None
            if dependent.depends_scheduled is not None:
                dependent.scheduled = dependent.depends_scheduled
                dependent.state = "scheduled"
                dependent.depends_scheduled = None
            else:
                dependent.work = work_score(now, dependent.priority)
                dependent.state = "waiting"
        job.dependents = set()

    def _add_dependencies(self, job: ModelJob, depends: list[str]) -> None:
        for other_jid in depends:
            other = self.jobs.get(other_jid)
            if other is not None and other.state != "complete":
                other.dependents.add(job.jid)
                job.dependencies.add(other_jid)

    def queue_jobs(self, queue: str) -> list[ModelJob]:
        return [job for job in self.jobs.values() if job.queue == queue]

    def waiting_order(self, queue: str) -> list[str]:
        """Return the queue's waiting jids in the order pop leases them."""
        waiting = [job for job in self.queue_jobs(queue) if job.work is not None]
        waiting.sort(key=lambda job: (job.work, job.jid), reverse=True)
        return [job.jid for job in waiting]

    # -- commands ----------------------------------------------------------

    def put(
        self,
        now: float,
        worker: str,
        queue: str,
        jid: str,
        klass: str,
        data: Any,
        delay: float,
        priority: int | None = None,
        tags: list[str] | None = None,
        retries: int | None = None,
        depends: list[str] | None = None,
    ) -> str:
        """Put (or re-put, which moves) a job; `None` options keep the job's own values."""
        old = self.jobs.get(jid)
        depends = list(depends or [])
        if old is not None:
            priority = old.priority if priority is None else priority
            tags = list(old.tags) if tags is None else tags
            retries = old.retries if retries is None else retries
            if depends:
                # Dependencies left out of a non-empty `depends` are dropped;
                # an empty one keeps them all (qless-core only rewrites the set
                # when it is given jids).
                for dependency in list(old.dependencies):
                    if dependency not in depends:
                        old.dependencies.discard(dependency)
                        if dependency in self.jobs:
                            self.jobs[dependency].dependents.discard(jid)
            self._history(old, now, "put", q=queue)
            self._clear_sets(old)
            if old.worker:
                self._drop_worker_job(old.worker, jid)
            if old.state == "complete":
                self.completed.discard(jid)
            if old.state == "failed":
                self._remove_from_failed(old)
            job = old
            job.klass, job.data, job.queue = klass, data, queue
        else:
            priority = 0 if priority is None else priority
            tags = [] if tags is None else tags
            retries = 5 if retries is None else retries
            job = ModelJob(jid, klass, data, queue, "waiting", priority, [], retries, retries)
            self._history(job, now, "put", q=queue)
            self.jobs[jid] = job

        job.tags = list(tags)
        job.priority = priority
        job.retries = retries
        job.remaining = retries
        job.worker = ""
        job.expires = 0
        job.state = "scheduled" if delay > 0 else "waiting"
        self._add_dependencies(job, depends)

        if delay > 0:
            if job.dependencies:
                job.depends = now
                job.state = "depends"
                job.depends_scheduled = now + delay
            else:
                job.scheduled = now + delay
        elif job.dependencies:
            job.depends = now
            job.state = "depends"
        else:
            job.work = work_score(now, priority)
        self.known_queues.add(queue)
        return jid

    def _invalidate_locks(self, now: float, queue: str, count: int) -> list[str]:
        expired = [
            job for job in self.queue_jobs(queue) if job.lock is not None and job.lock <= now
        ]
        expired.sort(key=lambda job: (job.lock or 0, job.jid))
        handed_over: list[str] = []
        for job in expired[:count]:
            self._drop_worker_job(job.worker, job.jid)
            if not job.grace:
                # First pop after the lease lapsed: the worker is sent `lock_lost`,
                # and the job stays its for `grace-period` seconds.
                self._history(job, now, "timed-out")
                job.grace = True
                job.lock = now + self.grace_period
                continue
            job.grace = False
            job.remaining -= 1
            if job.remaining < 0:
                group = f"failed-retries-{job.queue}"
                self._clear_sets(job)
                self._history(job, now, "failed", group=group)
                job.failure = {
                    "group": group,
                    "message": f'Job exhausted retries in queue "{queue}"',
                    "when": now,
                    # qless-core clears the worker before it writes the failure.
                    "worker": "",
                }
                job.state, job.worker, job.expires = "failed", "", 0
                self._add_to_failed(job, group)
            else:
                handed_over.append(job.jid)
        return handed_over

    def _check_recurring(self, now: float, queue: str, count: int) -> None:
        if count <= 0:
            return
        due = [r for r in self.recurring.values() if r.queue == queue and 0 <= r.next <= now]
        due.sort(key=lambda r: (r.next, r.jid))
        moved = 0
        for template in due[:count]:
            score = math.floor(template.next)
            if template.backlog != 0:
                missed = (now - score) / template.interval
                if missed > template.backlog:
                    score = score + math.ceil(missed - template.backlog) * template.interval
            while score <= now and moved < count:
                template.count += 1
                moved += 1
                child = ModelJob(
                    jid=f"{template.jid}-{template.count}",
                    klass=template.klass,
                    data=template.data,
                    queue=queue,
                    state="waiting",
                    priority=template.priority,
                    tags=list(template.tags),
                    retries=template.retries,
                    remaining=template.retries,
                    spawned_from_jid=template.jid,
                )
                self._history(child, score, "put", q=queue)
                child.work = work_score(score, template.priority)
                self.jobs[child.jid] = child
                score += template.interval
                template.next = score

    def check_scheduled(self, now: float, queue: str, count: int | None = None) -> None:
        """Move due scheduled jobs to waiting (all of them when `count` is None)."""
        due = [job for job in self.queue_jobs(queue) if job.scheduled is not None]
        due = [job for job in due if job.scheduled is not None and 0 <= job.scheduled <= now]
        due.sort(key=lambda job: (job.scheduled, job.jid))
        if count is not None:
            if count <= 0:
                return
            due = due[:count]
        for job in due:
            job.work = work_score(now, job.priority)
            job.scheduled = None
            job.state = "waiting"

    def pop(self, now: float, queue: str, worker: str, count: int) -> list[str]:
        """Lease up to `count` jobs of `queue` to `worker`; return their jids in order."""
        if queue in self.paused:
            return []
        popped = []
        for jid in self._invalidate_locks(now, queue, count):
            self._pop_job(now, worker, self.jobs[jid])
            popped.append(jid)
        self._check_recurring(now, queue, count - len(popped))
        self.check_scheduled(now, queue, count - len(popped))
        wanted = count - len(popped)
        if wanted > 0:
            for jid in self.waiting_order(queue)[:wanted]:
                job = self.jobs[jid]
                self._pop_job(now, worker, job)
                job.work = None
                popped.append(jid)
        return popped

    def _check_running(self, command: str, jid: str, worker: str) -> ExpectedError | None:
        job = self.jobs.get(jid)
        if job is None:
            return _error("JobNotFoundError", f"{command}(): Job does not exist")
        if job.state != "running":
            wording = {
                "Heartbeat": "Job not currently running",
                "Complete": "Job is not currently running",
                "Fail": "Job not currently running",
                "Retry": "Job is not currently running",
            }[command]
            return _error("LostLockError", f"{command}(): {wording}: {job.state}")
        if job.worker != worker:
            wording = {
                "Heartbeat": "Job given out to another worker",
                "Complete": "Job has been handed out to another worker",
                "Fail": "Job running with another worker",
                "Retry": "Job has been given to another worker",
            }[command]
            return _error("LostLockError", f"{command}(): {wording}: {job.worker}")
        return None

    def heartbeat(self, now: float, jid: str, worker: str, data: Any) -> float | ExpectedError:
        error = self._check_running("Heartbeat", jid, worker)
        if error is not None:
            return error
        job = self.jobs[jid]
        expires = now + self.lease_seconds
        job.expires = expires
        job.data = cjson_roundtrip(data)
        self.worker_jobs.setdefault(worker, {})[jid] = expires
        job.lock = expires
        return expires

    def complete(
        self,
        now: float,
        jid: str,
        worker: str,
        data: Any,
        next_queue: str | None = None,
        delay: float = 0,
        depends: list[str] | None = None,
    ) -> str | ExpectedError:
        error = self._check_running("Complete", jid, worker)
        if error is not None:
            return error
        job = self.jobs[jid]
        self._history(job, now, "done")
        job.data = data
        self._clear_sets(job)
        self._drop_worker_job(worker, jid)
        job.worker, job.failure, job.expires = "", {}, 0
        job.remaining = job.retries
        if next_queue is not None:
            self._history(job, now, "put", q=next_queue)
            self.known_queues.add(next_queue)
            job.queue = next_queue
            job.state = "waiting"
            depends = depends or []
            if delay > 0 and not depends:
                # NOTE: reqless 0.13 leaves the job's state 'waiting' here although
                # it is in the queue's scheduled set; the model keeps that state.
                job.scheduled = now + delay
                return "scheduled"
            self._add_dependencies(job, depends)
            if job.dependencies:
                job.depends = now
                job.state = "depends"
                if delay > 0:
                    job.depends_scheduled = now + delay
                return "depends"
            job.work = work_score(now, job.priority)
            return "waiting"
        job.state = "complete"
        job.queue = ""
        self.completed.add(jid)
        # NOTE: completed jobs are kept for `jobs-history` (7 days) and
        # `jobs-history-count` (50,000) in qless-core; the model never expires
        # them, so runs must keep their clocks under 7 days.
        self._release_dependents(now, job)
        return "complete"

    def fail(
        self, now: float, jid: str, worker: str, group: str, message: str, data: Any
    ) -> str | ExpectedError:
        error = self._check_running("Fail", jid, worker)
        if error is not None:
            return error
        job = self.jobs[jid]
        self._drop_worker_job(worker, jid)
        self._history(job, now, "failed", worker=worker, group=group)
        self._clear_sets(job)
        job.data = cjson_roundtrip(data)
        job.state, job.worker, job.expires = "failed", "", 0
        job.failure = {
            "group": group, "message": message, "when": math.floor(now), "worker": worker,
        }
        self._add_to_failed(job, group)
        return jid

    def retry(
        self,
        now: float,
        jid: str,
        queue: str,
        worker: str,
        delay: float,
        group: str | None = None,
        message: str | None = None,
    ) -> int | ExpectedError:
        error = self._check_running("Retry", jid, worker)
        if error is not None:
            return error
        job = self.jobs[jid]
        old_queue = job.queue
        job.remaining -= 1
        job.grace = False
        job.lock = None
        self._drop_worker_job(worker, jid)
        if job.remaining < 0:
            group = group or f"failed-retries-{queue}"
            self._history(job, now, "failed", group=group)
            job.state, job.worker, job.expires = "failed", "", 0
            if message is not None:
                job.failure = {
                    "group": group, "message": message, "when": math.floor(now), "worker": worker,
                }
            else:
                job.failure = {
                    "group": group,
                    "message": f'Job exhausted retries in queue "{old_queue}"',
                    "when": now,
                    # qless-core clears the worker before it writes the failure.
                    "worker": "",
                }
            self._add_to_failed(job, group)
        else:
            if delay > 0:
                job.scheduled = now + delay
                job.state = "scheduled"
            else:
                job.work = work_score(now, job.priority)
                job.state = "waiting"
            if group is not None and message is not None:
                job.failure = {
                    "group": group, "message": message, "when": math.floor(now), "worker": worker,
                }
        return math.floor(job.remaining)

    def cancel(self, jids: list[str]) -> list[str] | ExpectedError:
        for jid in jids:
            job = self.jobs.get(jid)
            outside = sorted(job.dependents - set(jids)) if job is not None else []
            if outside:
                # Redis's SMEMBERS order decides which dependent is named.
                return _error(
                    "QlessError",
                    *(
                        f"Cancel(): {jid} is a dependency of {dependent} "
                        "but is not mentioned to be canceled"
                        for dependent in outside
                    ),
                )
        for jid in jids:
            job = self.jobs.get(jid)
            if job is None or job.state == "complete":
                continue
            self._drop_worker_job(job.worker, jid)
            for dependency in job.dependencies:
                if dependency in self.jobs:
                    self.jobs[dependency].dependents.discard(jid)
            if job.state == "failed":
                self._remove_from_failed(job)
            del self.jobs[jid]
        return list(jids)

    def priority(self, jid: str, priority: int) -> int | ExpectedError:
        job = self.jobs.get(jid)
        if job is None:
            return _error("JobNotFoundError", f"Priority(): Job {jid} does not exist")
        if job.queue and job.work is not None:
            # qless-core rescores a waiting job as if put at time 0, so it pops
            # ahead of every other waiting job of the same priority.
            job.work = work_score(0, priority)
        job.priority = priority
        return priority

    def tag(self, jid: str, tags: list[str]) -> list[str] | ExpectedError:
        job = self.jobs.get(jid)
        if job is None:
            return _error("JobNotFoundError", f"Tag(): Job {jid} does not exist")
        for tag in tags:
            if tag not in job.tags:
                job.tags.append(tag)
        return list(job.tags)

    def untag(self, jid: str, tags: list[str]) -> list[str] | ExpectedError:
        job = self.jobs.get(jid)
        if job is None:
            return _error("JobNotFoundError", f"Tag(): Job {jid} does not exist")
        job.tags = [tag for tag in job.tags if tag not in tags]
        return list(job.tags)

    def track(self, jid: str, on: bool) -> None | ExpectedError:
        if jid not in self.jobs:
            return _error("JobNotFoundError", "Track(): Job does not exist")
        if on:
            self.tracked.add(jid)
        else:
            self.tracked.discard(jid)
        return None

    def depends(
        self, now: float, jid: str, on: bool, jids: list[str] | None
    ) -> bool | ExpectedError:
        """`depends on` with `jids`, or `depends off` with `jids` (None: all)."""
        job = self.jobs.get(jid)
        state = job.state if job is not None else None
        if job is None or job.state != "depends":
            # A missing job's state field reads as Redis's nil reply, which
            # Redis 7 scripting turns into Lua `false`, and qless-core prints it.
            shown = "false" if state is None else state
            return _error(
                "QlessError", f"Depends(): Job {jid} not in the depends state: {shown}"
            )
        if on:
            self._add_dependencies(job, jids or [])
            return True
        if jids is None:
            for other in job.dependencies:
                if other in self.jobs:
                    self.jobs[other].dependents.discard(jid)
            job.dependencies = set()
            self._release(now, job)
            return True
        for other in jids:
            if other in self.jobs:
                self.jobs[other].dependents.discard(jid)
            job.dependencies.discard(other)
            if not job.dependencies:
                self._release(now, job)
        return True

    def _release(self, now: float, job: ModelJob) -> None:
        # `depends off` sends the job straight to waiting, even when it was
        # put with a delay (qless-core keeps that delay only for a release by
        # a completed dependency).
        job.depends = None
        job.work = work_score(now, job.priority)
        job.state = "waiting"

    def timeout(self, now: float, jid: str) -> None | ExpectedError:
        job = self.jobs.get(jid)
        if job is None or job.state != "running":
            return _error("QlessError", f"Timeout(): Job {jid} not running")
        self._history(job, now, "timed-out")
        job.lock = None
        job.work = math.inf
        job.state = "stalled"
        job.expires = 0
        return None

    def unfail(self, now: float, queue: str, group: str, count: int) -> int:
        members = self.failed.get(group, [])
        taken = members[-count:] if count > 0 else []
        for jid in taken:
            job = self.jobs[jid]
            self._history(job, now, "put", q=queue)
            job.state, job.worker, job.expires, job.queue = "waiting", "", 0, queue
            job.remaining = job.retries
            job.work = work_score(now, job.priority)
        remaining = members[: len(members) - len(taken)]
        if remaining:
            self.failed[group] = remaining
        else:
            self.failed.pop(group, None)
        return len(taken)

    def recur(
        self,
        now: float,
        queue: str,
        jid: str,
        klass: str,
        data: Any,
        interval: int,
        offset: int,
        priority: int,
        tags: list[str],
        retries: int,
        backlog: int,
    ) -> str:
        old = self.recurring.get(jid)
        count = old.count if old is not None else 0
        self.recurring[jid] = ModelRecurring(
            jid, klass, data, queue, priority, list(tags), retries, interval, backlog,
            now + offset, count,
        )
        self.known_queues.add(queue)
        return jid

    def unrecur(self, jid: str) -> None:
        self.recurring.pop(jid, None)

    # -- queries the machine makes when it chooses a step --------------------

    def has_work(self, now: float, queue: str) -> bool:
        """Return whether a pop of `queue` at `now` would lease a job or change a lapsed lease.

        A paused queue counts too: popping it must return nothing.
        """
        for job in self.queue_jobs(queue):
            if job.work is not None:
                return True
            if job.lock is not None and job.lock <= now:
                return True
            if job.scheduled is not None and job.scheduled <= now:
                return True
        return any(r.queue == queue and 0 <= r.next <= now for r in self.recurring.values())

    def deadlines(self, now: float) -> list[float]:
        """Return the future times at which a pop would find something new, soonest first.

        These are lease expiries, ends of grace periods, scheduled jobs' times
        and recurring jobs' next runs.
        """
        times = set()
        for job in self.jobs.values():
            for score in (job.lock, job.scheduled):
                if score is not None and score > now:
                    times.add(score)
        times.update(r.next for r in self.recurring.values() if r.next > now)
        return sorted(times)

    def jobs_in_state(self, *states: str) -> list[str]:
        """Return the jids of jobs in one of `states`, newest first."""
        return [jid for jid, job in reversed(self.jobs.items()) if job.state in states]

    def live_leases(self) -> list[tuple[str, str]]:
        """Return (worker, jid) for every running job, newest first."""
        return [
            (job.worker, jid)
            for jid, job in reversed(self.jobs.items())
            if job.state == "running"
        ]

    # -- what qless reports ------------------------------------------------

    def places(self, jid: str) -> list[str]:
        """Return where qless keeps `jid`: `<queue>-<set>`, `failed:<group>` or `complete`."""
        job = self.jobs[jid]
        if job.state == "failed":
            return [f"failed:{job.failure['group']}"]
        if job.state == "complete":
            return ["complete"]
        sets = {"work": job.work, "locks": job.lock, "scheduled": job.scheduled,
                "depends": job.depends}
        return [f"{job.queue}-{name}" for name, score in sets.items() if score is not None]

    def counts(self, now: float, queue: str) -> dict[str, Any]:
        """Return `queues <name>`'s reply; like qless-core, promote due scheduled jobs first."""
        jobs = self.queue_jobs(queue)
        stalled = sum(1 for job in jobs if job.lock is not None and job.lock <= now)
        self.check_scheduled(now, queue)
        return {
            "name": queue,
            "waiting": sum(1 for job in jobs if job.work is not None),
            "stalled": stalled,
            "running": sum(1 for job in jobs if job.lock is not None) - stalled,
            "throttled": 0,
            "scheduled": sum(1 for job in jobs if job.scheduled is not None),
            "depends": sum(1 for job in jobs if job.depends is not None),
            "recurring": sum(1 for r in self.recurring.values() if r.queue == queue),
            "paused": queue in self.paused,
        }
