"""Targeted qless-core sequences, run on the simulator and on a real redis-server.

Each step is checked by the `diff` fixture: the reply (or the error type and
its whole Redis error reply) and a dump of every key must be equal on both
sides. The asserts here check that each sequence reached the state it is
about, so a sequence that silently did nothing cannot pass.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Differential  # noqa: E402

pytestmark = pytest.mark.redis_server


def test_fractional_now_expires(diff: Differential) -> None:
    # now=1700000001.123456: cjson prints the lease expiry with 14 significant digits.
    diff.put("queue", "jid-1")

    popped = json.loads(diff.call("pop", "queue", "worker-a", 1))

    assert popped[0]["expires"] == 1700000061.1235
    assert '"expires":1700000061.1235' in diff.call("get", "jid-1")


def test_lease_expiry_hands_job_over(diff: Differential) -> None:
    diff.call("config.set", "heartbeat", 30)
    diff.put("queue", "jid-1")
    diff.call("pop", "queue", "worker-a", 1)

    diff.advance(29)
    assert diff.call("jobs", "stalled", "queue") == []
    diff.call("heartbeat", "jid-1", "worker-a", '{"progress": 1}')
    diff.advance(31)
    assert diff.call("jobs", "stalled", "queue") == ["jid-1"]
    diff.call("workers")
    diff.call("workers", "worker-a")

    # The first pop after the expiry only warns the worker and starts the
    # grace period (config grace-period, 10 s by default).
    assert diff.call("pop", "queue", "worker-b", 1) == "{}"
    diff.advance(11)
    taken = json.loads(diff.call("pop", "queue", "worker-b", 1))
    assert [job["worker"] for job in taken] == ["worker-b"]

    lost = diff.error("heartbeat", "jid-1", "worker-a", "{}")
    assert lost.error_type == "LostLockError"
    diff.error("complete", "jid-1", "worker-a", "queue", "{}")
    diff.call("complete", "jid-1", "worker-b", "queue", "{}")
    diff.call("get", "jid-1")


def test_grace_period_config(diff: Differential) -> None:
    diff.call("config.set", "grace-period", 5)
    diff.call("config.set", "heartbeat", 10)
    diff.put("queue", "jid-1")
    diff.call("pop", "queue", "worker-a", 1)

    diff.advance(12)
    diff.call("jobs", "stalled", "queue")
    diff.call("pop", "queue", "worker-b", 1)
    diff.advance(4)
    diff.call("pop", "queue", "worker-c", 1)
    diff.advance(2)
    diff.call("pop", "queue", "worker-c", 1)

    assert json.loads(diff.call("get", "jid-1"))["worker"] == "worker-c"


def test_retries_exhaustion(diff: Differential) -> None:
    diff.call("config.set", "heartbeat", 10)
    diff.call("config.set", "grace-period", 0)
    diff.put("queue", "jid-1", "tests.Job", "{}", 0, "retries", 1)

    diff.call("pop", "queue", "worker-a", 1)
    diff.advance(11)
    diff.call("pop", "queue", "worker-b", 1)
    diff.advance(11)
    diff.call("pop", "queue", "worker-c", 1)
    diff.call("failed")
    diff.call("failed", "failed-retries-queue", 0, 10)

    state = json.loads(diff.call("get", "jid-1"))["state"]
    assert state == "failed"


def test_retry_command_until_failed(diff: Differential) -> None:
    diff.put("queue", "jid-1", "tests.Job", "{}", 0, "retries", 2)

    for delay in (0, 5):
        diff.call("pop", "queue", "worker-a", 1)
        diff.call("retry", "jid-1", "queue", "worker-a", delay, "boom", "it broke")
        diff.advance(6)
    diff.call("pop", "queue", "worker-a", 1)
    remaining = diff.call("retry", "jid-1", "queue", "worker-a", 0, "boom", "broke again")

    assert remaining == -1
    assert json.loads(diff.call("failed", "boom", 0, 5))["total"] == 1


def test_fail_and_unfail(diff: Differential) -> None:
    for number in range(3):
        diff.put("queue", f"jid-{number}")
    diff.call("pop", "queue", "worker-a", 3)
    for number in range(3):
        diff.call("fail", f"jid-{number}", "worker-a", "crash", "trace\nline 2", '{"n": 1}')
    diff.call("failed")
    diff.call("failed", "crash", 1, 1)

    moved = diff.call("unfail", "other-queue", "crash", 2)
    diff.call("failed")
    diff.call("queues")

    assert moved == 2
    diff.error("fail", "jid-0", "worker-a", "crash", "not running", "{}")
    diff.error("fail", "jid-2", "worker-a", "crash", "bad data", "[}")


def test_dependencies(diff: Differential) -> None:
    diff.put("queue", "parent-1")
    diff.put("queue", "parent-2")
    diff.put("queue", "child", "tests.Job", "{}", 0, "depends", '["parent-1", "parent-2"]')
    diff.call("jobs", "depends", "queue")

    diff.call("depends", "child", "off", "parent-2")
    diff.call("depends", "child", "on", "parent-2")
    diff.call("pop", "queue", "worker-a", 2)
    diff.call("complete", "parent-1", "worker-a", "queue", "{}")
    assert json.loads(diff.call("get", "child"))["state"] == "depends"
    diff.call("complete", "parent-2", "worker-a", "queue", "{}")

    assert json.loads(diff.call("get", "child"))["state"] == "waiting"
    diff.put("queue", "grandchild", "tests.Job", "{}", 0, "depends", '["child", "gone"]')
    diff.call("depends", "grandchild", "off", "all")
    diff.call("get", "grandchild")


def test_complete_with_next_queue_and_depends(diff: Differential) -> None:
    diff.put("queue", "jid-1")
    diff.put("queue", "jid-2")
    diff.call("pop", "queue", "worker-a", 2)

    diff.call(
        "complete", "jid-1", "worker-a", "queue", '{"step": 2}', "next", "queue-2", "delay", 10
    )
    diff.call(
        "complete", "jid-2", "worker-a", "queue", "{}", "next", "queue-2", "depends", '["jid-1"]'
    )
    diff.call("jobs", "scheduled", "queue-2")
    diff.advance(11)
    diff.call("pop", "queue-2", "worker-a", 5)
    diff.call("complete", "jid-1", "worker-a", "queue-2", "{}")

    assert diff.call("jobs", "complete") == ["jid-1"]
    diff.call("pop", "queue-2", "worker-a", 5)


def test_recurring_jobs(diff: Differential) -> None:
    diff.call(
        "recur",
        "queue",
        "recur-1",
        "tests.Job",
        '{"a": 1}',
        "interval",
        60,
        0,
        "priority",
        3,
        "tags",
        '["nightly"]',
        "retries",
        2,
        "backlog",
        2,
    )
    diff.call("recur.get", "recur-1")
    diff.call("jobs", "recurring", "queue")

    diff.advance(200)
    popped = json.loads(diff.call("pop", "queue", "worker-a", 10))
    diff.call("recur.update", "recur-1", "interval", 30)
    diff.call("recur.update", "recur-1", "data", '{"b": 2}')
    diff.call("recur.update", "recur-1", "priority", 7)
    diff.call("recur.tag", "recur-1", "extra")
    diff.call("recur.untag", "recur-1", "nightly")
    diff.advance(95)
    diff.call("peek", "queue", *([0, 10] if diff.worker_put else [10]))
    diff.call("recur.get", "recur-1")
    diff.call("unrecur", "recur-1")

    # backlog 2: at most two missed runs are spawned at once.
    assert len(popped) == 2
    assert diff.call("recur.get", "recur-1") is None
    diff.error("recur.update", "recur-1", "interval", 10)


def test_tags(diff: Differential) -> None:
    diff.put("queue", "jid-1", "tests.Job", "{}", 0, "tags", '["red", "blue"]')
    diff.put("queue", "jid-2", "tests.Job", "{}", 0, "tags", '["red"]')

    diff.call("tag", "add", "jid-2", "green", "blue")
    diff.call("tag", "remove", "jid-1", "red", "absent")
    diff.call("tag", "get", "red", 0, 10)
    diff.call("tag", "get", "nobody", 0, 10)
    diff.call("tag", "top", 0, 10)
    diff.call("cancel", "jid-2")

    assert json.loads(diff.call("tag", "get", "blue", 0, 10)) == {"jobs": ["jid-1"], "total": 1}
    diff.call("tag", "top", 0, 10)


def test_tracking(diff: Differential) -> None:
    diff.put("queue", "jid-1")
    diff.put("queue", "jid-2")

    diff.call("track", "track", "jid-1")
    diff.call("track", "track", "jid-2")
    diff.call("track")
    diff.call("cancel", "jid-2")
    tracked = json.loads(diff.call("track"))
    diff.call("track", "untrack", "jid-1")
    diff.error("track", "track", "absent")

    assert [job["jid"] for job in tracked["jobs"]] == ["jid-1"]
    assert tracked["expired"] == ["jid-2"]
    assert json.loads(diff.call("track"))["jobs"] == {}


def test_stats_histograms(diff: Differential) -> None:
    for number in range(6):
        diff.put("queue", f"jid-{number}")
        diff.advance(7.25 * number)
    diff.call("pop", "queue", "worker-a", 6)
    for number in range(6):
        diff.advance(3.5 + 61 * number)
        diff.call("complete", f"jid-{number}", "worker-a", "queue", "{}")

    stats = json.loads(diff.call("stats", "queue", diff.now))
    diff.call("stats", "queue", diff.now - 86400)
    diff.call("stats", "nobody", diff.now)

    assert stats["wait"]["count"] == 6
    assert stats["run"]["count"] == 6


def test_priorities(diff: Differential) -> None:
    for number, priority in enumerate([0, 5, -2, 5, 10]):
        diff.put("queue", f"jid-{number}", "tests.Job", "{}", 0, "priority", priority)
    diff.call("priority", "jid-2", 20)
    diff.error("priority", "absent", 1)
    diff.error("priority", "jid-2", "high")

    order = [job["jid"] for job in json.loads(diff.peek("queue", 10))]

    assert order[0] == "jid-2"
    diff.call("pop", "queue", "worker-a", 10)


@pytest.mark.parametrize(
    "data",
    [
        '{"text": "caf\\u00e9 \\ud83d\\ude00"}',
        '{"text": "café 😀 日本"}',
        b'{"text": "\xff\xfe bytes \xc3"}',
        '{"empty": {}, "list": [], "null": null, "nested": {"a": [1, 2.5, -0.0, 1e300]}}',
        '{"big": 12345678901234567890, "small": 1e-7, "third": 0.3333333333333333}',
    ],
    ids=["escaped", "utf8", "invalid-utf8", "empty-tables", "numbers"],
)
def test_data_round_trip(diff: Differential, data: str | bytes) -> None:
    diff.put("queue", "jid-1", "tests.Job", data, 0, "tags", '["ünïcode", "\\u00e9"]')
    diff.call("get", "jid-1")
    diff.call("pop", "queue", "worker-ü", 1)
    diff.call("heartbeat", "jid-1", "worker-ü", data)

    diff.call("complete", "jid-1", "worker-ü", "queue", data)

    assert diff.call("jobs", "complete") == ["jid-1"]


def test_invalid_utf8_names(diff: Differential) -> None:
    diff.put(b"q\xff", b"jid-\xff", b"k\xfe")
    diff.call("queues")
    diff.call("pop", b"q\xff", b"worker\xc3", 1)
    diff.call("workers")

    job = diff.call("get", b"jid-\xff")

    # Replies that are not UTF-8 keep their bytes as surrogates.
    assert '"jid":"jid-\udcff"' in job


def test_one_mebibyte_data(diff: Differential) -> None:
    data = json.dumps({"blob": "x" * (1024 * 1024), "tail": "é"})
    diff.put("queue", "jid-1", "tests.Job", data)

    popped = json.loads(diff.call("pop", "queue", "worker-a", 1))
    diff.call("complete", "jid-1", "worker-a", "queue", data)

    assert len(popped[0]["data"]) == len(data)


def test_config(diff: Differential) -> None:
    diff.call("config.get")
    diff.call("config.get", "heartbeat")
    diff.call("config.get", "absent")

    diff.call("config.set", "heartbeat", 15)
    diff.call("config.set", "application", "app ü")
    diff.call("config.set", "queue-heartbeat", 5)
    diff.call("config.get")
    diff.call("config.unset", "heartbeat")

    assert diff.call("config.get", "heartbeat") == 60


def test_cancel(diff: Differential) -> None:
    diff.put("queue", "parent")
    diff.put("queue", "child", "tests.Job", "{}", 0, "depends", '["parent"]')
    diff.put("queue", "alone", "tests.Job", "{}", 0, "tags", '["t"]')

    diff.error("cancel", "parent")
    diff.call("cancel", "parent", "child")
    diff.call("cancel", "absent")
    diff.call("pop", "queue", "worker-a", 1)
    cancelled = diff.call("cancel", "alone")

    assert cancelled == ["alone"]
    assert [key for key in diff.dump() if key.startswith(b"ql:j:")] == []


def test_move_between_queues(diff: Differential) -> None:
    diff.put("queue-a", "jid-1", "tests.Job", '{"v": 1}', 0, "tags", '["t"]')
    diff.call("pop", "queue-a", "worker-a", 1)

    if diff.worker_put:
        diff.call("requeue", "worker-a", "queue-b", "jid-1", "tests.Job", '{"v": 2}', 5)
        diff.error("requeue", "worker-a", "queue-b", "absent", "tests.Job", "{}", 0)
    else:
        diff.put("queue-b", "jid-1", "tests.Job", '{"v": 2}', 5)
    diff.call("queues")
    diff.advance(5)
    diff.call("jobs", "scheduled", "queue-b")

    assert json.loads(diff.call("pop", "queue-b", "worker-b", 1))[0]["queue"] == "queue-b"
    diff.error("heartbeat", "jid-1", "worker-a", "{}")


def test_timeouts(diff: Differential) -> None:
    diff.put("queue", "jid-1")
    diff.put("queue", "jid-2")
    running = json.loads(diff.call("pop", "queue", "worker-a", 1))[0]["jid"]
    waiting = "jid-2" if running == "jid-1" else "jid-1"

    diff.call("timeout", running)
    diff.error("timeout", running)
    diff.error("timeout", waiting)
    diff.call("jobs", "stalled", "queue")

    assert json.loads(diff.call("get", running))["state"] == "stalled"
    diff.call("pop", "queue", "worker-b", 2)


def test_jobs_listings(diff: Differential) -> None:
    diff.put("queue", "waiting-1")
    diff.put("queue", "scheduled-1", "tests.Job", "{}", 30)
    diff.put("queue", "depends-1", "tests.Job", "{}", 0, "depends", '["waiting-1"]')
    diff.call("recur", "queue", "recur-1", "tests.Job", "{}", "interval", 60, 10)
    diff.put("queue", "running-1", "tests.Job", "{}", 0, "priority", 9)
    diff.call("pop", "queue", "worker-a", 1)

    for state in ("running", "stalled", "scheduled", "depends", "recurring"):
        diff.call("jobs", state, "queue")
        diff.call("jobs", state, "queue", 1, 1)
    diff.call("jobs", "complete")
    diff.call("jobs", "complete", 0, 1)
    diff.error("jobs", "nosuch", "queue")
    diff.error("jobs", "running")
    diff.call("queues")
    diff.call("queues", "queue")

    assert diff.call("jobs", "running", "queue") == ["running-1"]
    assert diff.call("length", "queue") == 3


def test_worker_counts(diff: Differential) -> None:
    for number in range(4):
        diff.put("queue", f"jid-{number}")
    diff.call("pop", "queue", "worker-a", 2)
    diff.call("pop", "queue", "worker-b", 1)
    diff.advance(61)
    diff.call("pop", "queue", "worker-c", 3)

    counts = json.loads(diff.call("workers"))
    diff.call("workers", "worker-a")
    diff.call("workers", "nobody")
    diff.call("worker.deregister", "worker-b")
    diff.call("workers")

    assert {entry["name"] for entry in counts} == {"worker-a", "worker-b", "worker-c"}


def test_pause_and_forget_queue(diff: Differential) -> None:
    diff.put("queue", "jid-1")
    diff.call("pause", "queue", "other")
    diff.call("pop", "queue", "worker-a", 1)
    diff.call("queues")
    diff.call("unpause", "queue")
    diff.call("pop", "queue", "worker-a", 1)

    diff.call("queue.forget", "other")

    assert json.loads(diff.call("queues", "queue"))["paused"] is False


def test_script_errors_from_bad_arguments(diff: Differential) -> None:
    diff.error("nosuch")
    diff.error("put")
    if diff.worker_put:
        diff.error("put", "me", "queue", "jid-1", "tests.Job", "[}", 0)
        diff.error("put", "me", "queue", "jid-1", "tests.Job", "{}", "soon")
    else:
        diff.error("put", "queue", "jid-1", "tests.Job", "[}", 0)
        diff.error("put", "queue", "jid-1", "tests.Job", "{}", "soon")
    diff.error("pop", "queue", "worker-a", "many")
    diff.error("get")
    diff.error("heartbeat", "absent", "worker-a", "{}")
    diff.error("recur", "queue", "recur-1", "tests.Job", "{}", "cron", "* * *")

    assert diff.call("get", "absent") is None


def test_log_history(diff: Differential) -> None:
    diff.put("queue", "jid-1")
    diff.call("log", "jid-1", "note", '{"a": [1, {}]}')
    diff.call("log", "jid-1", "plain")
    diff.error("log", "jid-1", "bad", "[}")
    diff.call("pop", "queue", "worker-a", 1)

    history = json.loads(diff.call("get", "jid-1"))["history"]

    assert [entry["what"] for entry in history] == ["put", "note", "plain", "popped"]
    diff.call("multiget", "jid-1", "absent")


def test_throttles(reqless_diff: Differential) -> None:
    diff = reqless_diff
    diff.call("throttle.set", "api", 1)
    diff.call("queue.throttle.set", "queue", 2)
    for number in range(3):
        diff.put("queue", f"jid-{number}", "tests.Job", "{}", 0, "throttles", '["api"]')

    first = [job["jid"] for job in json.loads(diff.call("pop", "queue", "worker-a", 3))]
    diff.call("throttle.locks", "api")
    diff.call("throttle.pending", "api")
    diff.call("jobs", "throttled", "queue")
    diff.call("throttle.get", "api")
    diff.call("queue.throttle.get", "queue")
    diff.call("complete", first[0], "worker-a", "queue", "{}")
    second = [job["jid"] for job in json.loads(diff.call("pop", "queue", "worker-a", 3))]
    diff.call("throttle.release", "api", second[0])
    diff.call("throttle.delete", "api")

    # maximum 1 on "api": one job runs at a time.
    assert len(first) == 1
    assert len(second) == 1
    assert diff.call("throttle.locks", "api") == []


def test_throttle_expiry_ttl(reqless_diff: Differential) -> None:
    # Key expiry follows the machine's clock on Redis and the simulated clock
    # in the simulator, so the clocks stay put while the TTL is compared.
    diff = reqless_diff
    diff.call("throttle.set", "api", 3, 3600)

    ttl = diff.call("throttle.ttl", "api")
    diff.call("throttle.set", "api", 4)
    diff.call("throttle.ttl", "api")
    diff.call("throttle.ttl", "absent")

    assert ttl == 3600
