"""Worker: job outcomes, queue order, drains with and without time travel, limits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qless_sim import DEFAULT_START, StalledWorker, Worker
from qless_sim.bindings import Client
from qless_sim.errors import InvalidArgumentError, LostLockError

sys.path.insert(0, str(Path(__file__).parent))
import worker_jobs  # noqa: E402


def test_completed_job(client: Client) -> None:
    jid = client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")
    run = Worker(client, "testing").work_one()

    assert run is not None
    assert run.jid == jid
    assert run.outcome == "completed"
    assert run.state == "complete"
    assert run.queue == "testing"
    assert run.klass == "worker_jobs.Complete"
    assert run.popped_at == DEFAULT_START
    assert ("process", "job-1") in worker_jobs.calls


def test_work_one_without_jobs(client: Client) -> None:
    assert Worker(client, "testing").work_one() is None


def test_raising_job_fails_with_group(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Raise, {}, jid="job-1")
    report = Worker(client, "testing").drain()

    assert report.failed == ["job-1"]
    assert report.failures == {"testing-ValueError": ["job-1"]}
    run = report.runs[0]
    assert run.group == "testing-ValueError"
    assert run.message is not None
    assert run.message.startswith("Traceback (most recent call last):\n")
    assert 'raise ValueError("widget is missing")' in run.message
    assert run.message.endswith("ValueError: widget is missing\n")

    job = client.jobs["job-1"]
    assert job is not None
    assert job.state == "failed"
    assert job.failure["group"] == "testing-ValueError"
    assert job.failure["message"] == run.message


def test_explicit_fail_keeps_group(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Fail, {}, jid="job-1")
    run = Worker(client, "testing").work_one()

    assert run is not None
    assert run.outcome == "failed"
    assert run.group == "testing-invalid"
    assert run.message == "widget 7 is invalid"


def test_missing_klass_fails(client: Client) -> None:
    client.queue("testing").put("worker_jobs.Missing", {}, jid="job-1")
    run = Worker(client, "testing").work_one()

    assert run is not None
    assert run.outcome == "failed"
    assert run.group == "testing-AttributeError"
    assert run.message == "Failed to import worker_jobs.Missing"


def test_queues_pop_in_order(client: Client) -> None:
    client.queue("low").put(worker_jobs.PerQueue, {}, jid="low-1")
    client.queue("high").put(worker_jobs.PerQueue, {}, jid="high-1")
    # Jobs of equal priority put at the same instant pop in descending jid
    # order (qless-core's ZREVRANGE tie-break); a later put pops after.
    client.clock.advance(1)
    client.queue("high").put(worker_jobs.PerQueue, {}, jid="high-2")
    worker_jobs.calls.clear()

    report = Worker(client, ["high", "low"]).drain()

    assert report.processed == ["high-1", "high-2", "low-1"]
    assert worker_jobs.calls == [("high", "high-1"), ("high", "high-2"), ("low", "low-1")]
    assert report.queues == ("high", "low")


def test_outcomes_of_each_kind(client: Client) -> None:
    queue = client.queue("testing")
    queue.put(worker_jobs.CompleteNext, {}, jid="next", priority=7)
    queue.put(worker_jobs.Move, {}, jid="move", priority=6)
    queue.put(worker_jobs.Leave, {}, jid="leave", priority=5)
    queue.put(worker_jobs.Cancel, {}, jid="cancel", priority=4)
    queue.put(worker_jobs.RetryTwice, {}, jid="retry", priority=3)

    report = Worker(client, "testing").drain()

    outcomes = {run.jid: run.outcome for run in report.runs}
    assert outcomes == {
        "next": "completed",
        "move": "moved",
        "leave": "unfinished",
        "cancel": "canceled",
        "retry": "retried",
    }
    assert report.completed == ["next"]
    assert report.moved == ["move"]
    assert report.unfinished == ["leave"]
    assert report.canceled == ["cancel"]
    assert report.retried == ["retry"]
    assert report.states == {
        "next": "waiting",
        "move": "waiting",
        "leave": "running",
        "cancel": "",
        "retry": "scheduled",
    }
    assert report.counts == {
        "processed": 5,
        "completed": 1,
        "failed": 0,
        "retried": 1,
        "moved": 1,
        "unfinished": 1,
        "lost": 0,
        "canceled": 1,
    }


def test_work_past_lease_without_rival(client: Client) -> None:
    client.queue("testing").put(worker_jobs.SlowButAlone, {}, jid="job-1")
    run = Worker(client, "testing").work_one()

    assert run is not None
    assert run.outcome == "completed"
    assert client.clock.now() == DEFAULT_START + 100


def test_drain_without_jobs(client: Client) -> None:
    report = Worker(client, "testing").drain()

    assert report.stopped_by == "drained"
    assert report.message == "drained 'testing' after 0 jobs"
    assert str(report) == report.message
    assert report.processed == []
    assert not report.hit_limit


def test_drain_reports_due_job(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1", delay=30)
    report = Worker(client, "testing").drain()

    assert report.stopped_by == "idle"
    assert report.message == (
        "stopped with nothing ready in 'testing' after 0 jobs; left: 1 scheduled; the next "
        "is due at 2024-01-01T00:00:30Z (in 30 s): pass advance_clock=True to jump there"
    )
    assert client.clock.now() == DEFAULT_START


def test_drain_jumps_to_delayed_job(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1", delay=30)
    report = Worker(client, "testing").drain(advance_clock=True)

    assert report.completed == ["job-1"]
    assert report.stopped_by == "drained"
    assert report.message == "drained 'testing' after 1 job (1 completed)"
    assert client.clock.now() == DEFAULT_START + 30
    assert report.runs[0].popped_at == DEFAULT_START + 30
    assert report.elapsed == 30


def test_drain_plays_out_retry_delays(client: Client) -> None:
    client.queue("testing").put(worker_jobs.RetryTwice, {}, jid="job-1")
    report = Worker(client, "testing").drain(advance_clock=True)

    assert [run.outcome for run in report.runs] == ["retried", "retried", "completed"]
    assert [run.popped_at - DEFAULT_START for run in report.runs] == [0, 30, 60]
    assert report.retried == ["job-1", "job-1"]
    assert report.processed == ["job-1", "job-1", "job-1"]
    assert report.states == {"job-1": "complete"}


def test_drain_runs_dependencies_in_order(client: Client) -> None:
    queue = client.queue("testing")
    # qless-core drops a dependency on a jid that does not exist yet, so
    # "first" goes in first; "second" outranks it but must wait for it.
    queue.put(worker_jobs.Complete, {}, jid="first")
    queue.put(worker_jobs.Complete, {}, jid="second", depends=["first"], priority=10)
    assert client.jobs["second"].state == "depends"

    report = Worker(client, "testing").drain()

    assert report.completed == ["first", "second"]
    assert report.stopped_by == "drained"


def test_drain_reports_stuck_dependents(client: Client) -> None:
    queue = client.queue("testing")
    queue.put(worker_jobs.Raise, {}, jid="first")
    queue.put(worker_jobs.Complete, {}, jid="second", depends=["first"])

    report = Worker(client, "testing").drain(advance_clock=True)

    assert report.failed == ["first"]
    assert report.stopped_by == "idle"
    assert report.message == (
        "stopped with nothing ready in 'testing' after 1 job (1 failed); left: 1 depends"
    )


def test_drain_recurring_until_max_seconds(client: Client) -> None:
    client.queue("testing").recur(worker_jobs.Complete, {}, interval=3600, jid="hourly")
    report = Worker(client, "testing").drain(advance_clock=True, max_seconds=3 * 3600)

    assert report.processed == ["hourly-1", "hourly-2", "hourly-3", "hourly-4"]
    assert [run.popped_at - DEFAULT_START for run in report.runs] == [0, 3600, 7200, 10800]
    assert report.stopped_by == "max_seconds"
    assert report.hit_limit
    assert report.message == (
        "stopped by max_seconds=10800 after 4 jobs (4 completed): the next job is due at "
        "2024-01-01T04:00:00Z, 14400 s after the drain started; left in 'testing': "
        "1 recurring; raise max_seconds to go on"
    )
    assert client.clock.now() == DEFAULT_START + 10800


def test_drain_stops_at_max_jobs(client: Client) -> None:
    client.queue("testing").put(worker_jobs.PutBack, {}, jid="job-1")
    report = Worker(client, "testing").drain(max_jobs=3)

    assert report.processed == ["job-1", "job-1", "job-1"]
    assert report.stopped_by == "max_jobs"
    assert report.hit_limit
    assert report.message == (
        "stopped by max_jobs=3 after 3 jobs (3 completed); left in 'testing': 1 waiting; "
        "raise max_jobs (or pass max_jobs=None) to run them"
    )


def test_max_jobs_with_nothing_left(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")
    report = Worker(client, "testing").drain(max_jobs=1)

    assert report.stopped_by == "drained"
    assert not report.hit_limit


def test_drain_stops_at_default_max_jobs(client: Client) -> None:
    client.queue("testing").recur(worker_jobs.Complete, {}, interval=60, jid="minutely")
    report = Worker(client, "testing").drain(advance_clock=True)

    assert len(report.processed) == 1000
    assert report.stopped_by == "max_jobs"
    assert report.message.startswith("stopped by max_jobs=1000 after 1000 jobs (1000 completed)")


def test_paused_queue_does_not_loop(client: Client) -> None:
    queue = client.queue("testing")
    queue.put(worker_jobs.Complete, {}, jid="job-1", delay=30)
    queue.pause()

    report = Worker(client, "testing").drain(advance_clock=True)

    assert report.processed == []
    assert report.stopped_by == "idle"
    assert report.message.endswith("(due now, but a paused queue or a throttle holds it back)")
    assert client.clock.now() == DEFAULT_START + 30


def test_unfinished_job_exhausts_retries(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Leave, {}, jid="job-1", retries=1)
    report = Worker(client, "testing").drain(advance_clock=True)

    # Each lapse of the 60 s lease is followed by the 10 s grace period; the
    # second lapse uses up the last retry and qless-core fails the job itself.
    assert report.unfinished == ["job-1", "job-1"]
    assert [run.popped_at - DEFAULT_START for run in report.runs] == [0, 70]
    assert report.states == {"job-1": "failed"}
    assert report.stopped_by == "drained"
    job = client.jobs["job-1"]
    assert job is not None
    assert job.failure["group"] == "failed-retries-testing"


def test_next_due_reads_each_set(client: Client) -> None:
    queue = client.queue("testing")
    worker = Worker(client, "testing")
    assert worker.next_due() is None

    queue.recur(worker_jobs.Complete, {}, interval=600, offset=500, jid="recurring")
    assert worker.next_due() == DEFAULT_START + 500
    queue.put(worker_jobs.Complete, {}, jid="later", delay=200)
    assert worker.next_due() == DEFAULT_START + 200
    queue.put(worker_jobs.Complete, {}, jid="now")
    queue.pop()
    assert worker.next_due() == DEFAULT_START + 60


def test_lost_lease_taken_over(client: Client) -> None:
    client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")
    stalled = StalledWorker(client, "testing")
    taken = stalled.take()
    assert [job.jid for job in taken] == ["job-1"]
    assert [job.jid for job in stalled.held] == ["job-1"]

    report = Worker(client, "testing", worker_name="worker-b").drain(advance_clock=True)

    # 60 s lease, then qless-core's 10 s grace period before the job moves.
    assert report.completed == ["job-1"]
    assert report.runs[0].popped_at == DEFAULT_START + 70
    assert report.worker_name == "worker-b"
    job = client.jobs["job-1"]
    assert job is not None
    assert "timed-out" in [entry["what"] for entry in job.history]

    runs = stalled.resume()
    assert [run.outcome for run in runs] == ["lost"]
    assert isinstance(runs[0].error, LostLockError)
    assert runs[0].error.message.startswith("Complete(): Job ")
    assert runs[0].state == "complete"
    assert stalled.held == []


def test_stalled_takes_from_queues_in_order(client: Client) -> None:
    client.queue("b").put(worker_jobs.Complete, {}, jid="b-1")
    client.queue("a").put(worker_jobs.Complete, {}, jid="a-1")
    stalled = StalledWorker(client, ["a", "b"], worker_name="sleepy")

    assert [job.jid for job in stalled.take(5)] == ["a-1", "b-1"]
    assert sorted(client.workers["sleepy"]["jobs"]) == ["a-1", "b-1"]
    assert stalled.take() == []


def test_worker_name_defaults_to_client(client: Client) -> None:
    worker = Worker(client, "testing")
    assert worker.worker_name == "worker-a"
    assert repr(worker) == "Worker('worker-a', queues=['testing'])"


def test_queues_setter(client: Client) -> None:
    worker = Worker(client, client.queue("a"))
    worker.queues = ["b", client.queue("c"), "b"]
    assert worker.queues == ("b", "c")


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ([], "queues is empty; pass at least one queue name"),
        ([""], "queue '' is invalid; pass a non-empty queue name or a Queue"),
        ([7], "queue 7 is invalid; pass a non-empty queue name or a Queue"),
        (7, "queues 7 is not a queue name or a list of them; pass e.g. 'testing' or "
            "['high', 'low']"),
    ],
)
def test_bad_queues_rejected(client: Client, queues: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        Worker(client, queues)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_bad_client_rejected() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        Worker("redis://", "testing")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "client 'redis://' is not a qless_sim Client; pass qless_sim.client() or the "
        "qless_client fixture"
    )


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_jobs": 0}, "max_jobs=0 is invalid; pass an int >= 1, or None for no limit"),
        ({"max_jobs": True}, "max_jobs=True is invalid; pass an int >= 1, or None for no limit"),
        (
            {"max_seconds": -1},
            "max_seconds=-1 is invalid; pass a number of seconds >= 0, or None for no limit",
        ),
        (
            {"max_seconds": float("inf")},
            "max_seconds=inf is invalid; pass a number of seconds >= 0, or None for no limit",
        ),
    ],
)
def test_bad_limits_rejected(client: Client, limits: dict[str, object], message: str) -> None:
    client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")
    with pytest.raises(InvalidArgumentError) as raised:
        Worker(client, "testing").drain(**limits)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert client.queue("testing").length == 1


def test_advance_clock_needs_settable_clock() -> None:
    import qless_sim

    client = qless_sim.client(clock=qless_sim.SystemClock())
    with pytest.raises(InvalidArgumentError) as raised:
        Worker(client, "testing").drain(advance_clock=True)
    assert str(raised.value) == (
        "drain(advance_clock=True) needs a clock it can set, and SystemClock() has no set(); "
        "run the client on a SimClock (the default of qless_sim.client() and of the "
        "qless_client fixture)"
    )


def test_stalled_take_rejects_bad_count(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        StalledWorker(client, "testing").take(0)
    assert str(raised.value) == "count=0 is invalid; pass an int >= 1"
