"""`JobLifecycleMachine`: a Hypothesis state machine over qless job lifecycles.

Needs Hypothesis. Each step runs one qless command through the qless_sim
bindings, on a simulated server (and, in `ParityJobLifecycleMachine`, on a
real Redis too), and compares the reply with a pure-Python reference model.
After every step the invariants compare the model with what qless reports.

Run it as-is::

    from qless_sim.hypothesis.stateful import JobLifecycleMachine

    TestJobLifecycle = JobLifecycleMachine.TestCase

or subclass it to add rules and invariants of your own (see the README).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ..bindings import Client, Job
from ..clock import SimClock
from ..core import SimTransport, SimulatedServer, Transport
from ..errors import QlessError, QlessSimError
from . import strategies as qs
from ._model import ExpectedError, QlessModel

__all__ = ["Backend", "JobLifecycleMachine", "ParityJobLifecycleMachine", "QUEUES", "WORKERS"]

QUEUES = ("q", "q2")
WORKERS = ("worker-a", "worker-b", "worker-c")
PRODUCER = "producer"
REDIS_URL_ENV_VAR = "QLESS_SIM_TEST_REDIS_URL"

# The sorted sets qless-core keeps per queue, read directly because no
# qless command lists them without side effects (`jobs scheduled` and
# `queues` move due scheduled jobs to waiting first).
_QUEUE_SETS = ("work", "locks", "scheduled", "depends")


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def _as_list(value: Any) -> list[Any]:
    # qless-core's cjson writes `{}` for an empty array.
    return [] if value in (None, {}) else list(value)


class Lease(NamedTuple):
    """A job a worker popped: what that worker goes on to heartbeat, complete or fail."""

    worker: str
    jid: str


_T = TypeVar("_T")


def _drawn_from_machine(
    choose: Callable[[Any], Sequence[_T]], otherwise: st.SearchStrategy[_T]
) -> st.SearchStrategy[_T]:
    """Draw one of the values `choose(machine)` returns when the step runs, else from `otherwise`.

    Rules use this to pick from the machine's current state (a queue that has
    work, a running job) so that fewer steps are spent on no-ops. Hypothesis
    prints the drawn value itself in a falsifying example.
    """

    def sample(machine: Any) -> st.SearchStrategy[_T]:
        choices = list(choose(machine))
        return st.sampled_from(choices) if choices else otherwise

    return st.runner().flatmap(sample)


def _jobs_preferring(*states: str) -> st.SearchStrategy[str]:
    """Jids of the machine's jobs, half the time from jobs in `states` when there are any.

    Canceled jids stay in the pool, so that rules also meet jobs that no longer exist.
    """

    def sample(machine: Any) -> st.SearchStrategy[str]:
        pool = machine.jid_pool()
        preferred = machine.model.jobs_in_state(*states)
        if preferred:
            return st.sampled_from(preferred) | st.sampled_from(pool)
        return st.sampled_from(pool)

    return st.runner().flatmap(sample)


def _dependency_lists(machine: Any) -> st.SearchStrategy[list[str]]:
    """Nothing half the time, else one or two of the machine's jobs, newer ones more often."""
    return st.just([]) | _jid_lists(machine)


def _jid_lists(machine: Any) -> st.SearchStrategy[list[str]]:
    jids = list(reversed(machine.model.jobs))
    if not jids:
        return st.just([])
    return st.lists(st.sampled_from(jids), min_size=1, max_size=2, unique=True)


def _deadline_steps(machine: Any) -> st.SearchStrategy[int]:
    """Clock steps that land on, or one second short of, the machine's next deadlines."""
    now = machine.now()
    steps: set[int] = set()
    for deadline in machine.model.deadlines(now)[:3]:
        step = math.ceil(deadline - now)
        steps.update(seconds for seconds in (step - 1, step) if seconds > 0)
    return st.sampled_from(sorted(steps)) if steps else qs.clock_steps()


@dataclass
class Backend:
    """One qless that the machine drives: a transport and a Client per worker."""

    name: str
    transport: Transport
    make_client: Callable[[Transport, str], Client]
    clients: dict[str, Client] = field(default_factory=dict)

    def client(self, worker: str) -> Client:
        """Return the Client that acts as `worker` (created on first use)."""
        if worker not in self.clients:
            self.clients[worker] = self.make_client(self.transport, worker)
        return self.clients[worker]

    @property
    def redis(self) -> Any:
        """A redis-py client on this backend's data."""
        return self.client(PRODUCER).redis


# CI-sized defaults: a step's cost varies with the number of jobs, so there is
# no deadline, and rules that need a popped job are often not yet runnable,
# which Hypothesis counts as filtering. `settings(...)` on a subclass, or on
# `TestCase.settings`, overrides them. 60 examples of 40 steps take about 5 s
# on a 2-core machine.
# NOTE: at this size lease handovers, retries exhausted by a lapsed lease and
# dependents released by a complete happen only a few times per run, or not at
# all; tests/hypothesis/coverage_report.py counts them.
# The explain phase (which lines of code a failure ran) re-runs a failing
# session many times: on a state machine it took over a minute, against a
# few seconds for finding and shrinking the failure itself.
@settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    phases=[phase for phase in Phase if phase is not Phase.explain],
)
class JobLifecycleMachine(RuleBasedStateMachine):
    """Random qless sessions on a simulated server, checked against a reference model.

    Class attributes `core` and `redis_rules` choose the script and the Redis
    scripting rules. The hooks `make_clock`, `make_transport`, `make_client`
    and `make_backends` build the clock, transports and clients of each
    example. One simulated server is built per (core, redis_rules) and emptied
    before each example.
    """

    core: ClassVar[str | None] = None
    redis_rules: ClassVar[int | str | None] = None
    _servers: ClassVar[dict[tuple[str | None, int | str | None], SimulatedServer]] = {}

    jobs = Bundle("jobs")
    leases = Bundle("leases")

    # Strategies that read the machine's state when a step is drawn. Drawing
    # from an empty Bundle inside another strategy would make Hypothesis throw
    # the whole example away, so jobs nested in arguments come from the model.
    # Half the jobs depend on nothing, so that most puts can be popped.
    _DEPENDS: st.SearchStrategy[list[str]] = st.runner().flatmap(_dependency_lists)
    # A queue that a pop would find work in: waiting jobs, lapsed leases, or
    # due scheduled and recurring jobs.
    _QUEUE_WITH_WORK = _drawn_from_machine(
        lambda machine: machine.queues_with_work(), qs.queue_names(QUEUES)
    )
    # A lease whose worker still runs its job.
    _LIVE_LEASE = _drawn_from_machine(
        lambda machine: [Lease(*lease) for lease in machine.model.live_leases()], st.nothing()
    )
    # Who acts on a lease: mostly its own worker (None), sometimes any worker.
    _ACTING_WORKER: st.SearchStrategy[str | None] = st.sampled_from(
        [None, None, None, None, *WORKERS]
    )
    # Half the clock steps land on the next lease expiry, end of a grace
    # period, or scheduled or recurring time, or one second short of it.
    _CLOCK_STEPS = qs.clock_steps() | st.runner().flatmap(_deadline_steps)
    recurring_jobs = Bundle("recurring_jobs")

    def __init__(self) -> None:
        super().__init__()
        self.clock = self.make_clock()
        self.model = QlessModel()
        self.backends = self.make_backends(self.clock)
        self.job_count = 0
        self.recurring_count = 0
        # The data each worker received when it last popped a job: what a
        # worker sends back with heartbeat, complete and fail.
        self.held_data: dict[tuple[str, str], Any] = {}
        self.canceled: list[str] = []
        self.histories: dict[tuple[str, str], list[dict[str, Any]]] = {}

    # -- hooks -------------------------------------------------------------

    def make_clock(self) -> SimClock:
        """Return the clock for one example (a fresh `SimClock` at 2024-01-01)."""
        return SimClock()

    @classmethod
    def simulated_server(cls) -> SimulatedServer:
        """Return the shared server for `core` and `redis_rules`, built on first use."""
        key = (cls.core, cls.redis_rules)
        server = JobLifecycleMachine._servers.get(key)
        if server is None:
            server = SimulatedServer(cls.core, redis_rules=cls.redis_rules)
            JobLifecycleMachine._servers[key] = server
        return server

    def make_transport(self, clock: SimClock) -> Transport:
        """Return the simulator transport for one example: the shared server, emptied."""
        server = self.simulated_server()
        server.flush()
        # SimTransport reads the server's clock when it is built, so set it first.
        server.clock = clock
        return SimTransport(server)

    def make_client(self, transport: Transport, worker: str) -> Client:
        """Return the Client a worker (or the producer) acts through."""
        return Client(transport, worker_name=worker)

    def make_backends(self, clock: SimClock) -> list[Backend]:
        """Return the qless backends every step runs on (the simulator alone by default)."""
        return [Backend("simulator", self.make_transport(clock), self.make_client)]

    # -- running one command everywhere ------------------------------------

    def run_command(
        self, step: str, expected: Any, act: Callable[[Backend], Any], compare: bool = True
    ) -> list[Any]:
        """Run `act` on each backend and check the reply, or error, against `expected`."""
        replies = []
        for backend in self.backends:
            try:
                outcome: Any = ("reply", act(backend))
            except QlessError as error:
                outcome = ("error", type(error).__name__, error.message)
            where = f"{step} on the {backend.name}"
            if isinstance(expected, ExpectedError):
                assert outcome[0] == "error", (
                    f"{where}: qless returned {outcome[1]!r}, the reference model expected "
                    f"the error {expected.describe()}"
                )
                mismatch = (
                    f"{where}: qless raised {outcome[1]}({outcome[2]!r}), the reference model "
                    f"expected {expected.describe()}"
                )
                assert outcome[1] == expected.kind, mismatch
                assert outcome[2] in expected.messages, mismatch
            else:
                assert outcome[0] == "reply", (
                    f"{where}: qless raised {outcome[1]}({outcome[2]!r}), the reference model "
                    f"expected the reply {expected!r}"
                )
                if compare:
                    assert outcome[1] == expected, (
                        f"{where}: qless returned {outcome[1]!r}, the reference model "
                        f"expected {expected!r}"
                    )
            replies.append(outcome[1] if outcome[0] == "reply" else None)
        return replies

    def now(self) -> float:
        return self.clock.now()

    def queues_with_work(self) -> list[str]:
        """Return the queues a pop would lease from, or find a lapsed lease in, now."""
        return [queue for queue in QUEUES if self.model.has_work(self.now(), queue)]

    def jid_pool(self) -> list[str]:
        """Return every jid the machine has met, newest first: its jobs, then canceled ones."""
        return [*reversed(self.model.jobs), *reversed(self.canceled)]

    def holds_lease(self, lease: Lease) -> bool:
        """Return whether `lease`'s worker still runs its job."""
        job = self.model.jobs.get(lease.jid)
        return job is not None and job.state == "running" and job.worker == lease.worker

    def _held_record(self, worker: str, jid: str) -> dict[str, Any]:
        """Return the record `worker` holds for `jid`: its data from its last pop.

        Taken before the model applies a step, because the model changes the job.
        """
        job = self.model.jobs.get(jid)
        data = self.held_data.get((worker, jid), job.data if job is not None else {})
        return {
            "jid": jid,
            "klass": job.klass if job is not None else "app.jobs.Gone",
            "queue": job.queue if job is not None else "q",
            "priority": job.priority if job is not None else 0,
            "tags": [],
            "data": json.dumps(data),
            "state": "running",
            "tracked": False,
            "expires": 0,
            "retries": 0,
            "remaining": 0,
            "worker": worker,
        }

    def held_job(self, backend: Backend, worker: str, record: dict[str, Any]) -> Job:
        """Return the Job object `worker` acts on in `backend` (override to plant a bug)."""
        return Job(backend.client(worker), record)

    def _next_jid(self) -> str:
        self.job_count += 1
        return f"job-{self.job_count}"

    # -- rules -------------------------------------------------------------

    # One initialize rule, because Hypothesis runs initialize rules in any order.
    @initialize(
        target=jobs,
        queue=qs.queue_names(QUEUES),
        retries=st.lists(qs.retries(), max_size=4),
    )
    def start_with_ready_jobs(self, queue: str, retries: list[int]) -> Any:
        """Check that qless starts empty, then put one ready job per entry of `retries`.

        The first pops then find work, whatever rules the example goes on to run.
        """
        for backend in self.backends:
            assert backend.client(PRODUCER).call("queues") in ("{}", "[]"), (
                f"the {backend.name} was not empty at the start of the example"
            )
        return multiple(*(self._put_ready_job(queue, budget) for budget in retries))

    def _put_ready_job(self, queue: str, retries: int) -> str:
        jid = self._next_jid()
        klass, data = "app.jobs.Ready", {"n": self.job_count}
        expected = self.model.put(
            self.now(), PRODUCER, queue, jid, klass, data, 0, 0, [], retries, []
        )
        self.run_command(
            f"put(queue={queue!r}, jid={jid!r})",
            expected,
            lambda backend: backend.client(PRODUCER).queue(queue).put(
                klass, data, retries=retries, jid=jid
            ),
        )
        return jid

    @rule(
        target=jobs,
        queue=qs.queue_names(QUEUES),
        klass=qs.klass_names(),
        data=qs.job_data(),
        priority=qs.priorities(),
        tags=qs.tag_lists(),
        delay=qs.delays(),
        retries=qs.retries(),
        depends=_DEPENDS,
    )
    def put(
        self,
        queue: str,
        klass: str,
        data: dict[str, Any],
        priority: int,
        tags: list[str],
        delay: int,
        retries: int,
        depends: list[str],
    ) -> str:
        jid = self._next_jid()
        expected = self.model.put(
            self.now(), PRODUCER, queue, jid, klass, data, delay, priority, tags, retries, depends
        )
        self.run_command(
            f"put(queue={queue!r}, jid={jid!r})",
            expected,
            lambda backend: backend.client(PRODUCER).queue(queue).put(
                klass, data, priority=priority, tags=tags, delay=delay, retries=retries,
                jid=jid, depends=depends,
            ),
        )
        return jid

    # A pop of a queue without work only repeats `[]`, so pops run when some
    # queue has work, and mostly pop that queue.
    @precondition(lambda self: bool(self.queues_with_work()))
    @rule(
        target=leases,
        queue=_QUEUE_WITH_WORK,
        worker=qs.worker_names(WORKERS),
        count=st.integers(min_value=1, max_value=2),
    )
    def pop(self, queue: str, worker: str, count: int) -> Any:
        expected = self.model.pop(self.now(), queue, worker, count)
        replies = self.run_command(
            f"pop(queue={queue!r}, worker={worker!r}, count={count})",
            expected,
            lambda backend: [job.jid for job in backend.client(worker).queue(queue).pop(count)],
        )
        del replies
        for jid in expected:
            self.held_data[(worker, jid)] = self.model.jobs[jid].data
        return multiple(*(Lease(worker, jid) for jid in expected))

    # Hypothesis picks among the runnable rules uniformly, and has no rule
    # weights, so a second pop rule (the one-job pop workers run most) makes
    # pops, and the lease steps that need them, more frequent.
    @precondition(lambda self: bool(self.queues_with_work()))
    @rule(target=leases, queue=_QUEUE_WITH_WORK, worker=qs.worker_names(WORKERS))
    def pop_one(self, queue: str, worker: str) -> Any:
        return self.pop(queue=queue, worker=worker, count=1)

    # Heartbeats renew live leases: stale ones are tried by complete, fail and
    # retry, and another worker's heartbeat (`worker`) still meets the error.
    @precondition(lambda self: bool(self.model.live_leases()))
    @rule(lease=_LIVE_LEASE, worker=_ACTING_WORKER)
    def heartbeat(self, lease: Lease, worker: str | None) -> None:
        """Renew `lease`, as its worker (`worker=None`) or as another worker."""
        worker, job = worker or lease.worker, lease.jid
        record = self._held_record(worker, job)
        expected = self.model.heartbeat(self.now(), job, worker, json.loads(record["data"]))
        self.run_command(
            f"heartbeat(job={job!r}, worker={worker!r})",
            expected,
            lambda backend: self.held_job(backend, worker, record).heartbeat(),
        )

    # complete, fail and retry consume the lease they act on. They put it back
    # only while its worker still has the job, so a stale lease (its job was
    # completed, failed, retried or handed over) is tried once for the
    # lost-lock error and then leaves the bundle.
    @rule(
        target=leases,
        lease=consumes(leases),
        worker=_ACTING_WORKER,
        next_queue=st.none() | qs.queue_names(QUEUES),
        delay=st.sampled_from([0, 0, 30]),
        depends=_DEPENDS,
    )
    def complete(
        self,
        lease: Lease,
        worker: str | None,
        next_queue: str | None,
        delay: int,
        depends: list[str],
    ) -> Any:
        worker, job = worker or lease.worker, lease.jid
        if next_queue is None:
            delay, depends = 0, []
        record = self._held_record(worker, job)
        expected = self.model.complete(
            self.now(), job, worker, json.loads(record["data"]), next_queue, delay, depends
        )
        self.run_command(
            f"complete(job={job!r}, worker={worker!r}, next_queue={next_queue!r})",
            expected,
            lambda backend: self.held_job(backend, worker, record).complete(
                next_queue, delay=delay, depends=depends
            ),
        )
        return self._keep_if_held(lease)

    @rule(
        target=leases,
        lease=consumes(leases),
        worker=_ACTING_WORKER,
        group=qs.failure_groups(),
        message=st.text(max_size=20),
    )
    def fail(self, lease: Lease, worker: str | None, group: str, message: str) -> Any:
        worker, job = worker or lease.worker, lease.jid
        record = self._held_record(worker, job)
        expected = self.model.fail(
            self.now(), job, worker, group, message, json.loads(record["data"])
        )
        self.run_command(
            f"fail(job={job!r}, worker={worker!r}, group={group!r})",
            expected,
            lambda backend: self.held_job(backend, worker, record).fail(group, message),
        )
        return self._keep_if_held(lease)

    @rule(
        target=leases,
        lease=consumes(leases),
        worker=_ACTING_WORKER,
        delay=st.sampled_from([0, 0, 30]),
        group=st.none() | qs.failure_groups(),
    )
    def retry(self, lease: Lease, worker: str | None, delay: int, group: str | None) -> Any:
        worker, job = worker or lease.worker, lease.jid
        message = None if group is None else f"retried by {worker}"
        record = self._held_record(worker, job)
        expected = self.model.retry(
            self.now(), job, record["queue"], worker, delay, group, message
        )
        self.run_command(
            f"retry(job={job!r}, worker={worker!r}, delay={delay}, group={group!r})",
            expected,
            lambda backend: self.held_job(backend, worker, record).retry(
                delay, group=group, message=message
            ),
        )
        return self._keep_if_held(lease)

    def _keep_if_held(self, lease: Lease) -> Any:
        return multiple(lease) if self.holds_lease(lease) else multiple()

    @rule(target=jobs, job=consumes(jobs))
    def cancel(self, job: str) -> Any:
        expected = self.model.cancel([job])
        self.run_command(
            f"cancel(job={job!r})",
            expected,
            lambda backend: _as_list(backend.client(PRODUCER).call("cancel", job)),
        )
        # A job that could not be canceled (others depend on it) stays in play.
        if isinstance(expected, ExpectedError):
            return multiple(job)
        self.canceled.append(job)
        return multiple()

    @precondition(lambda self: bool(self.model.jobs))
    @rule(
        job=_jobs_preferring("running", "waiting"),
        queue=qs.queue_names(QUEUES),
        delay=st.sampled_from([0, 0, 30]),
        depends=_DEPENDS,
    )
    def move(self, job: str, queue: str, delay: int, depends: list[str]) -> None:
        if job not in self.model.jobs:
            return
        current = self.model.jobs[job]
        expected = self.model.put(
            self.now(), PRODUCER, queue, job, current.klass, current.data, delay,
            depends=depends,
        )
        self.run_command(
            f"move(job={job!r}, queue={queue!r}, delay={delay})",
            expected,
            lambda backend: self._fetch(backend, job).move(queue, delay=delay, depends=depends),
        )

    @precondition(lambda self: bool(self.model.jobs))
    @rule(job=_jobs_preferring("waiting"), priority=qs.priorities())
    def set_priority(self, job: str, priority: int) -> None:
        if job not in self.model.jobs:
            return
        expected = self.model.priority(job, priority)

        def act(backend: Backend) -> int:
            handle = self._fetch(backend, job)
            handle.priority = priority
            return handle.priority

        self.run_command(f"set_priority(job={job!r}, priority={priority})", expected, act)

    # One rule for `tag add` and `tag remove`, and one for track and untrack,
    # so that these bookkeeping commands take fewer of the steps.
    @precondition(lambda self: bool(self.jid_pool()))
    @rule(
        job=_jobs_preferring(),
        tags=st.lists(qs.tags(), min_size=1, max_size=2),
        add=st.booleans(),
    )
    def tag(self, job: str, tags: list[str], add: bool) -> None:
        if add:
            expected = self.model.tag(job, tags)
            self.run_command(
                f"tag(job={job!r}, tags={tags!r})",
                expected,
                lambda backend: self._job_object(backend, job).tag(*tags),
            )
        else:
            expected = self.model.untag(job, tags)
            self.run_command(
                f"untag(job={job!r}, tags={tags!r})",
                expected,
                lambda backend: self._job_object(backend, job).untag(*tags),
            )

    @precondition(lambda self: bool(self.jid_pool()))
    @rule(job=_jobs_preferring(), on=st.booleans())
    def track(self, job: str, on: bool) -> None:
        expected = self.model.track(job, on)
        client_method = "track" if on else "untrack"
        self.run_command(
            f"{client_method}(job={job!r})",
            expected,
            lambda backend: getattr(backend.client(PRODUCER), client_method)(job),
        )

    @precondition(lambda self: bool(self.model.jobs_in_state("depends")))
    @rule(job=_jobs_preferring("depends"), on=st.runner().flatmap(_jid_lists))
    def depend(self, job: str, on: list[str]) -> None:
        expected = self.model.depends(self.now(), job, True, on)
        self.run_command(
            f"depend(job={job!r}, on={on!r})",
            expected,
            lambda backend: self._job_object(backend, job).depend(*on),
        )

    @precondition(lambda self: bool(self.model.jobs_in_state("depends")))
    @rule(
        job=_jobs_preferring("depends"),
        off=st.none() | st.runner().flatmap(_jid_lists),
    )
    def undepend(self, job: str, off: list[str] | None) -> None:
        expected = self.model.depends(self.now(), job, False, off)
        self.run_command(
            f"undepend(job={job!r}, off={'all' if off is None else off!r})",
            expected,
            lambda backend: (
                self._job_object(backend, job).undepend(all=True)
                if off is None
                else self._job_object(backend, job).undepend(*off)
            ),
        )

    @precondition(lambda self: bool(self.model.jobs_in_state("running")))
    @rule(job=_jobs_preferring("running"))
    def timeout(self, job: str) -> None:
        expected = self.model.timeout(self.now(), job)
        self.run_command(
            f"timeout(job={job!r})",
            expected,
            lambda backend: self._job_object(backend, job).timeout(),
        )

    @precondition(lambda self: bool(self.model.failed))
    @rule(
        group=_drawn_from_machine(lambda machine: sorted(machine.model.failed), st.nothing()),
        queue=qs.queue_names(QUEUES),
        count=st.integers(min_value=1, max_value=3),
    )
    def unfail(self, group: str, queue: str, count: int) -> None:
        expected = self.model.unfail(self.now(), queue, group, count)
        self.run_command(
            f"unfail(group={group!r}, queue={queue!r}, count={count})",
            expected,
            lambda backend: backend.client(PRODUCER).unfail(group, queue, count),
        )

    # Two recurring jobs at a time are enough to interleave their children.
    @precondition(lambda self: len(self.model.recurring) < 2)
    @rule(
        target=recurring_jobs,
        queue=qs.queue_names(QUEUES),
        klass=qs.klass_names(),
        interval=st.integers(min_value=1, max_value=120),
        offset=st.integers(min_value=0, max_value=70),
        priority=qs.priorities(),
        tags=qs.tag_lists(max_size=2),
        retries=qs.retries(),
        backlog=st.integers(min_value=0, max_value=3),
    )
    def recur(
        self,
        queue: str,
        klass: str,
        interval: int,
        offset: int,
        priority: int,
        tags: list[str],
        retries: int,
        backlog: int,
    ) -> str:
        self.recurring_count += 1
        jid = f"recurring-{self.recurring_count}"
        data = {"n": self.recurring_count}
        expected = self.model.recur(
            self.now(), queue, jid, klass, data, interval, offset, priority, tags, retries,
            backlog,
        )
        self.run_command(
            f"recur(queue={queue!r}, jid={jid!r}, interval={interval}, offset={offset})",
            expected,
            lambda backend: backend.client(PRODUCER).queue(queue).recur(
                klass, data, interval, offset=offset, priority=priority, tags=tags,
                retries=retries, jid=jid, backlog=backlog,
            ),
        )
        return jid

    @rule(recurring=consumes(recurring_jobs))
    def unrecur(self, recurring: str) -> None:
        self.model.unrecur(recurring)
        self.run_command(
            f"unrecur(recurring={recurring!r})",
            True,
            lambda backend: bool(backend.client(PRODUCER).call("unrecur", recurring)),
        )

    # Pause and unpause share a rule, and unpausing is drawn twice as often,
    # so that queues are paused for short spells and most pops can lease jobs.
    # Pausing matters only while a pop could find work.
    @precondition(lambda self: bool(self.model.paused or self.queues_with_work()))
    @rule(queue=qs.queue_names(QUEUES), paused=st.sampled_from([False, False, True]))
    def set_paused(self, queue: str, paused: bool) -> None:
        if paused:
            self.model.paused.add(queue)
            self.run_command(
                f"pause(queue={queue!r})",
                None,
                lambda backend: backend.client(PRODUCER).queue(queue).pause(),
            )
        else:
            self.model.paused.discard(queue)
            self.run_command(
                f"unpause(queue={queue!r})",
                None,
                lambda backend: backend.client(PRODUCER).queue(queue).unpause(),
            )

    # Time matters only to leases and scheduled and recurring jobs.
    @precondition(lambda self: bool(self.model.deadlines(self.now())))
    @rule(seconds=_CLOCK_STEPS)
    def advance_clock(self, seconds: int) -> None:
        before = self.clock.now()
        self.clock.advance(seconds)
        assert self.clock.now() == before + seconds, (
            f"advance_clock(seconds={seconds}): the clock moved from {before} to "
            f"{self.clock.now()}, expected {before + seconds}"
        )

    def _job_object(self, backend: Backend, jid: str) -> Job:
        """Return a Job for `jid`: read from qless, or built locally once it is canceled."""
        if jid in self.model.jobs:
            return self._fetch(backend, jid)
        return Job(backend.client(PRODUCER), self._held_record(PRODUCER, jid))

    def _fetch(self, backend: Backend, jid: str) -> Job:
        job = backend.client(PRODUCER).jobs[jid]
        assert isinstance(job, Job), (
            f"the {backend.name} has no job {jid!r}, but the reference model has one in state "
            f"{self.model.jobs[jid].state!r}"
        )
        return job

    # -- invariants --------------------------------------------------------

    @invariant()
    def qless_matches_model(self) -> None:
        """Check every backend against the model, in an order that keeps reads side-effect free."""
        for backend in self.backends:
            self.check_no_job_lost_or_duplicated(backend)
            self.check_jobs(backend)
            self.check_one_state_per_job(backend)
            self.check_history_only_grows(backend)
            self.check_failed_groups(backend)
            self.check_tracked(backend)
            self.check_workers(backend)
            self.check_recurring(backend)
        # `queues` moves due scheduled jobs to waiting, so it runs last.
        self.check_queue_counts()

    def check_no_job_lost_or_duplicated(self, backend: Backend) -> None:
        """Check that each job of the model is stored once in qless, and no other job is."""
        stored = set()
        for key in backend.redis.scan_iter(match="ql:j:*", count=1000):
            name = _text(key)[len("ql:j:"):]
            if not name.endswith(("-history", "-dependents", "-dependencies")):
                stored.add(name)
        expected = set(self.model.jobs)
        assert stored == expected, (
            f"on the {backend.name}, jobs qless stores but the model does not: "
            f"{sorted(stored - expected)}; jobs the model has but qless lost: "
            f"{sorted(expected - stored)}"
        )

    def check_jobs(self, backend: Backend) -> None:
        """Check that each job's fields match the model's."""
        jids = sorted(self.model.jobs)
        if not jids:
            return
        records = json.loads(backend.client(PRODUCER).call("multiget", *jids))
        by_jid = {record["jid"]: record for record in _as_list(records)}
        for jid in jids:
            record = by_jid.get(jid)
            assert record is not None, f"on the {backend.name}, job {jid!r} is missing"
            job = self.model.jobs[jid]
            got = {
                "state": record["state"],
                "queue": record["queue"],
                "worker": record["worker"],
                "expires": record["expires"],
                "priority": record["priority"],
                "retries": record["retries"],
                "remaining": record["remaining"],
                "tags": _as_list(record["tags"]),
                "tracked": record["tracked"],
                "klass": record["klass"],
                "data": json.loads(record["data"]),
                "failure": record["failure"] or {},
                "dependencies": sorted(_as_list(record["dependencies"])),
                "dependents": sorted(_as_list(record["dependents"])),
                "spawned_from_jid": record.get("spawned_from_jid") or None,
            }
            want = {
                "state": job.state,
                "queue": job.queue,
                "worker": job.worker,
                "expires": job.expires,
                "priority": job.priority,
                "retries": job.retries,
                "remaining": job.remaining,
                "tags": job.tags,
                "tracked": jid in self.model.tracked,
                "klass": job.klass,
                "data": job.data,
                "failure": job.failure,
                "dependencies": sorted(job.dependencies),
                "dependents": sorted(job.dependents),
                "spawned_from_jid": job.spawned_from_jid,
            }
            differences = {
                name: (got[name], want[name]) for name in got if got[name] != want[name]
            }
            assert not differences, (
                f"on the {backend.name}, job {jid!r} differs from the model "
                f"(field: (qless, model)): {differences}"
            )
            if record["state"] == "running":
                assert record["worker"] and record["expires"] > 0, (
                    f"on the {backend.name}, running job {jid!r} has worker "
                    f"{record['worker']!r} and lease expiry {record['expires']!r}"
                )
            history = _as_list(record["history"])
            assert history == job.history, (
                f"on the {backend.name}, job {jid!r} has history {history}, "
                f"the model expected {job.history}"
            )

    def check_one_state_per_job(self, backend: Backend) -> None:
        """Check that each job is in exactly one of qless's sets, the one its state names."""
        redis = backend.redis
        places: dict[str, list[str]] = {jid: [] for jid in self.model.jobs}
        for queue in QUEUES:
            for name in _QUEUE_SETS:
                members = [_text(m) for m in redis.zrange(f"ql:q:{queue}-{name}", 0, -1)]
                for jid in members:
                    places.setdefault(jid, []).append(f"{queue}-{name}")
            waiting = [_text(m) for m in redis.zrevrange(f"ql:q:{queue}-work", 0, -1)]
            assert waiting == self.model.waiting_order(queue), (
                f"on the {backend.name}, queue {queue!r} would pop {waiting}, "
                f"the model expected {self.model.waiting_order(queue)}"
            )
        for group_key in redis.smembers("ql:failures"):
            group = _text(group_key)
            for jid in redis.lrange(f"ql:f:{group}", 0, -1):
                places.setdefault(_text(jid), []).append(f"failed:{group}")
        for jid in redis.zrange("ql:completed", 0, -1):
            places.setdefault(_text(jid), []).append("complete")

        for jid, found in places.items():
            job = self.model.jobs.get(jid)
            assert job is not None, f"on the {backend.name}, unknown job {jid!r} is in {found}"
            expected = self.model.places(jid)
            misplaced = (
                f"on the {backend.name}, job {jid!r} in state {job.state!r} is in {found}, "
                f"expected exactly {expected}"
            )
            assert len(found) == 1, misplaced
            assert found == expected, misplaced

    def check_history_only_grows(self, backend: Backend) -> None:
        """Check that a job's history keeps every entry it had and only adds new ones."""
        for jid, job in self.model.jobs.items():
            key = (backend.name, jid)
            before = self.histories.get(key, [])
            now = job.history
            shrunk = f"on the {backend.name}, job {jid!r}'s history went from {before} to {now}"
            assert len(now) >= len(before), shrunk
            assert now[: len(before)] == before, shrunk
            self.histories[key] = list(now)

    def check_failed_groups(self, backend: Backend) -> None:
        """`failed` counts each group's jobs as the model does."""
        got = json.loads(backend.client(PRODUCER).call("failed")) or {}
        want = {group: len(jids) for group, jids in self.model.failed.items()}
        assert got == want, f"on the {backend.name}, failed groups are {got}, expected {want}"

    def check_tracked(self, backend: Backend) -> None:
        """`track` lists tracked jobs, and canceled tracked jobs as expired."""
        tracked = backend.client(PRODUCER).jobs.tracked()
        got_jobs = sorted(job.jid for job in tracked["jobs"])
        got_expired = sorted(tracked["expired"])
        want_jobs = sorted(jid for jid in self.model.tracked if jid in self.model.jobs)
        want_expired = sorted(jid for jid in self.model.tracked if jid not in self.model.jobs)
        assert (got_jobs, got_expired) == (want_jobs, want_expired), (
            f"on the {backend.name}, tracked jobs are {got_jobs} (expired {got_expired}), "
            f"expected {want_jobs} (expired {want_expired})"
        )

    def check_workers(self, backend: Backend) -> None:
        """`workers <name>` lists each worker's leases, and its lapsed ones as stalled."""
        now = self.now()
        for worker in WORKERS:
            got = backend.client(PRODUCER).workers[worker]
            leases = self.model.worker_jobs.get(worker, {})
            want_jobs = sorted(jid for jid, expires in leases.items() if expires >= now)
            want_stalled = sorted(jid for jid, expires in leases.items() if expires <= now)
            assert (sorted(got["jobs"]), sorted(got["stalled"])) == (want_jobs, want_stalled), (
                f"on the {backend.name}, worker {worker!r} holds {got}, expected jobs "
                f"{want_jobs} and stalled {want_stalled}"
            )

    def check_recurring(self, backend: Backend) -> None:
        """Check that each recurring job's template matches the model's."""
        for jid in range(1, self.recurring_count + 1):
            name = f"recurring-{jid}"
            reply = backend.client(PRODUCER).call("recur.get", name)
            template = self.model.recurring.get(name)
            if template is None:
                assert not reply, f"on the {backend.name}, unrecurred {name!r} still exists"
                continue
            assert reply, f"on the {backend.name}, recurring job {name!r} is missing"
            record = json.loads(reply)
            got = (
                record["queue"], record["priority"], _as_list(record["tags"]),
                record["retries"], record["interval"], record["count"], record["backlog"],
            )
            want = (
                template.queue, template.priority, template.tags, template.retries,
                template.interval, template.count, template.backlog,
            )
            assert got == want, (
                f"on the {backend.name}, recurring job {name!r} is (queue, priority, tags, "
                f"retries, interval, count, backlog) {got}, expected {want}"
            )

    def check_queue_counts(self) -> None:
        """`queues` reports each queue's counts by state as the model does."""
        now = self.now()
        want = [self.model.counts(now, queue) for queue in sorted(self.model.known_queues)]
        for backend in self.backends:
            got = sorted(
                _as_list(json.loads(backend.client(PRODUCER).call("queues"))),
                key=lambda counts: str(counts["name"]),
            )
            assert got == want, f"on the {backend.name}, `queues` returned {got}, expected {want}"


# Redis URLs this process has checked, and since emptied before every example.
_CHECKED_PARITY_URLS: set[str] = set()


class ParityJobLifecycleMachine(JobLifecycleMachine):
    """The same steps on the simulator and on a real Redis, each checked against the model.

    The Redis is `redis_url` (default: the QLESS_SIM_TEST_REDIS_URL environment
    variable). The first time a process uses it, a database that is not empty
    is rejected with `QlessSimError`. After that, the database is emptied
    before and after each example.
    """

    redis_url: ClassVar[str | None] = None

    @classmethod
    def resolved_redis_url(cls) -> str | None:
        """Return the Redis URL to compare against, or None when none is configured."""
        return cls.redis_url or os.environ.get(REDIS_URL_ENV_VAR) or None

    def make_backends(self, clock: SimClock) -> list[Backend]:
        import redis as redis_py

        from ..core import RedisTransport, load_core

        url = self.resolved_redis_url()
        if url is None:
            raise QlessSimError(
                f"ParityJobLifecycleMachine needs a Redis URL: set {REDIS_URL_ENV_VAR} "
                "or the redis_url class attribute"
            )
        if url not in _CHECKED_PARITY_URLS:
            # Like the plugin's parity mode: never empty a database that held
            # something before this process first used it.
            from .._plugin_backend import ParityDatabase, ParityError

            database = ParityDatabase(url, 0)
            try:
                database.check("ParityJobLifecycleMachine")
            except ParityError as error:
                raise QlessSimError(str(error)) from None
            finally:
                database.close()
            _CHECKED_PARITY_URLS.add(url)
        connection = redis_py.Redis.from_url(url)
        connection.flushdb()
        real = RedisTransport(connection, load_core(self.core), clock)
        return [
            *super().make_backends(clock),
            Backend(f"Redis at {url}", real, self.make_client),
        ]

    def teardown(self) -> None:
        # Leave the database empty, so that the next process's check passes.
        for backend in self.backends:
            redis = getattr(backend.transport, "redis", None)
            if redis is not None:
                redis.flushdb()
                redis.close()

