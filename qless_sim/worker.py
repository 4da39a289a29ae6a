"""Synchronous workers for tests: run job code in the test's own thread, jump the clock.

`Worker` pops jobs from its queues in order and runs each one with
`Job.process()`, the way qless-py's workers do, then reads the job back to
tell what the code did with it. `Worker.drain(advance_clock=True)` also moves
the `SimClock` to the next moment something becomes due (a delayed job, a
retry delay, a recurring job, a lapsed lease), so a test runs through
hours of schedule without sleeping. `StalledWorker` pops jobs and then stops
heartbeating them, as a worker that hung or died mid-job.

Everything runs in the calling thread: no threads, forks, signals or sleeps.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, get_args

from .bindings import Client, Job, Queue
from .errors import InvalidArgumentError, JobNotFoundError, LostLockError

if TYPE_CHECKING:
    from .clock import SimClock

__all__ = [
    "DEFAULT_MAX_JOBS",
    "JobRun",
    "Outcome",
    "StalledWorker",
    "StopReason",
    "WorkReport",
    "Worker",
    "run_job",
]

logger = logging.getLogger("qless_sim.worker")

# A drain stops after this many jobs unless `max_jobs` is given, because a
# recurring job or a job that puts itself back would keep it going forever.
DEFAULT_MAX_JOBS = 1000

Outcome = Literal["completed", "failed", "retried", "moved", "unfinished", "lost", "canceled"]
StopReason = Literal["drained", "idle", "max_jobs", "max_seconds"]

# Sorted sets scored by the time something in a queue becomes due. `-scheduled`
# scores delayed and retried jobs, `-recur` the next run of a recurring job and
# `-locks` the end of a lease or of its grace period (key names as in
# qless-core d15c37c and reqless 0.13).
_DUE_SETS = ("scheduled", "recur", "locks")

# Job counts by state in qless-core's `queues` reply that mean work is left.
_LEFT_STATES = ("waiting", "scheduled", "stalled", "running", "depends", "throttled", "recurring")


@dataclass(frozen=True)
class JobRun:
    """One job a worker popped and ran, and what the job's code did with it.

    `outcome` is read from the job after its code returned:

    * ``completed``: the job is complete, or was completed on to a `next` queue.
    * ``failed``: the job failed (`group` and `message` are its failure).
    * ``retried``: the code called `retry()`, so the job is back in its queue.
    * ``moved``: the code put the job into a queue again (`move()`).
    * ``unfinished``: the code returned without completing, failing or retrying
      the job, so it stays running until its lease lapses (as with qless-py).
    * ``lost``: the lease went to another worker (or the job left the running
      state), so the code's `complete()` or `fail()` raised `LostLockError`,
      which is kept in `error`.
    * ``canceled``: the job no longer exists.
    """

    jid: str
    queue: str
    klass: str
    outcome: Outcome
    state: str
    popped_at: float
    group: str | None = None
    message: str | None = None
    error: Exception | None = field(default=None, compare=False)


@dataclass
class WorkReport:
    """The record of a `Worker.drain()`: every job run, in order, and why it stopped.

    `processed`, `completed`, `failed`, `retried`, `moved`, `unfinished`,
    `lost` and `canceled` are jid lists in run order; a job run twice appears
    twice. `failures` maps each failure group to its jids. `states` is each
    job's state when the drain stopped, so it also shows a job that qless-core
    failed on its own after its lease lapsed once too often.
    """

    worker_name: str
    queues: tuple[str, ...]
    runs: list[JobRun]
    stopped_by: StopReason
    message: str
    started_at: float
    finished_at: float
    states: dict[str, str] = field(default_factory=dict)

    def _jids(self, outcome: Outcome) -> list[str]:
        return [run.jid for run in self.runs if run.outcome == outcome]

    @property
    def processed(self) -> list[str]:
        """The jids of every job run, in order."""
        return [run.jid for run in self.runs]

    @property
    def completed(self) -> list[str]:
        """The jids of jobs their code completed."""
        return self._jids("completed")

    @property
    def failed(self) -> list[str]:
        """The jids of jobs that failed while running (their code raised, or called `fail()`)."""
        return self._jids("failed")

    @property
    def retried(self) -> list[str]:
        """The jids of jobs their code gave back with `retry()`."""
        return self._jids("retried")

    @property
    def moved(self) -> list[str]:
        """The jids of jobs their code put into a queue again."""
        return self._jids("moved")

    @property
    def unfinished(self) -> list[str]:
        """The jids of jobs their code left running (no complete, fail or retry)."""
        return self._jids("unfinished")

    @property
    def lost(self) -> list[str]:
        """The jids of jobs another worker held by the time their code finished."""
        return self._jids("lost")

    @property
    def canceled(self) -> list[str]:
        """The jids of jobs that no longer existed once their code returned."""
        return self._jids("canceled")

    @property
    def failures(self) -> dict[str, list[str]]:
        """Failure group -> jids of the jobs that failed in it while their code ran."""
        # NOTE: a job qless-core fails inside a pop (``failed-retries-<queue>``,
        # once a lapsed lease has used up its retries) ran no code then, so it
        # is not listed here; `states` shows it as 'failed'.
        groups: dict[str, list[str]] = {}
        for run in self.runs:
            if run.outcome == "failed" and run.group is not None:
                groups.setdefault(run.group, []).append(run.jid)
        return groups

    @property
    def counts(self) -> dict[str, int]:
        """The number of runs with each outcome, and `processed` for all of them."""
        counts = {"processed": len(self.runs)}
        for outcome in get_args(Outcome):
            counts[outcome] = len(self._jids(outcome))
        return counts

    @property
    def hit_limit(self) -> bool:
        """Whether `max_jobs` or `max_seconds` stopped the drain before the work ran out."""
        return self.stopped_by in ("max_jobs", "max_seconds")

    @property
    def elapsed(self) -> float:
        """Simulated seconds between the start and the end of the drain."""
        return self.finished_at - self.started_at

    def __str__(self) -> str:
        return self.message


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _queue_names(queues: str | Queue | Iterable[str | Queue]) -> tuple[str, ...]:
    if isinstance(queues, (str, Queue)):
        queues = [queues]
    try:
        items = list(queues)
    except TypeError:
        raise InvalidArgumentError(
            f"queues {queues!r} is not a queue name or a list of them; "
            "pass e.g. 'testing' or ['high', 'low']"
        ) from None
    names: list[str] = []
    for item in items:
        name = item.name if isinstance(item, Queue) else item
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"queue {item!r} is invalid; pass a non-empty queue name or a Queue"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise InvalidArgumentError("queues is empty; pass at least one queue name")
    return tuple(names)


def _worker_client(client: Client, worker_name: str | None) -> Client:
    if not isinstance(client, Client):
        raise InvalidArgumentError(
            f"client {client!r} is not a qless_sim Client; pass qless_sim.client() "
            "or the qless_client fixture"
        )
    name = client.worker_name if worker_name is None else worker_name
    return Client(client.transport, worker_name=name)


def _history_since_pop(history: list[dict[str, Any]], worker_name: str) -> list[str]:
    """Return the `what` of each history entry after this worker's last pop of the job."""
    # NOTE: reqless 0.13 trims a job's history to its first entry and the
    # newest ones, `max-job-history` in all (100 by default); qless-core d15c37c
    # keeps every entry. Under reqless, a job whose code logs more than that per
    # run loses this pop's entry, and a complete(next=...) then reads as 'moved'.
    for index in range(len(history) - 1, -1, -1):
        entry = history[index]
        if entry.get("what") == "popped" and entry.get("worker") == worker_name:
            return [str(later.get("what")) for later in history[index + 1 :]]
    return []


def run_job(client: Client, job: Job) -> JobRun:
    """Run `job`'s code with `Job.process()` and read back what it did (see `JobRun`).

    `LostLockError` and `JobNotFoundError` raised while the code finishes the
    job become the ``lost`` and ``canceled`` outcomes. Any other error from
    qless (or from an injected fault) propagates.
    """
    popped_at = client.clock.now()

    def made(outcome: Outcome, state: str, **failure: Any) -> JobRun:
        return JobRun(job.jid, job.queue_name, job.klass_name, outcome, state, popped_at,
                      **failure)

    try:
        job.process()
    except LostLockError as error:
        first = _first_lost_lock(error)
        logger.info("job %s lost its lease while running: %s", job.jid, first.message)
        return made("lost", _state_of(client, job.jid), error=first)
    except JobNotFoundError as error:
        logger.info("job %s was canceled while running: %s", job.jid, error.message)
        return made("canceled", "", error=error)

    record = client.jobs[job.jid]
    if not isinstance(record, Job):
        return made("canceled", "")
    later = _history_since_pop(record.history, client.worker_name)
    state = record.state

    outcome: Outcome
    if state == "complete" or "done" in later:
        outcome = "completed"
    elif state == "failed":
        logger.debug("job %s failed in group %s", job.jid, record.failure.get("group"))
        return made("failed", state, group=record.failure.get("group"),
                    message=record.failure.get("message"))
    elif state == "running":
        outcome = "unfinished" if record.worker_name == client.worker_name else "lost"
    elif "put" in later or record.retries_left >= job.retries_left:
        # A put (move, or complete(next=...) whose 'done' entry was trimmed)
        # sets the retries left back to the job's retries.
        outcome = "moved"
    else:
        # retry() writes no history entry, but it uses up one retry.
        outcome = "retried"
    logger.debug("job %s (%s) in %s: %s", job.jid, job.klass_name, job.queue_name, outcome)
    return made(outcome, state)


def _first_lost_lock(error: LostLockError) -> LostLockError:
    """Return the `LostLockError` the job's code ran into, if process() then raised another.

    When the code's own complete() raises, process() fails the job, which
    raises again. The first error, found down the `__context__` chain past
    the transport's own reply errors, is the one the code ran into.
    """
    context = error.__context__
    while context is not None:
        if isinstance(context, LostLockError):
            return context
        context = context.__context__
    return error


def _state_of(client: Client, jid: str) -> str:
    record = client.jobs[jid]
    return record.state if isinstance(record, Job) else ""


class Worker:
    """A worker that runs job code synchronously, in the test's own thread.

    It pops from `queues` in the order given: a job is taken from the first
    queue that has one ready. Each job runs as qless-py runs it: its klass's
    method named after the queue, else `process`, is called with the job,
    and an exception fails the job in group ``<queue>-<ExceptionType>`` with
    the traceback as the message (see `Job.process`).

    The worker pops under `worker_name` (default: the client's) on the same
    data and clock as `client`.
    """

    def __init__(
        self,
        client: Client,
        queues: str | Queue | Iterable[str | Queue],
        *,
        worker_name: str | None = None,
    ) -> None:
        self.client = _worker_client(client, worker_name)
        self._queues = _queue_names(queues)

    @property
    def worker_name(self) -> str:
        """The worker name jobs are popped, heartbeaten and completed under."""
        return self.client.worker_name

    @property
    def queues(self) -> tuple[str, ...]:
        """The names of the queues popped from, first one first."""
        return self._queues

    @queues.setter
    def queues(self, value: str | Queue | Iterable[str | Queue]) -> None:
        self._queues = _queue_names(value)

    def pop(self) -> Job | None:
        """Lease the next job from the first queue that has one ready, or return None."""
        for name in self._queues:
            job = self.client.queue(name).pop()
            if job is not None:
                return job
        return None

    def work_one(self) -> JobRun | None:
        """Pop one job and run its code; return what happened, or None if nothing was ready."""
        job = self.pop()
        if job is None:
            return None
        return run_job(self.client, job)

    def next_due(self) -> float | None:
        """Return the earliest time something in the queues becomes due, or None.

        Reads the lowest score of qless-core's ``ql:q:<queue>-scheduled``,
        ``-recur`` and ``-locks`` sorted sets. They score the end of a delay or
        retry delay, the next run of a recurring job, and the end of a lease or
        of the grace period qless-core adds once a lease has lapsed.
        """
        redis = self.client.redis
        due: float | None = None
        for name in self._queues:
            for suffix in _DUE_SETS:
                first = redis.zrange(f"ql:q:{name}-{suffix}", 0, 0, withscores=True)
                if first:
                    score = float(first[0][1])
                    due = score if due is None else min(due, score)
        return due

    def drain(
        self,
        *,
        advance_clock: bool = False,
        max_jobs: int | None = DEFAULT_MAX_JOBS,
        max_seconds: float | None = None,
    ) -> WorkReport:
        """Run jobs until none is ready (or, with `advance_clock`, none is left).

        With `advance_clock=True`, whenever no job is ready the `SimClock` is
        set to `next_due()` and popping goes on, so delays, retry delays,
        recurring jobs and lapsed leases play out without sleeping. The drain
        stops after `max_jobs` jobs (default 1000; None for no limit) or before
        jumping more than `max_seconds` simulated seconds past its start. The
        report's `stopped_by` and `message` name the limit that stopped it.

        Raises `InvalidArgumentError` for a bad limit, or for `advance_clock`
        on a clock that cannot be set (such as `SystemClock`).
        """
        max_jobs = _check_max_jobs(max_jobs)
        max_seconds = _check_max_seconds(max_seconds)
        clock = self._settable_clock() if advance_clock else None
        started_at = self.client.clock.now()
        runs: list[JobRun] = []

        while True:
            if max_jobs is not None and len(runs) >= max_jobs:
                return self._report(runs, started_at, "max_jobs", advance_clock,
                                    max_jobs=max_jobs)

            run = self.work_one()
            if run is not None:
                runs.append(run)
                continue

            due = self.next_due()
            now = self.client.clock.now()
            if clock is None or due is None or due <= now:
                # The clock does not move, or nothing will become due, or what
                # is due cannot be popped (a paused queue or a throttle).
                return self._report(runs, started_at, None, advance_clock, due=due)
            if max_seconds is not None and due > started_at + max_seconds:
                return self._report(runs, started_at, "max_seconds", advance_clock,
                                    due=due, max_seconds=max_seconds)
            logger.debug("no job ready at %s; moving the clock to %s", _when(now), _when(due))
            clock.set(due)

    def _settable_clock(self) -> SimClock:
        clock = self.client.clock
        if not callable(getattr(clock, "set", None)):
            raise InvalidArgumentError(
                f"drain(advance_clock=True) needs a clock it can set, and {clock!r} has no "
                "set(); run the client on a SimClock (the default of qless_sim.client() and "
                "of the qless_client fixture)"
            )
        return clock  # type: ignore[return-value]

    def _left(self) -> dict[str, int]:
        """Return how many jobs are left in the worker's queues, by state."""
        left: dict[str, int] = {}
        for name in self._queues:
            counts = self.client.queue(name).counts
            for state in _LEFT_STATES:
                number = int(counts.get(state) or 0)
                if number:
                    left[state] = left.get(state, 0) + number
        return left

    def _report(
        self,
        runs: list[JobRun],
        started_at: float,
        limit: StopReason | None,
        advance_clock: bool,
        *,
        due: float | None = None,
        max_jobs: int | None = None,
        max_seconds: float | None = None,
    ) -> WorkReport:
        finished_at = self.client.clock.now()
        left = self._left()
        queues = ", ".join(repr(name) for name in self._queues)
        done = _summary(runs)
        remaining = ", ".join(f"{number} {state}" for state, number in left.items())

        stopped_by: StopReason
        if limit == "max_jobs" and left:
            stopped_by = "max_jobs"
            message = (
                f"stopped by max_jobs={max_jobs} after {done}; left in {queues}: {remaining}; "
                "raise max_jobs (or pass max_jobs=None) to run them"
            )
        elif limit == "max_seconds":
            assert due is not None and max_seconds is not None
            stopped_by = "max_seconds"
            message = (
                f"stopped by max_seconds={max_seconds:g} after {done}: the next job is due at "
                f"{_when(due)}, {due - started_at:g} s after the drain started; left in "
                f"{queues}: {remaining}; raise max_seconds to go on"
            )
        elif not left:
            stopped_by = "drained"
            message = f"drained {queues} after {done}"
        else:
            stopped_by = "idle"
            message = f"stopped with nothing ready in {queues} after {done}; left: {remaining}"
            if due is not None and due > finished_at and not advance_clock:
                message += (
                    f"; the next is due at {_when(due)} (in {due - finished_at:g} s): pass "
                    "advance_clock=True to jump there"
                )
            elif due is not None and due <= finished_at:
                message += " (due now, but a paused queue or a throttle holds it back)"

        jids = list(dict.fromkeys(run.jid for run in runs))
        states = {jid: "" for jid in jids}
        states.update({job.jid: job.state for job in self.client.jobs.get(*jids)})
        logger.info("worker %s: %s", self.worker_name, message)
        return WorkReport(self.worker_name, self._queues, runs, stopped_by, message,
                          started_at, finished_at, states)

    def __repr__(self) -> str:
        return f"Worker({self.worker_name!r}, queues={list(self._queues)!r})"


def _summary(runs: list[JobRun]) -> str:
    if not runs:
        return "0 jobs"
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.outcome] = counts.get(run.outcome, 0) + 1
    parts = ", ".join(f"{number} {outcome}" for outcome, number in counts.items())
    noun = "job" if len(runs) == 1 else "jobs"
    return f"{len(runs)} {noun} ({parts})"


def _check_max_jobs(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(
            f"max_jobs={value!r} is invalid; pass an int >= 1, or None for no limit"
        )
    return value


def _check_max_seconds(value: object) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidArgumentError(
            f"max_seconds={value!r} is invalid; pass a number of seconds >= 0, or None "
            "for no limit"
        )
    return float(value)


class StalledWorker:
    """A worker that pops jobs and then stops heartbeating them, as one that hung mid-job.

    `take()` leases jobs and runs nothing: their leases lapse when the clock
    passes them, and after qless-core's grace period (the `grace-period`
    config, 10 s by default) another worker's pop takes them over. `resume()`
    then runs the held jobs' code as the worker that woke up, which shows how
    that code copes with `LostLockError`.
    """

    def __init__(
        self,
        client: Client,
        queues: str | Queue | Iterable[str | Queue],
        *,
        worker_name: str = "stalled-worker",
    ) -> None:
        self.client = _worker_client(client, worker_name)
        self.queues = _queue_names(queues)
        self.held: list[Job] = []

    @property
    def worker_name(self) -> str:
        """The worker name the jobs are leased to."""
        return self.client.worker_name

    def take(self, count: int = 1) -> list[Job]:
        """Lease up to `count` jobs from the queues, in order, and hold them; return them."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidArgumentError(f"count={count!r} is invalid; pass an int >= 1")
        taken: list[Job] = []
        for name in self.queues:
            if len(taken) == count:
                break
            taken.extend(self.client.queue(name).pop(count - len(taken)))
        self.held.extend(taken)
        return taken

    def resume(self) -> list[JobRun]:
        """Run the code of every held job now, as the worker that woke up; return the runs."""
        held, self.held = self.held, []
        return [run_job(self.client, job) for job in held]

    def __repr__(self) -> str:
        jids = [job.jid for job in self.held]
        return f"StalledWorker({self.worker_name!r}, queues={list(self.queues)!r}, held={jids!r})"
