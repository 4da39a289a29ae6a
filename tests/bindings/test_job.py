"""Job: fields and every method, on both core editions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qless_sim.bindings import Client, Job
from qless_sim.errors import InvalidArgumentError, JobNotFoundError, LostLockError, QlessError

sys.path.insert(0, str(Path(__file__).parent))
import jobs_for_tests  # noqa: E402


def put_and_pop(
    client: Client, queue: str = "testing", jid: str = "jid-1", **options: object
) -> Job:
    client.queue(queue).put(
        "app.jobs.Resize",
        {"widget": "foo"},
        jid=jid,
        **options,  # type: ignore[arg-type]
    )
    job = client.queue(queue).pop()
    assert job is not None
    return job


def get(client: Client, jid: str) -> Job:
    job = client.jobs[jid]
    assert isinstance(job, Job)
    return job


def test_job_fields(client: Client) -> None:
    client.queue("testing").put(
        "app.jobs.Resize", {"widget": "foo"}, priority=3, tags=["a", "b"], retries=2, jid="jid-1"
    )
    job = client.queue("testing").pop()
    assert job is not None
    assert job.jid == job.id == "jid-1"
    assert job.klass_name == "app.jobs.Resize"
    assert job.queue_name == "testing"
    assert job.queue.name == "testing"
    assert job.state == "running"
    assert job.priority == 3
    assert job.tags == ["a", "b"]
    assert job.tracked is False
    assert job.failure == {}
    assert [entry["what"] for entry in job.history] == ["put", "popped"]
    assert job.dependents == []
    assert job.dependencies == []
    assert job.worker_name == job.worker == "worker-a"
    assert job.expires_at == client.clock.now() + 60
    assert job.ttl == 60
    assert job.original_retries == 2
    assert job.retries_left == 2
    assert repr(job) == "<Job app.jobs.Resize jid-1>"


def test_job_empty_lists_are_lists(client: Client) -> None:
    client.queue("testing").put("app.jobs.Resize", {}, jid="jid-1")
    job = get(client, "jid-1")
    # qless-core encodes these empty arrays as `{}`.
    assert job.tags == []
    assert job.dependents == []
    assert job.dependencies == []
    assert job.worker_name == ""
    assert job.expires_at == 0


def test_job_missing_item_is_none(client: Client) -> None:
    job = put_and_pop(client)
    assert job["nothing"] is None


def test_job_priority_setter_persists(client: Client) -> None:
    job = put_and_pop(client)
    job.priority = 7
    assert job.priority == 7
    assert get(client, "jid-1").priority == 7


def test_job_priority_rejects_str(client: Client) -> None:
    job = put_and_pop(client)
    with pytest.raises(InvalidArgumentError, match=r"priority '7' is not an int"):
        job.priority = "7"  # type: ignore[assignment]
    assert get(client, "jid-1").priority == 0


def test_job_heartbeat_saves_data(client: Client) -> None:
    job = put_and_pop(client)
    client.clock.advance(30)  # type: ignore[attr-defined]
    job["widget"] = "bar"
    assert job.heartbeat() == client.clock.now() + 60
    assert job.expires_at == client.clock.now() + 60
    assert get(client, "jid-1").data == {"widget": "bar"}


def test_job_heartbeat_after_takeover_loses_lock(client: Client) -> None:
    job = put_and_pop(client)
    client.clock.advance(61)  # type: ignore[attr-defined]
    client.worker_name = "worker-b"
    # The first pop after expiry starts qless-core's grace period.
    client.queue("testing").pop()
    client.clock.advance(11)  # type: ignore[attr-defined]
    takeover = client.queue("testing").pop()
    assert takeover is not None
    assert takeover.worker_name == "worker-b"

    client.worker_name = "worker-a"
    with pytest.raises(LostLockError) as raised:
        job.heartbeat()
    assert "worker-b" in raised.value.message
    assert raised.value.message.startswith("Heartbeat(): Job ")
    with pytest.raises(LostLockError):
        job.complete()


def test_job_complete(client: Client) -> None:
    job = put_and_pop(client)
    job["widget"] = "done"
    assert job.complete() == "complete"
    record = get(client, "jid-1")
    assert record.state == "complete"
    assert record.data == {"widget": "done"}
    assert client.jobs.complete() == ["jid-1"]


def test_job_complete_next_queue(client: Client) -> None:
    job = put_and_pop(client)
    assert job.complete(next="other", delay=10) == "scheduled"
    assert client.queue("other").jobs.scheduled() == ["jid-1"]
    client.clock.advance(10)  # type: ignore[attr-defined]
    moved = client.queue("other").pop()
    assert moved is not None
    assert moved.jid == "jid-1"


def test_job_complete_next_depends(client: Client) -> None:
    client.queue("testing").put("app.jobs.Resize", {}, jid="blocker")
    job = put_and_pop(client, queue="first")
    assert job.complete(next="other", depends=["blocker"]) == "depends"
    assert client.queue("other").jobs.depends() == ["jid-1"]


def test_job_complete_delay_without_next(client: Client) -> None:
    job = put_and_pop(client)
    with pytest.raises(InvalidArgumentError, match=r"without next.*pass next=<queue name>"):
        job.complete(delay=5)
    assert get(client, "jid-1").state == "running"


def test_job_fail(client: Client) -> None:
    job = put_and_pop(client)
    assert job.fail("testing-ValueError", "went wrong") == "jid-1"
    record = get(client, "jid-1")
    assert record.state == "failed"
    assert record.failure["group"] == "testing-ValueError"
    assert record.failure["message"] == "went wrong"
    assert record.failure["worker"] == "worker-a"
    assert client.jobs.failed() == {"testing-ValueError": 1}


def test_job_retry(client: Client) -> None:
    job = put_and_pop(client, retries=1)
    assert job.retry(delay=5) == 0
    assert client.queue("testing").jobs.scheduled() == ["jid-1"]
    client.clock.advance(5)  # type: ignore[attr-defined]
    again = client.queue("testing").pop()
    assert again is not None
    assert again.retries_left == 0
    assert again.retry(group="testing-Timeout", message="gave up") < 0
    record = get(client, "jid-1")
    assert record.state == "failed"
    assert record.failure["group"] == "testing-Timeout"


def test_job_retry_group_without_message(client: Client) -> None:
    job = put_and_pop(client)
    with pytest.raises(InvalidArgumentError, match=r"pass both group and message or neither"):
        job.retry(group="g")


def test_job_cancel(client: Client) -> None:
    job = put_and_pop(client)
    assert job.cancel() == ["jid-1"]
    assert client.jobs["jid-1"] is None
    with pytest.raises(JobNotFoundError):
        job.priority = 4


def test_job_move(client: Client) -> None:
    client.queue("testing").put("app.jobs.Resize", {"a": 1}, priority=5, tags=["t"], jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    assert job.move("other") == "jid-1"
    moved = get(client, "jid-1")
    assert moved.queue_name == "other"
    assert moved.state == "waiting"
    assert moved.priority == 5
    assert moved.tags == ["t"]
    assert moved.data == {"a": 1}
    with pytest.raises(LostLockError):
        job.heartbeat()


def test_job_track_untrack(client: Client) -> None:
    job = put_and_pop(client)
    job.track()
    assert job.tracked is True
    assert get(client, "jid-1").tracked is True
    assert [each.jid for each in client.jobs.tracked()["jobs"]] == ["jid-1"]
    job.untrack()
    assert job.tracked is False
    assert client.jobs.tracked() == {"jobs": [], "expired": []}


def test_job_tag_untag(client: Client) -> None:
    job = put_and_pop(client)
    assert job.tag("red", "blue") == ["red", "blue"]
    assert get(client, "jid-1").tags == ["red", "blue"]
    assert client.jobs.tagged("red") == {"total": 1, "jobs": ["jid-1"]}
    assert job.untag("red") == ["blue"]
    assert job.untag("blue") == []
    assert client.jobs.tagged("red") == {"total": 0, "jobs": []}


def test_job_depend_undepend(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.jobs.Resize", {}, jid="a")
    queue.put("app.jobs.Resize", {}, jid="b")
    queue.put("app.jobs.Resize", {}, jid="c", depends=["a"])
    job = get(client, "c")
    assert job.state == "depends"
    assert job.dependencies == ["a"]
    assert job.depend("b") is True
    assert sorted(get(client, "c").dependencies) == ["a", "b"]
    assert get(client, "b").dependents == ["c"]
    assert job.undepend("a") is True
    assert get(client, "c").dependencies == ["b"]
    assert job.undepend(all=True) is True
    assert get(client, "c").state == "waiting"


def test_job_undepend_jids_and_all(client: Client) -> None:
    client.queue("testing").put("app.jobs.Resize", {}, jid="a")
    client.queue("testing").put("app.jobs.Resize", {}, jid="c", depends=["a"])
    with pytest.raises(InvalidArgumentError, match=r"pass jids or all=True, not both"):
        get(client, "c").undepend("a", all=True)
    assert get(client, "c").dependencies == ["a"]


def test_job_depend_outside_depends_state(client: Client) -> None:
    job = put_and_pop(client)
    with pytest.raises(QlessError, match=r"^Depends\(\): Job jid-1 not in the depends state"):
        job.depend("other")


def test_job_timeout(client: Client) -> None:
    job = put_and_pop(client)
    job.timeout()
    record = get(client, "jid-1")
    assert record.state == "stalled"
    assert client.queue("testing").jobs.stalled() == []
    with pytest.raises(LostLockError):
        job.heartbeat()


def test_job_log(client: Client) -> None:
    job = put_and_pop(client)
    job.log("resized", {"size": 3})
    entry = get(client, "jid-1").history[-1]
    assert entry["what"] == "resized"
    assert entry["size"] == 3


def test_job_remaining_follows_clock(client: Client) -> None:
    job = put_and_pop(client)
    client.clock.advance(75)  # type: ignore[attr-defined]
    assert job.remaining() == -15


def test_process_queue_method(client: Client) -> None:
    client.queue("testing").put(jobs_for_tests.Resize, {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    assert job.klass is jobs_for_tests.Resize
    job.process()
    assert ("testing", "jid-1") in jobs_for_tests.calls
    assert get(client, "jid-1").state == "complete"


def test_process_falls_back_to_process(client: Client) -> None:
    client.queue("other").put(jobs_for_tests.Resize, {}, jid="jid-2")
    job = client.queue("other").pop()
    assert job is not None
    job.process()
    assert ("process", "jid-2") in jobs_for_tests.calls
    assert get(client, "jid-2").state == "complete"


def test_process_exception_fails_job(client: Client) -> None:
    client.queue("testing").put(jobs_for_tests.Broken, {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    job.process()
    failure = get(client, "jid-1").failure
    assert failure["group"] == "testing-ValueError"
    assert failure["message"].startswith("Traceback (most recent call last):")
    assert failure["message"].rstrip().endswith("ValueError: widget is missing")


def test_process_missing_method(client: Client) -> None:
    client.queue("testing").put(jobs_for_tests.NoMethod, {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    job.process()
    failure = get(client, "jid-1").failure
    assert failure["group"] == "testing-method-missing"
    assert failure["message"] == (
        'jobs_for_tests.NoMethod is missing a method "testing" or "process"'
    )


def test_process_non_static_method(client: Client) -> None:
    client.queue("testing").put(jobs_for_tests.Bound, {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    job.process()
    failure = get(client, "jid-1").failure
    assert failure["group"] == "testing-method-type"
    assert failure["message"].endswith(" is not static")


def test_process_import_error(client: Client) -> None:
    client.queue("testing").put("no_such_module_here.Job", {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    job.process()
    failure = get(client, "jid-1").failure
    assert failure["group"] == "testing-ModuleNotFoundError"
    assert failure["message"] == "Failed to import no_such_module_here.Job"


def test_process_missing_class_attribute(client: Client) -> None:
    client.queue("testing").put("jobs_for_tests.Missing", {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    job.process()
    assert get(client, "jid-1").failure["group"] == "testing-AttributeError"
