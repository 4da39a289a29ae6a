"""The qless_worker fixture as a downstream test file uses it, and a drain on a real Redis."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import qless_sim
from qless_sim import DEFAULT_START, SimClock, StalledWorker, Worker

sys.path.insert(0, str(Path(__file__).parent))
import worker_jobs  # noqa: E402

pytest_plugins = ["pytester"]

JOBS = """
class Resize:
    @staticmethod
    def process(job):
        if job["fail"]:
            raise KeyError("size")
        job.complete()
"""

DOWNSTREAM = """
START = 1704067200.0


def test_fixture_worker(qless_worker, qless_queue, qless_clock):
    assert qless_worker.worker_name == "pytest-worker"
    assert qless_worker.queues == ("testing",)
    qless_queue.put("downstream_jobs.Resize", {"fail": False}, jid="ok", delay=90)
    qless_queue.put("downstream_jobs.Resize", {"fail": True}, jid="bad")

    report = qless_worker.drain(advance_clock=True)

    assert report.completed == ["ok"]
    assert report.failures == {"testing-KeyError": ["bad"]}
    assert report.stopped_by == "drained"
    assert qless_clock.now() == START + 90


def test_fixture_worker_other_queues(qless_worker, qless_queue_factory):
    qless_queue_factory("emails").put("downstream_jobs.Resize", {"fail": False}, jid="mail")
    qless_worker.queues = ["emails"]
    assert qless_worker.drain().completed == ["mail"]
"""


def test_fixture_in_downstream_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(downstream_jobs=JOBS, test_downstream_worker=DOWNSTREAM)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


@pytest.mark.redis_server
def test_drain_on_real_redis(real_redis: object, redis_url: str) -> None:
    clock = SimClock()
    client = qless_sim.client(redis_url, clock=clock, worker_name="worker-a")
    queue = client.queue("testing")
    queue.put(worker_jobs.RetryTwice, {}, jid="retry")
    queue.put(worker_jobs.Complete, {}, jid="held", priority=10)
    StalledWorker(client, "testing").take()

    report = Worker(client, "testing").drain(advance_clock=True)

    assert sorted(report.completed) == ["held", "retry"]
    assert report.retried == ["retry", "retry"]
    assert report.stopped_by == "drained"
    # The retry delays end at +30 and +60; the stalled lease at +60 and its
    # grace period at +70.
    assert clock.now() == DEFAULT_START + 70
