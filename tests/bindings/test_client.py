"""Client: jobs, workers, config, track, tags, unfail, worker_name, events, the factory."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

import qless_sim
from qless_sim import SimClock, SimulatedServer
from qless_sim.bindings import Client, Job, default_worker_name
from qless_sim.errors import InvalidArgumentError


def test_client_attributes(client: Client) -> None:
    assert client.clock is client.transport.clock
    assert client.core is client.transport.core
    assert client.server is not None
    assert client.server.clock is client.clock
    client.redis.set("probe", "1")
    assert client.server.redis.get("probe") == "1"


def test_default_worker_name() -> None:
    assert default_worker_name() == f"{socket.gethostname()}-{os.getpid()}"
    assert qless_sim.client().worker_name == default_worker_name()


def test_worker_name_settable(client: Client) -> None:
    client.worker_name = "worker-z"
    client.queue("testing").put("app.Job", {}, jid="a")
    job = client.queue("testing").pop()
    assert job is not None
    assert job.worker_name == "worker-z"
    with pytest.raises(InvalidArgumentError, match=r"^worker_name '' is invalid"):
        client.worker_name = ""


def test_jobs_getitem_missing_is_none(client: Client) -> None:
    assert client.jobs["nothing"] is None


def test_jobs_get_many(client: Client) -> None:
    client.queue("testing").put("app.Job", {}, jid="a")
    client.queue("testing").put("app.Job", {}, jid="b")
    assert [job.jid for job in client.jobs.get("a", "b")] == ["a", "b"]
    assert client.jobs.get() == []


def test_jobs_complete(client: Client) -> None:
    assert client.jobs.complete() == []
    client.queue("testing").put("app.Job", {}, jid="a")
    job = client.queue("testing").pop()
    assert job is not None
    job.complete()
    assert client.jobs.complete() == ["a"]


def test_jobs_failed_groups(client: Client) -> None:
    assert client.jobs.failed() == {}
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    queue.put("app.Job", {}, jid="b")
    for job in queue.pop(2):
        job.fail("boom", "it broke")
    assert client.jobs.failed() == {"boom": 2}
    failed = client.jobs.failed("boom")
    assert failed["total"] == 2
    assert sorted(job.jid for job in failed["jobs"]) == ["a", "b"]
    assert all(isinstance(job, Job) for job in failed["jobs"])
    assert client.jobs.failed("none") == {"total": 0, "jobs": []}


def test_unfail(client: Client) -> None:
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    job = queue.pop()
    assert job is not None
    job.fail("boom", "it broke")
    assert client.unfail("boom", "retry-queue") == 1
    assert client.jobs.failed() == {}
    moved = client.queue("retry-queue").pop()
    assert moved is not None
    assert moved.jid == "a"


def test_track_untrack_by_jid(client: Client) -> None:
    client.queue("testing").put("app.Job", {}, jid="a")
    client.track("a")
    tracked = client.jobs.tracked()
    assert [job.jid for job in tracked["jobs"]] == ["a"]
    assert tracked["expired"] == []
    client.untrack("a")
    assert client.jobs.tracked()["jobs"] == []


def test_tags_top(client: Client) -> None:
    assert client.tags() == []
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a", tags=["red", "blue"])
    queue.put("app.Job", {}, jid="b", tags=["red"])
    queue.put("app.Job", {}, jid="c", tags=["red", "blue"])
    # qless-core's `tag top` lists tags used by more than one job.
    assert client.tags() == ["red", "blue"]


def test_workers(client: Client) -> None:
    assert client.workers.counts == []
    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    queue.pop()
    assert client.workers.counts == [{"name": "worker-a", "jobs": 1, "stalled": 0}]
    assert client.workers["worker-a"] == {"jobs": ["a"], "stalled": []}
    client.clock.advance(61)  # type: ignore[attr-defined]
    assert client.workers["worker-a"] == {"jobs": [], "stalled": ["a"]}
    assert client.workers["nobody"] == {"jobs": [], "stalled": []}


def test_config_defaults(client: Client) -> None:
    config = client.config
    assert config["heartbeat"] == 60
    assert config["grace-period"] == 10
    assert config["jobs-history"] == 604800
    assert config["jobs-history-count"] == 50000
    assert config["stats-history"] == 30
    assert config["histogram-history"] == 7
    assert config["application"] == "qless"
    assert len(config) == 7
    assert "heartbeat" in config
    assert "nothing" not in config
    assert config.get("nothing", 5) == 5


def test_config_set_and_delete(client: Client) -> None:
    config = client.config
    config["heartbeat"] = 30
    config["custom"] = "text"
    config["flags"] = {"on": True}
    assert config["heartbeat"] == 30
    assert config["custom"] == "text"
    assert config["flags"] == {"on": True}
    assert config.all["heartbeat"] == 30
    del config["heartbeat"]
    assert config["heartbeat"] == 60
    del config["custom"]
    assert "custom" not in config
    with pytest.raises(KeyError):
        config["custom"]  # noqa: B018
    with pytest.raises(KeyError):
        del config["custom"]


def test_config_clear_restores_defaults(client: Client) -> None:
    client.config.update({"heartbeat": 5, "custom": 1})
    client.config.clear()
    assert client.config["heartbeat"] == 60
    assert "custom" not in client.config


def test_events_callbacks(client: Client) -> None:
    seen: list[tuple[str, str]] = []
    for event in ("put", "popped", "completed", "track", "canceled", "failed"):
        client.events.on(event, lambda data, event=event: seen.append((event, data)))
    logged: list[dict[str, str]] = []
    client.events.on("log", lambda data: logged.append(json.loads(data)))

    queue = client.queue("testing")
    queue.put("app.Job", {}, jid="a")
    client.track("a")
    job = queue.pop()
    assert job is not None
    job.complete()
    queue.put("app.Job", {}, jid="a")
    job = queue.pop()
    assert job is not None
    job.fail("boom", "it broke")
    job.cancel()

    # qless-core publishes job events on ql:<event> for tracked jobs only,
    # and a `log` entry for every job.
    assert client.events.poll() == len(seen) + len(logged)
    assert seen == [
        ("track", "a"),
        ("popped", "a"),
        ("completed", "a"),
        ("put", "a"),
        ("popped", "a"),
        ("failed", "a"),
        ("canceled", "a"),
    ]
    assert logged[0] == {"jid": "a", "event": "put", "queue": "testing"}
    assert client.events.poll() == 0


def test_events_off(client: Client) -> None:
    seen: list[str] = []
    client.events.on("log", seen.append)
    assert client.events.off("log") is not None
    client.queue("testing").put("app.Job", {}, jid="a")
    assert client.events.poll() == 1
    assert seen == []


def test_events_thread(client: Client) -> None:
    seen: list[str] = []
    arrived = threading.Event()

    def on_log(data: str) -> None:
        seen.append(data)
        arrived.set()

    client.events.on("log", on_log)
    with client.events.thread():
        client.queue("testing").put("app.Job", {}, jid="a")
        assert arrived.wait(timeout=5)
    assert [json.loads(data)["jid"] for data in seen] == ["a"]


def test_events_unknown_name(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        client.events.on("exploded", print)
    assert str(raised.value) == (
        "unknown event 'exploded'; qless-core publishes canceled, completed, failed, log, "
        "popped, put, stalled, track, untrack"
    )


def test_factory_uses_given_server() -> None:
    server = SimulatedServer(clock=SimClock(100.0))
    client = qless_sim.client(server=server)
    assert client.server is server
    assert client.clock.now() == 100.0


def test_factory_clock_and_core() -> None:
    clock = SimClock(5.0)
    client = qless_sim.client(core="qless-py", redis_rules=6, clock=clock)
    assert client.clock is clock
    assert client.core.name == "qless-py"
    assert client.server is not None
    assert client.server.redis_rules == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"url": "redis://127.0.0.1:1/0", "server": "server"},
            "client(server=...) runs on the simulator, so it cannot be combined with a url or "
            "host; pass one or the other",
        ),
        (
            {"host": "127.0.0.1", "redis_rules": 6},
            "redis_rules=6 applies only to the simulator; a real Redis applies its own "
            "version's rules, so drop redis_rules",
        ),
        (
            {"url": "redis://127.0.0.1:1/0", "port": 1},
            "client('redis://127.0.0.1:1/0', host=..., port=..., db=...): pass either a url or "
            "host/port/db, not both",
        ),
        (
            {"port": 6379},
            "client(port=6379, db=None) without a host or url would run on the simulator and "
            "ignore them; pass host='127.0.0.1' too, or drop them",
        ),
        (
            {"server": "server", "clock": SimClock()},
            "client(server=...) uses that server's core, clock and Redis rules; drop core, "
            "clock and redis_rules, or build the server with them",
        ),
    ],
)
def test_factory_rejects_conflicting_arguments(kwargs: dict[str, object], message: str) -> None:
    if kwargs.get("server") == "server":
        kwargs["server"] = SimulatedServer()
    with pytest.raises(InvalidArgumentError) as raised:
        qless_sim.client(**kwargs)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_call_returns_raw_reply(client: Client) -> None:
    client.queue("testing").put("app.Job", {}, jid="a")
    assert client.call("length", "testing") == 1
    assert client("length", "testing") == 1


def test_client_rejects_bad_url() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        qless_sim.client("http://127.0.0.1:6379/0")
    message = str(raised.value)
    assert message.startswith("client('http://127.0.0.1:6379/0'): Redis URL must specify")
    assert message.endswith("pass a URL such as redis://127.0.0.1:6379/0")


def test_client_rejects_database_that_is_not_a_number() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        qless_sim.client("redis://127.0.0.1:6379/abc")
    assert str(raised.value) == (
        "client('redis://127.0.0.1:6379/abc'): the database 'abc' is not a number; pass a URL "
        "such as redis://127.0.0.1:6379/0"
    )


@pytest.mark.parametrize("value", [-3, 0, "soon", True, None])
def test_config_rejects_bad_lease_length(value: object) -> None:
    client = qless_sim.client()
    with pytest.raises(InvalidArgumentError) as raised:
        client.config["heartbeat"] = value
    assert str(raised.value) == (
        f"config['heartbeat'] = {value!r} is invalid: a lease length must be a number of "
        "seconds > 0, e.g. 60"
    )
    assert client.config["heartbeat"] == 60


def test_config_accepts_queue_lease_length() -> None:
    client = qless_sim.client()
    client.config["testing-heartbeat"] = "30"
    assert client.config["testing-heartbeat"] == 30
