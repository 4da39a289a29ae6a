"""The same operations through qless_sim's bindings and through upstream qless-py agree.

qless-py 0.11.4 (from PyPI) drives a SimulatedServer through the redis-py
handle that `redis_client()` returns, whose EVALSHA runs the loaded core.
Both sides run qless-core d15c37c under Redis 6 rules with the same clock,
so every key they leave must be identical.
"""

from __future__ import annotations

import pkgutil
import time
from collections.abc import Callable
from typing import Any

import pytest

import qless_sim
from qless_sim import SimClock, SimulatedServer
from qless_sim.bindings import Client

qless = pytest.importorskip("qless")

WORKER = "worker-a"


class Resize:
    pass


def upstream_client(server: SimulatedServer) -> Any:
    # The url is never dialled: `redis` and the script are replaced below.
    upstream = qless.Client("redis://127.0.0.1:1/0", hostname=WORKER)
    upstream.redis = server.redis_client(decode_responses=True)
    upstream._lua = upstream.redis.register_script(
        pkgutil.get_data("qless", "qless-core/qless.lua")
    )
    return upstream


def scenario(
    client: Any, clock: SimClock, get: Callable[[str], Any], pop: Callable[[str], Any]
) -> None:
    """Run one sequence of qless operations; `client` is either library's Client."""
    testing = client.queues["testing"]
    testing.put(Resize, {"widget": "foo"}, priority=2, tags=["red", "blue"], jid="a")
    testing.put("app.jobs.Other", {"n": 1}, delay=30, retries=2, jid="b")
    testing.put("app.jobs.Other", {"n": 2}, depends=["a"], jid="c")
    client.config["heartbeat"] = 120
    clock.advance(1)

    job = pop("testing")
    assert job.jid == "a"
    job["widget"] = "bar"
    clock.advance(5)
    job.heartbeat()
    job.track()
    job.tag("green")
    job.priority = 7
    clock.advance(5)
    job.complete()

    clock.advance(30)
    second = pop("testing")
    second.fail("testing-ValueError", "went wrong")
    client.unfail("testing-ValueError", "other")

    third = pop("testing")
    third.retry(10)
    clock.advance(10)
    again = pop("testing")
    again.complete("done-queue", delay=3)

    testing.recur("app.jobs.Cron", {"r": 1}, 60, jid="cron")
    cron = pop("testing")
    assert cron.jid == "cron-1"
    cron.move("elsewhere")
    testing.pause()
    testing.unpause()
    get("b").cancel()
    clock.advance(61)
    pop("testing")


def test_same_keys_as_qless_py(
    monkeypatch: pytest.MonkeyPatch, keyspace: Callable[[Any], dict[str, Any]]
) -> None:
    ours: Client = qless_sim.client(core="qless-py", redis_rules=6, worker_name=WORKER)
    ours_clock = ours.clock
    assert isinstance(ours_clock, SimClock)

    server = SimulatedServer("qless-py", redis_rules=6)
    upstream = upstream_client(server)
    theirs_clock = server.clock
    assert isinstance(theirs_clock, SimClock)
    # qless-py stamps each command with time.time(); make that the simulated clock.
    monkeypatch.setattr(time, "time", theirs_clock.now)

    scenario(ours, ours_clock, lambda jid: ours.jobs[jid], lambda name: ours.queue(name).pop())
    scenario(
        upstream,
        theirs_clock,
        lambda jid: upstream.jobs[jid],
        lambda name: upstream.queues[name].pop(),
    )

    ours_keys = keyspace(ours.redis)
    theirs_keys = keyspace(server.redis)
    assert sorted(ours_keys) == sorted(theirs_keys)
    for key in ours_keys:
        assert ours_keys[key] == theirs_keys[key], key
    # The scenario reached every kind of record.
    assert {"ql:j:a", "ql:j:c", "ql:r:cron", "ql:tracked", "ql:config"} <= set(ours_keys)
    assert ours.jobs["a"].state == "complete"  # type: ignore[union-attr]
    assert upstream.jobs["a"].state == "complete"


def test_job_records_match_qless_py(monkeypatch: pytest.MonkeyPatch) -> None:
    ours: Client = qless_sim.client(core="qless-py", redis_rules=6, worker_name=WORKER)
    server = SimulatedServer("qless-py", redis_rules=6)
    upstream = upstream_client(server)
    monkeypatch.setattr(time, "time", server.clock.now)

    for each in (ours, upstream):
        each.queues["testing"].put(Resize, {"widget": "foo"}, tags=["t"], jid="a")
        each.queues["testing"].pop()

    mine = ours.jobs["a"]
    theirs = upstream.jobs["a"]
    fields = [
        "jid",
        "klass_name",
        "queue_name",
        "state",
        "priority",
        "tags",
        "tracked",
        "failure",
        "history",
        "dependents",
        "dependencies",
        "expires_at",
        "original_retries",
        "retries_left",
        "worker_name",
        "data",
    ]
    for field in fields:
        assert getattr(mine, field) == getattr(theirs, field), field
