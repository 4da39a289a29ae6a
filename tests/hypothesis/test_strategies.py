"""The strategies in qless_sim.hypothesis.strategies draw what their docstrings promise."""

from __future__ import annotations

import json
import re

from hypothesis import find, given, settings
from hypothesis import strategies as st

from qless_sim.bindings import Client
from qless_sim.core import SimTransport, SimulatedServer
from qless_sim.hypothesis import strategies as qs
from qless_sim.hypothesis._model import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT

FEW = settings(max_examples=40, deadline=None)
_SERVER = SimulatedServer()


def _client() -> Client:
    _SERVER.flush()
    return Client(SimTransport(_SERVER), worker_name="worker-a")


@FEW
@given(qs.job_data())
def test_job_data_is_a_json_object(data: dict[str, object]) -> None:
    assert isinstance(data, dict)
    assert json.loads(json.dumps(data)) == data


@FEW
@given(qs.job_specs())
def test_job_spec_puts_and_reads_back(spec: qs.JobSpec) -> None:
    client = _client()

    jid = client.queue("q").put(spec.klass, spec.data, **spec.options())
    job = client.jobs[jid]

    assert job is not None
    assert job.data == spec.data
    assert job.klass_name == spec.klass
    assert job.priority == spec.priority
    assert sorted(job.tags) == sorted(spec.tags)
    assert job.original_retries == spec.retries
    assert job.state == ("scheduled" if spec.delay else "waiting")


@FEW
@given(st.lists(st.sampled_from(["job-1", "job-2", "job-3"]), unique=True).flatmap(
    lambda existing: st.tuples(st.just(existing), qs.job_specs(existing))
))
def test_job_spec_depends_names_existing_jids(drawn: tuple[list[str], qs.JobSpec]) -> None:
    existing, spec = drawn

    assert set(spec.depends) <= set(existing)
    assert len(spec.depends) == len(set(spec.depends))


def test_job_spec_depends_on_listed_jobs() -> None:
    spec = find(qs.job_specs(["job-1", "job-2"]), lambda spec: len(spec.depends) == 2)

    assert sorted(spec.depends) == ["job-1", "job-2"]


@FEW
@given(qs.clock_steps())
def test_clock_steps_move_forward(seconds: int) -> None:
    assert 1 <= seconds <= DEFAULT_HEARTBEAT * 3


def test_clock_steps_cross_leases_and_grace_periods() -> None:
    for boundary in (
        DEFAULT_HEARTBEAT - 1,
        DEFAULT_HEARTBEAT,
        DEFAULT_HEARTBEAT + 1,
        DEFAULT_GRACE_PERIOD + 1,
        DEFAULT_HEARTBEAT + DEFAULT_GRACE_PERIOD + 1,
    ):
        assert find(qs.clock_steps(), lambda seconds, b=boundary: seconds == b) == boundary


def test_clock_steps_follow_a_custom_heartbeat() -> None:
    assert find(qs.clock_steps(heartbeat=300), lambda seconds: seconds == 301) == 301


def test_delays_include_none_and_past_a_lease() -> None:
    assert find(qs.delays(), lambda delay: delay == 0) == 0
    assert find(qs.delays(), lambda delay: delay > DEFAULT_HEARTBEAT) > DEFAULT_HEARTBEAT


@FEW
@given(qs.retries())
def test_retries_stay_within_qless_default(budget: int) -> None:
    assert 0 <= budget <= 5


@FEW
@given(qs.klass_names())
def test_klass_names_are_dotted_class_names(name: str) -> None:
    assert re.fullmatch(r"([a-z][a-z_]*\.)+[A-Z][a-z]+", name)


@FEW
@given(qs.tag_lists())
def test_tag_lists_are_distinct(tags: list[str]) -> None:
    assert len(tags) == len(set(tags))
    assert all(tags)


@FEW
@given(qs.priorities(), qs.queue_names(), qs.worker_names(), qs.failure_groups())
def test_names_come_from_their_pools(
    priority: int, queue: str, worker: str, group: str
) -> None:
    assert -10 <= priority <= 10
    assert queue in ("q", "q2", "q3")
    assert worker in ("worker-a", "worker-b", "worker-c")
    assert group in ("boom", "network-error", "ünïcode-error")


def test_queue_names_take_a_custom_pool() -> None:
    assert find(qs.queue_names(["only"]), lambda name: True) == "only"
