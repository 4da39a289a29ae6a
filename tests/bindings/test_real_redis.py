"""The same bindings on a real redis-server (the reqless core, loaded with SCRIPT LOAD)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

import qless_sim
from qless_sim import SimClock, SystemClock
from qless_sim.bindings import Job
from qless_sim.core import RedisTransport
from qless_sim.errors import LostLockError

sys.path.insert(0, str(Path(__file__).parent))
from test_classic import run_classic_example  # noqa: E402

pytestmark = pytest.mark.redis_server


def test_classic_example_on_redis(redis_url: str, real_redis: Any) -> None:
    client = qless_sim.client(redis_url, clock=SimClock(), worker_name="worker-a")
    assert isinstance(client.transport, RedisTransport)
    assert client.server is None
    assert client.core.name == "reqless"
    run_classic_example(client)
    # The keys are on the real server, not in a simulator.
    assert real_redis.exists("ql:j:" + client.jobs.complete()[0]) == 1


def test_host_port_db_on_redis(redis_url: str, real_redis: Any) -> None:
    parsed = urlparse(redis_url)
    db = int(parsed.path.lstrip("/") or 0)
    client = qless_sim.client(host=parsed.hostname, port=parsed.port, db=db)
    assert isinstance(client.clock, SystemClock)
    client.queue("testing").put("app.Job", {"a": 1}, jid="a")
    assert real_redis.hget("ql:j:a", "klass") == b"app.Job"
    job = client.jobs["a"]
    assert isinstance(job, Job)
    assert job.data == {"a": 1}


def test_features_on_redis(redis_url: str, real_redis: Any) -> None:
    clock = SimClock()
    client = qless_sim.client(redis_url, clock=clock, worker_name="worker-a")
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a", tags=["red"])
    job = queue.pop()
    assert job is not None
    assert job.jid == "a"
    assert job.tags == ["red"]
    queue.recur("app.Job", {}, interval=60, jid="cron")
    assert queue.jobs.recurring() == ["cron"]
    assert client.jobs.tagged("red")["total"] == 1
    assert client.config["heartbeat"] == 60
    queue.throttle.maximum = 3
    assert queue.throttle.maximum == 3

    seen: list[str] = []
    client.events.on("log", seen.append)
    client.track(job.jid)
    clock.advance(61)
    client.worker_name = "worker-b"
    queue.pop()
    clock.advance(11)
    queue.pop(5)
    client.worker_name = "worker-a"
    with pytest.raises(LostLockError):
        job.heartbeat()
    assert client.events.poll(timeout=1) >= 1
    assert seen
    client.events.close()
