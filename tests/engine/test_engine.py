from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from qless_sim import SimClock
from qless_sim.core import ApiEdition, RedisTransport, SimTransport, SimulatedServer, load_core
from qless_sim.errors import (
    LostLockError,
    QlessError,
    RedisRulesError,
    ScriptError,
    UnsupportedCommandError,
)

START = 1_700_000_000.0

# (core, Redis rules it runs under): the qless-py core writes table.extend,
# which only Redis before 6.2.7 accepts.
CORES = [("reqless", 7), ("qless-py", 6)]


@pytest.fixture(params=CORES, ids=[name for name, _ in CORES])
def server(request: pytest.FixtureRequest) -> SimulatedServer:
    core, rules = request.param
    return SimulatedServer(core, clock=SimClock(START), redis_rules=rules)


def put(qless: Any, queue: str, jid: str, data: dict[str, Any], delay: float = 0) -> Any:
    """Put through whichever API edition the core has."""
    args: list[Any] = [queue, jid, "tests.Job", json.dumps(data), delay]
    if qless.core.edition is ApiEdition.WORKER_PUT:
        args.insert(0, "producer")
    return qless.call("put", *args)


def pop(qless: Any, queue: str, worker: str, count: int = 1) -> list[dict[str, Any]]:
    reply = qless.call("pop", queue, worker, count)
    jobs = json.loads(reply)
    # qless-core's cjson encodes an empty list as {}.
    return jobs if isinstance(jobs, list) else []


def grace_period(qless: Any) -> float:
    return float(qless.call("config.get", "grace-period"))


def test_lease_lapses_to_another_worker(server: SimulatedServer) -> None:
    qless = SimTransport(server)
    assert put(qless, "testing", "jid-1", {"widget": "foo"}) == "jid-1"

    [job] = pop(qless, "testing", "worker-a")
    assert job["worker"] == "worker-a"
    assert job["expires"] == START + 60

    server.clock.advance(30)
    renewed = qless.call("heartbeat", "jid-1", "worker-a", json.dumps({"widget": "bar"}))
    assert float(renewed) == START + 30 + 60

    # Past the lease, the first pop sends a lock_lost event and extends the
    # lock by the grace period. The pop after the grace period takes the job.
    server.clock.advance(61)
    pop(qless, "testing", "worker-b")
    server.clock.advance(grace_period(qless) + 1)
    [taken] = pop(qless, "testing", "worker-b")
    assert taken["jid"] == "jid-1"
    assert taken["worker"] == "worker-b"
    assert json.loads(taken["data"]) == {"widget": "bar"}

    with pytest.raises(LostLockError) as heartbeat:
        qless.call("heartbeat", "jid-1", "worker-a", "{}")
    assert heartbeat.value.message == "Heartbeat(): Job given out to another worker: worker-b"
    with pytest.raises(LostLockError) as complete:
        qless.call("complete", "jid-1", "worker-a", "testing", "{}")
    assert complete.value.message == (
        "Complete(): Job has been handed out to another worker: worker-b"
    )


def lease_session(
    server: SimulatedServer, keyspace: Callable[[Any], dict[str, Any]]
) -> tuple[list[Any], dict[str, Any]]:
    qless = SimTransport(server)
    replies = [put(qless, "testing", f"jid-{n}", {"n": n}) for n in range(3)]
    replies.append(qless.call("pop", "testing", "worker-a", 2))
    server.clock.advance(75)
    replies.append(qless.call("pop", "testing", "worker-b", 3))
    server.clock.advance(11)
    replies.append(qless.call("pop", "testing", "worker-b", 3))
    return replies, keyspace(server.redis)


@pytest.mark.parametrize(("core", "rules"), CORES)
def test_runs_are_repeatable(
    core: str, rules: int, keyspace: Callable[[Any], dict[str, Any]]
) -> None:
    first = lease_session(SimulatedServer(core, clock=SimClock(START), redis_rules=rules), keyspace)
    second = lease_session(
        SimulatedServer(core, clock=SimClock(START), redis_rules=rules), keyspace
    )
    assert first == second
    assert first[1]  # the session left keys to compare


def test_delayed_job_due_at_delay(server: SimulatedServer) -> None:
    qless = SimTransport(server)
    put(qless, "testing", "later", {}, delay=30)

    server.clock.advance(29)
    assert pop(qless, "testing", "worker-a") == []

    server.clock.advance(1)
    [job] = pop(qless, "testing", "worker-a")
    assert job["jid"] == "later"


def test_script_compiled_once(server: SimulatedServer) -> None:
    qless = SimTransport(server)
    for n in range(20):
        put(qless, "testing", f"jid-{n}", {})
    pop(qless, "testing", "worker-a", 20)
    assert server.calls == 21
    assert server.compilations == 1


def test_unknown_command(server: SimulatedServer) -> None:
    with pytest.raises(UnsupportedCommandError) as raised:
        SimTransport(server).call("frobnicate")
    assert raised.value.message == (
        "Unknown command frobnicate: the loaded core has no 'frobnicate' command"
    )
    assert raised.value.command == "frobnicate"


def test_core_argument_check(server: SimulatedServer) -> None:
    with pytest.raises(QlessError) as raised:
        SimTransport(server).call("pop", "testing", "worker-a", "many")
    assert raised.value.message == 'Pop(): Arg "count" missing or not a number: many'
    assert raised.value.reply.startswith("ERR ")


def test_error_reply_in_redis_7_wording() -> None:
    server = SimulatedServer("reqless", clock=SimClock(START))
    with pytest.raises(UnsupportedCommandError) as raised:
        SimTransport(server).call("frobnicate")
    reply = raised.value.reply
    assert reply.startswith("ERR user_script:")
    assert ": Unknown command frobnicate script: " in reply
    assert reply.endswith(".")
    assert f"script: {server.runtime.sha}, on @user_script:" in reply


def test_qless_py_core_fails_under_redis_7_rules() -> None:
    server = SimulatedServer("qless-py", clock=SimClock(START), redis_rules=7)
    with pytest.raises(ScriptError) as raised:
        SimTransport(server).call("config.get", "heartbeat")
    message = raised.value.message
    assert message.startswith("Attempt to modify a readonly table: core qless-py 0.11.4")
    assert "which Redis 6.2.7 and later reject" in message
    assert "redis_rules=6" in message
    assert "user_script:" in raised.value.reply


@pytest.mark.parametrize("rules", [4, 8, "seven", True])
def test_invalid_redis_rules_rejected(rules: object) -> None:
    with pytest.raises(RedisRulesError) as raised:
        SimulatedServer(redis_rules=rules)  # type: ignore[arg-type]
    assert f"redis_rules={rules!r} is not supported; use one of 5, 6, 7" in str(raised.value)


def test_redis_rules_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLESS_SIM_REDIS_RULES", "6")
    assert SimulatedServer().redis_rules == 6
    monkeypatch.setenv("QLESS_SIM_REDIS_RULES", "9")
    with pytest.raises(RedisRulesError) as raised:
        SimulatedServer()
    assert str(raised.value).startswith("QLESS_SIM_REDIS_RULES: redis_rules='9' is not supported")


def test_redis_handle_sees_script_keys(server: SimulatedServer) -> None:
    qless = SimTransport(server)
    put(qless, "testing", "jid-1", {"widget": "foo"})
    assert server.redis.zrange("ql:q:testing-work", 0, -1) == ["jid-1"]
    assert server.redis.hget("ql:j:jid-1", "state") == "waiting"


def test_flush_keeps_runtime(server: SimulatedServer) -> None:
    qless = SimTransport(server)
    put(qless, "testing", "jid-1", {})
    server.flush()
    assert server.redis.keys("*") == []
    assert pop(qless, "testing", "worker-a") == []
    assert server.compilations == 1


def test_threads_pop_each_job_once(server: SimulatedServer) -> None:
    qless = SimTransport(server)
    for n in range(40):
        put(qless, "testing", f"jid-{n}", {"n": n})

    popped: list[str] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while True:
                jobs = pop(qless, "testing", name, 3)
                if not jobs:
                    return
                popped.extend(job["jid"] for job in jobs)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(popped) == sorted(f"jid-{n}" for n in range(40))


def test_upstream_client_runs_on_engine() -> None:
    import qless as qless_py

    server = SimulatedServer("qless-py", clock=SimClock(START), redis_rules=6)
    client = qless_py.Client()
    client.redis = server.redis_client()
    client._lua = client.redis.register_script(server.core.source)
    jid = client.queues["testing"].put(qless_py.Job, {"widget": "foo"})
    assert server.calls == 1
    assert server.redis.hget(f"ql:j:{jid.decode()}", "state") == "waiting"
    assert server.compilations == 1


@pytest.mark.redis_server
def test_real_redis_transport_same_replies(real_redis: Any) -> None:
    core = load_core("reqless")
    simulated = SimTransport(SimulatedServer(core, clock=SimClock(START)))
    real = RedisTransport(real_redis, core, clock=SimClock(START))
    for qless in (simulated, real):
        put(qless, "testing", "jid-1", {"widget": "foo"})
    assert simulated.call("pop", "testing", "worker-a", 1) == real.call(
        "pop", "testing", "worker-a", 1
    )
    for qless in (simulated, real):
        with pytest.raises(UnsupportedCommandError) as raised:
            qless.call("frobnicate")
        assert raised.value.message.startswith("Unknown command frobnicate")


def test_status_reply_decoded_as_text() -> None:
    from qless_sim.core import decode_reply

    server = SimulatedServer("reqless", clock=SimClock(START))
    server.runtime._chunk = server.runtime._compile(b"return redis.status_reply('PONG')")
    assert decode_reply(server.eval_script([b"x"])) == "PONG"


def test_redis_handle_keeps_simulated_expiry() -> None:
    server = SimulatedServer("reqless", clock=SimClock(START))
    qless = SimTransport(server)
    qless.call("throttle.set", "api", 1, 3600)

    # A command through the redis-py handle must not expire keys by the
    # machine's clock, which is years past the simulated one.
    assert server.redis.exists("ql:th:api") == 1
    assert qless.call("throttle.ttl", "api") == 3600

    server.clock.advance(3601)
    assert server.redis.exists("ql:th:api") == 0


def test_str_argument_with_surrogates_round_trips() -> None:
    server = SimulatedServer("reqless", clock=SimClock(START))
    qless = SimTransport(server)
    data = b'{"name": "\xff\xfe"}'.decode("utf-8", "surrogateescape")
    put(qless, "testing", "jid-1", {})
    jid = qless.call("put", "producer", "testing", "jid-2", "tests.Job", data, 0)
    assert jid == "jid-2"
    assert server.redis_client().hget("ql:j:jid-2", "data") == b'{"name": "\xff\xfe"}'


@pytest.mark.redis_server
def test_real_redis_error_reply_keeps_code(real_redis: Any) -> None:
    core = load_core("reqless")
    simulated = SimTransport(SimulatedServer(core, clock=SimClock(START)))
    real = RedisTransport(real_redis, core, clock=SimClock(START))
    replies = []
    for qless in (simulated, real):
        with pytest.raises(QlessError) as raised:
            qless.call("pop", "testing", "worker-a", "many")
        replies.append(raised.value.reply)
    assert replies[0] == replies[1]
    assert replies[1].startswith("ERR user_script:")


@pytest.mark.redis_server
def test_qless_py_core_on_real_redis_7_advice(real_redis: Any) -> None:
    real = RedisTransport(real_redis, load_core("qless-py"), clock=SimClock(START))
    with pytest.raises(ScriptError) as raised:
        real.call("config.get", "heartbeat")
    message = raised.value.message
    assert "which Redis 6.2.7 and later reject, and this Redis is one of them" in message
    assert "run this core on a Redis older than 6.2.7, or use the 'reqless' core" in message
    assert "redis_rules" not in message


def test_transport_follows_replaced_server_clock() -> None:
    server = SimulatedServer("reqless", clock=SimClock(START))
    qless = SimTransport(server)
    server.clock = SimClock(START + 1000)
    assert qless.clock is server.clock
    put(qless, "testing", "jid-1", {})
    history = json.loads(qless.call("get", "jid-1"))["history"]
    assert history[0]["when"] == START + 1000


def test_transport_reprs_name_where_they_run() -> None:
    import redis

    server = SimulatedServer("reqless", clock=SimClock(START))
    assert repr(SimTransport(server)).startswith("SimTransport(SimulatedServer(core='reqless ")
    real = RedisTransport(redis.Redis(host="127.0.0.1", port=6390, db=3), server.core)
    assert repr(real) == (
        f"RedisTransport(127.0.0.1:6390 database 3, core={server.core.describe()!r})"
    )
