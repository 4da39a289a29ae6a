"""FaultyTransport: redis-py connection errors and time-outs on chosen qless-core calls."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redis

from qless_sim import FaultyTransport, Worker
from qless_sim.bindings import Client
from qless_sim.errors import InvalidArgumentError

sys.path.insert(0, str(Path(__file__).parent))
import worker_jobs  # noqa: E402


def test_fault_before_changes_nothing(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    producer = faulty.client(worker_name="producer")
    fault = faulty.fail("put")

    with pytest.raises(redis.exceptions.ConnectionError) as raised:
        producer.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")

    assert str(raised.value) == (
        "Connection lost (injected by qless_sim before qless-core's 'put' ran, "
        "so it changed nothing)"
    )
    assert client.jobs["job-1"] is None
    assert fault.raised == 1
    assert not fault.active
    assert [call.command for call in faulty.calls] == ["put"]
    assert faulty.calls[0].error is raised.value


def test_fault_after_keeps_effect(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    producer = faulty.client(worker_name="producer")
    faulty.fail("put", error=redis.exceptions.TimeoutError, when="after")

    with pytest.raises(redis.exceptions.TimeoutError) as raised:
        producer.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")

    assert str(raised.value) == (
        "Timeout reading from socket (injected by qless_sim after qless-core's 'put' ran, "
        "so its effect is kept and its reply lost)"
    )
    job = client.jobs["job-1"]
    assert job is not None
    assert job.state == "waiting"


def test_skip_and_times(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    queue = faulty.client(worker_name="producer").queue("testing")
    fault = faulty.fail("put", skip=1, times=2)

    queue.put(worker_jobs.Complete, {}, jid="job-1")
    for jid in ("job-2", "job-3"):
        with pytest.raises(redis.exceptions.ConnectionError):
            queue.put(worker_jobs.Complete, {}, jid=jid)
    queue.put(worker_jobs.Complete, {}, jid="job-4")

    assert sorted(job.jid for job in client.jobs.get("job-1", "job-2", "job-3", "job-4")) == [
        "job-1",
        "job-4",
    ]
    assert fault.seen == 3
    assert fault.raised == 2
    assert [call.error is not None for call in faulty.calls] == [False, True, True, False]


def test_other_commands_pass(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    queue = faulty.client(worker_name="producer").queue("testing")
    faulty.fail("complete", times=None)

    queue.put(worker_jobs.Complete, {}, jid="job-1")
    job = queue.pop()
    assert job is not None
    for _ in range(3):
        with pytest.raises(redis.exceptions.ConnectionError):
            job.complete()


def test_fault_on_any_command_until_removed(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    queue = faulty.client(worker_name="producer").queue("testing")
    fault = faulty.fail(times=None)

    with pytest.raises(redis.exceptions.ConnectionError):
        queue.put(worker_jobs.Complete, {}, jid="job-1")
    with pytest.raises(redis.exceptions.ConnectionError):
        queue.pop()

    fault.remove()
    assert faulty.faults == []
    queue.put(worker_jobs.Complete, {}, jid="job-1")
    assert client.jobs["job-1"] is not None


def test_clear_removes_faults(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    faulty.fail("put")
    faulty.fail("pop")
    faulty.clear()

    faulty.client().queue("testing").put(worker_jobs.Complete, {}, jid="job-1")
    assert client.jobs["job-1"] is not None


def test_job_code_retries_lost_connection(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    client.queue("testing").put(worker_jobs.CompleteWithRetries, {}, jid="job-1")
    faulty.fail("complete", times=2)
    worker_jobs.calls.clear()

    report = Worker(faulty.client("worker-a"), "testing").drain()

    assert report.completed == ["job-1"]
    assert worker_jobs.calls == [("complete-failed", "job-1"), ("complete-failed", "job-1")]


def test_job_code_retry_after_lost_reply(client: Client) -> None:
    # complete() ran but its reply was lost: retrying it finds the job no
    # longer running, so the code's naive retry ends in LostLockError.
    faulty = FaultyTransport(client.transport)
    client.queue("testing").put(worker_jobs.CompleteWithRetries, {}, jid="job-1")
    faulty.fail("complete", error=redis.exceptions.TimeoutError, when="after")

    report = Worker(faulty.client("worker-a"), "testing").drain()

    assert report.lost == ["job-1"]
    error = report.runs[0].error
    assert error is not None
    assert str(error).startswith("Complete(): Job ")
    assert report.states == {"job-1": "complete"}


def test_worker_pop_fault_propagates(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    client.queue("testing").put(worker_jobs.Complete, {}, jid="job-1")
    faulty.fail("pop")

    with pytest.raises(redis.exceptions.ConnectionError):
        Worker(faulty.client("worker-a"), "testing").drain()
    assert client.queue("testing").length == 1


def test_shares_clock_core_and_data(client: Client) -> None:
    faulty = FaultyTransport(client.transport)
    other = faulty.client()

    assert other.clock is client.clock
    assert other.core is client.core
    assert other.redis is client.redis
    assert faulty.server is client.server


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"error": TimeoutError},
            "error <class 'TimeoutError'> is not redis-py's ConnectionError or TimeoutError; "
            "pass redis.exceptions.ConnectionError or redis.exceptions.TimeoutError (the "
            "built-in exceptions of the same names are not what redis-py raises)",
        ),
        (
            {"error": redis.exceptions.ResponseError},
            "error <class 'redis.exceptions.ResponseError'> is not redis-py's ConnectionError "
            "or TimeoutError; pass redis.exceptions.ConnectionError or "
            "redis.exceptions.TimeoutError (the built-in exceptions of the same names are not "
            "what redis-py raises)",
        ),
        ({"times": 0}, "times=0 is invalid; pass an int >= 1, or None for every matching call"),
        ({"skip": -1}, "skip=-1 is invalid; pass an int >= 0"),
        ({"when": "during"}, "when='during' is invalid; pass 'before' or 'after'"),
        (
            {"command": ""},
            "command '' is invalid; pass a qless-core command name such as 'complete', or "
            "None for every command",
        ),
    ],
)
def test_bad_fault_rejected(client: Client, options: dict[str, object], message: str) -> None:
    faulty = FaultyTransport(client.transport)
    with pytest.raises(InvalidArgumentError) as raised:
        faulty.fail(**options)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert faulty.faults == []


def test_not_a_transport_rejected() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        FaultyTransport("redis://")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "FaultyTransport('redis://'): pass a transport, such as client.transport"
    )
