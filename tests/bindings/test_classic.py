"""The classic qless API, exactly as qless-py users write it."""

from __future__ import annotations

import qless_sim as qless
from qless_sim.bindings import Client, Job


class MyJob:
    @staticmethod
    def process(job: Job) -> None:
        job.complete()


def run_classic_example(client: Client) -> None:
    queue = client.queue("testing")
    jid = queue.put(MyJob, {"widget": "foo"})

    job = queue.pop()
    assert job is not None
    assert (job.id, job.state, job.priority, job.worker) == (jid, "running", 0, "worker-a")
    assert job.data == {"widget": "foo"}
    assert job.klass_name == f"{__name__}.MyJob"
    assert job["widget"] == "foo"
    job["widget"] = "bar"

    start = client.clock.now()
    assert job.expires == start + 60
    assert job.remaining() == 60

    client.clock.advance(20)  # type: ignore[attr-defined]
    assert job.remaining() == 40
    assert queue.heartbeat(job) == start + 80
    assert job.remaining() == 60
    assert client.jobs[jid].data == {"widget": "bar"}  # type: ignore[union-attr]

    assert queue.complete(job) == "complete"
    record = client.jobs[jid]
    assert isinstance(record, Job)
    assert record.state == "complete"
    assert record.data == {"widget": "bar"}

    assert queue.pop() is None
    for number in range(25):
        queue.put(MyJob, {"n": number})
    jobs = queue.pop(20)
    assert len(jobs) == 20
    assert all(isinstance(each, Job) for each in jobs)
    assert len(queue.pop(20)) == 5


def test_classic_example(client: Client) -> None:
    run_classic_example(client)


def test_classic_example_default_client() -> None:
    client = qless.client(worker_name="worker-a")
    assert client.server is not None
    assert client.core.name == "reqless"
    run_classic_example(client)
