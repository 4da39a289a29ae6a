"""The two uses the README shows: the machine as-is, and subclassed with a rule and invariant."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import invariant, rule

from qless_sim.hypothesis import strategies as qs
from qless_sim.hypothesis.stateful import JobLifecycleMachine, Lease

# As-is: every rule and invariant of the machine.
TestQlessLifecycle = JobLifecycleMachine.TestCase


class ResizeWorkers(JobLifecycleMachine):
    """Workers run our job code on the jobs they pop, and it must never lose a job."""

    @rule(lease=JobLifecycleMachine.leases, size=qs.priorities())
    def run_resize(self, lease: Lease, size: int) -> None:
        # Our job code: record a result in the job's data, then complete it.
        job = self.model.jobs.get(lease.jid)
        if job is None or job.state != "running" or job.worker != lease.worker:
            return
        self.held_data[(lease.worker, lease.jid)] = {**job.data, "resized_to": size}
        self.complete(lease=lease, worker=None, next_queue=None, delay=0, depends=[])

    @invariant()
    def completed_jobs_carry_their_result(self) -> None:
        client = self.backends[0].client("producer")
        for jid, job in self.model.jobs.items():
            if job.state == "complete" and "resized_to" in job.data:
                assert client.jobs[jid].data["resized_to"] == job.data["resized_to"]


TestResizeWorkers = ResizeWorkers.TestCase
TestResizeWorkers.settings = settings(ResizeWorkers.TestCase.settings, max_examples=15)
