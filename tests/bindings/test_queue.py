"""Queue: put, pop, peek, recur, stats, counts, pause, heartbeat, views, throttles."""

from __future__ import annotations

import pytest

from qless_sim.bindings import Client, Job, Queue, RecurringJob
from qless_sim.errors import UnsupportedCommandError


class Widget:
    pass


def test_put_returns_jid_and_stores_job(client: Client) -> None:
    queue = client.queue("testing")
    jid = queue.put(Widget, {"a": 1}, priority=2, tags=["x"], retries=3)
    assert len(jid) == 32
    job = client.jobs[jid]
    assert isinstance(job, Job)
    assert job.klass_name == f"{__name__}.Widget"
    assert (job.state, job.priority, job.tags, job.original_retries) == ("waiting", 2, ["x"], 3)


def test_put_delay_schedules(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="later", delay=30)
    assert queue.jobs.scheduled() == ["later"]
    assert queue.pop() is None
    client.clock.advance(30)  # type: ignore[attr-defined]
    job = queue.pop()
    assert job is not None
    assert job.jid == "later"


def test_put_depends(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="first")
    queue.put("app.Job", {}, jid="second", depends=["first"])
    assert queue.jobs.depends() == ["second"]
    job = queue.pop()
    assert job is not None
    assert job.jid == "first"
    job.complete()
    assert queue.jobs.depends() == []
    second = queue.pop()
    assert second is not None
    assert second.jid == "second"


def test_pop_orders_by_priority(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="low", priority=0)
    queue.put("app.Job", {}, jid="high", priority=10)
    assert [job.jid for job in queue.pop(2)] == ["high", "low"]


def test_peek_does_not_lease(client: Client) -> None:
    queue = client.queue("testing")
    assert queue.peek() is None
    assert queue.peek(3) == []
    queue.put("app.Job", {}, jid="a")
    # Jobs put in the same second with the same priority pop in reverse jid order.
    client.clock.advance(1)  # type: ignore[attr-defined]
    queue.put("app.Job", {}, jid="b")
    peeked = queue.peek()
    assert peeked is not None
    assert peeked.state == "waiting"
    assert [job.jid for job in queue.peek(5)] == ["a", "b"]
    assert queue.jobs.running() == []


def test_length_and_len(client: Client) -> None:
    queue = client.queue("testing")
    assert len(queue) == 0
    queue.put("app.Job", {}, jid="a")
    queue.put("app.Job", {}, jid="b", delay=5)
    queue.pop()
    assert queue.length == 2
    assert len(queue) == 2


def test_counts(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    queue.put("app.Job", {}, jid="b")
    queue.put("app.Job", {}, jid="c", delay=5)
    queue.pop()
    counts = queue.counts
    assert counts["name"] == "testing"
    assert (counts["waiting"], counts["running"], counts["scheduled"]) == (1, 1, 1)
    assert counts["paused"] is False
    assert [entry["name"] for entry in client.queues.counts] == ["testing"]


def test_queues_counts_empty_is_list(client: Client) -> None:
    assert client.queues.counts == []


def test_queues_getitem(client: Client) -> None:
    queue = client.queues["testing"]
    assert isinstance(queue, Queue)
    assert queue.name == "testing"
    assert repr(queue) == "<Queue testing>"


def test_pause_unpause(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    queue.pause()
    assert queue.paused is True
    assert queue.pop() is None
    queue.unpause()
    assert queue.paused is False
    job = queue.pop()
    assert job is not None


def test_heartbeat_setting(client: Client) -> None:
    queue = client.queue("testing")
    assert queue.heartbeat == 60
    client.config["heartbeat"] = 90
    assert queue.heartbeat == 90
    queue.heartbeat = 15
    assert queue.heartbeat == 15
    assert client.config["testing-heartbeat"] == 15
    queue.put("app.Job", {}, jid="a")
    job = queue.pop()
    assert job is not None
    assert job.remaining() == 15
    assert client.queue("other").heartbeat == 90


def test_heartbeat_call_renews(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    job = queue.pop()
    assert job is not None
    client.clock.advance(59)  # type: ignore[attr-defined]
    assert queue.heartbeat(job) == client.clock.now() + 60


def test_stats(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    client.clock.advance(4)  # type: ignore[attr-defined]
    job = queue.pop()
    assert job is not None
    client.clock.advance(2)  # type: ignore[attr-defined]
    job.complete()
    stats = queue.stats()
    assert stats["wait"]["count"] == 1
    assert stats["wait"]["mean"] == 4
    assert stats["run"]["count"] == 1
    assert stats["run"]["mean"] == 2
    assert isinstance(stats["wait"]["histogram"], list)
    assert stats["failed"] == 0
    # Two days later is another day, with no statistics yet.
    assert queue.stats(client.clock.now() + 2 * 86400)["wait"]["count"] == 0


def test_jobs_running_and_stalled(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    queue.pop()
    assert queue.jobs.running() == ["a"]
    assert queue.jobs.stalled() == []
    client.clock.advance(61)  # type: ignore[attr-defined]
    assert queue.jobs.stalled() == ["a"]
    assert queue.jobs.running() == []


def test_recur_spawns_jobs(client: Client) -> None:
    queue = client.queue("testing")
    jid = queue.recur("app.Job", {"r": 1}, interval=60, jid="recurring", tags=["cron"])
    assert jid == "recurring"
    assert queue.jobs.recurring() == ["recurring"]
    first = queue.pop()
    assert first is not None
    assert first.jid == "recurring-1"
    assert first.data == {"r": 1}
    assert first.tags == ["cron"]
    assert queue.pop() is None
    client.clock.advance(60)  # type: ignore[attr-defined]
    second = queue.pop()
    assert second is not None
    assert second.jid == "recurring-2"


def test_recurring_job_fields_and_setters(client: Client) -> None:
    queue = client.queue("testing")
    queue.recur("app.Job", {"r": 1}, interval=60, offset=10, jid="recurring", priority=1)
    recurring = client.jobs["recurring"]
    assert isinstance(recurring, RecurringJob)
    assert (recurring.klass_name, recurring.queue_name) == ("app.Job", "testing")
    assert (recurring.interval, recurring.priority, recurring.retries) == (60, 1, 5)
    assert recurring.count == 0
    assert recurring.tags == []
    assert recurring.next == client.clock.now() + 10

    recurring.priority = 4
    recurring.retries = 2
    recurring.interval = 30
    recurring.data = {"r": 2}
    recurring.klass = Widget
    recurring.backlog = 3
    stored = client.jobs["recurring"]
    assert isinstance(stored, RecurringJob)
    assert (stored.priority, stored.retries, stored.interval) == (4, 2, 30)
    assert stored.data == {"r": 2}
    assert stored.klass_name == f"{__name__}.Widget"
    assert stored.klass is Widget
    assert stored.backlog == 3


def test_recurring_job_tag_move_cancel(client: Client) -> None:
    client.queue("testing").recur("app.Job", {}, interval=60, jid="recurring")
    recurring = client.jobs["recurring"]
    assert isinstance(recurring, RecurringJob)
    assert recurring.tag("a", "b") == ["a", "b"]
    assert recurring.untag("a") == ["b"]
    recurring.move("other")
    assert client.queue("other").jobs.recurring() == ["recurring"]
    assert client.queue("testing").jobs.recurring() == []
    assert recurring.next == client.clock.now()
    recurring.cancel()
    assert client.jobs["recurring"] is None
    assert recurring.next is None


def test_throttles_on_reqless(reqless_client: Client) -> None:
    queue = reqless_client.queue("testing")
    queue.throttle.maximum = 1
    assert queue.throttle.maximum == 1
    queue.put("app.Job", {}, jid="a")
    reqless_client.clock.advance(1)  # type: ignore[attr-defined]
    queue.put("app.Job", {}, jid="b")
    assert [job.jid for job in queue.pop(2)] == ["a"]
    assert queue.throttle.locks() == ["a"]

    named = reqless_client.throttles["shared"]
    named.set_maximum(2, expiration=100)
    assert named.maximum == 2
    assert named.ttl() == 100
    reqless_client.queue("other").put("app.Job", {}, jid="c", throttles=["shared"])
    job = reqless_client.jobs["c"]
    assert isinstance(job, Job)
    assert "shared" in job.throttles
    named.delete()
    assert named.maximum == 0


def test_throttles_missing_on_legacy_core(legacy_client: Client) -> None:
    with pytest.raises(UnsupportedCommandError) as raised:
        legacy_client.queue("testing").throttle  # noqa: B018
    assert str(raised.value) == (
        "queue.throttle needs a core with throttles, and qless-py 0.11.4 (qless-core d15c37c, "
        "2016 API) has none; load the 'reqless' core (core='reqless')"
    )
    with pytest.raises(UnsupportedCommandError, match=r"^put\(throttles=\.\.\.\) needs a core"):
        legacy_client.queue("testing").put("app.Job", {}, throttles=["t"])
    assert legacy_client.redis.keys("*") == []
    with pytest.raises(UnsupportedCommandError, match=r"^throttles needs a core"):
        legacy_client.throttles["t"]  # noqa: B018
