"""The plugin as a downstream project uses it: one test file, no conftest.

The same file runs on the simulator, in parity mode on a real redis-server,
and under pytest-xdist with two workers.
"""

from __future__ import annotations

import pytest
import redis

pytest_plugins = ["pytester"]

# A downstream test file: only fixtures, no conftest, no setup code.
DOWNSTREAM = """
import json

from qless_sim.bindings import Client
from qless_sim.errors import LostLockError
import pytest

START = 1704067200.0  # 2024-01-01T00:00:00Z, the documented default start


def test_put_and_pop(qless_client, qless_queue, qless_clock):
    jid = qless_queue.put("app.jobs.Resize", {"widget": "foo"}, jid="plugin-test-put-pop")
    job = qless_queue.pop()
    assert job.jid == jid
    assert job.data == {"widget": "foo"}
    assert job.worker_name == "pytest-worker"
    assert job.expires_at == START + 60
    assert qless_clock.now() == START


def test_lease_expires(qless_client, qless_queue, qless_clock):
    qless_queue.put("app.jobs.Resize", {}, jid="plugin-test-lease")
    job = qless_queue.pop()
    other = Client(qless_client.transport, worker_name="worker-b")

    qless_clock.advance(61)
    assert other.queue("testing").pop() is None  # the expired lease's grace period
    qless_clock.advance(11)
    taken = other.queue("testing").pop()
    assert taken.jid == "plugin-test-lease"
    assert taken.worker_name == "worker-b"

    with pytest.raises(LostLockError, match="given out to another worker: worker-b"):
        job.heartbeat()


def test_events_of_a_put(qless_queue, qless_events):
    qless_queue.put("app.jobs.Resize", {}, jid="plugin-test-events")
    mine = [event for event in qless_events if "plugin-test-events" in event.data]
    assert [event.channel for event in mine] == ["ql:log"]
    assert mine[0].json() == {"jid": "plugin-test-events", "event": "put", "queue": "testing"}


def test_redis_sees_the_job(qless_queue_factory, qless_redis):
    qless_queue_factory("emails").put("app.jobs.Send", {}, jid="plugin-test-redis")
    assert qless_redis.hget("ql:j:plugin-test-redis", "queue") == "emails"
    assert qless_redis.zcard("ql:q:emails-work") == 1


def test_starts_empty(qless_redis, qless_client):
    # Not qless_events: in parity mode under xdist, Redis pub/sub is
    # server-wide, so the other worker's events arrive here too.
    assert qless_redis.keys("ql:j:*") == []
    assert qless_client.queues.counts == []
"""

DOWNSTREAM_TESTS = 5


def test_downstream_file_without_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=DOWNSTREAM_TESTS)


@pytest.mark.redis_server
def test_downstream_file_in_parity_mode(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    result = pytester.runpytest("--qless-redis-url", parity_databases[0])
    result.assert_outcomes(passed=DOWNSTREAM_TESTS)
    assert redis.Redis.from_url(parity_databases[0]).dbsize() == 0


@pytest.mark.redis_server
def test_parity_header_names_server(pytester: pytest.Pytester, parity_databases: list[str]) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    version = redis.Redis.from_url(parity_databases[0]).info("server")["redis_version"]
    db = parity_databases[0].rpartition("/")[2]
    port = parity_databases[0].rpartition(":")[2].partition("/")[0]
    result = pytester.runpytest("--qless-redis-url", parity_databases[0])
    result.stdout.fnmatch_lines(
        [
            f"qless_sim: core reqless * parity mode on Redis {version} at "
            f"127.0.0.1:{port} database {db} (that server's scripting rules)"
        ]
    )


@pytest.mark.redis_server
def test_parity_skips_qless_server(pytester: pytest.Pytester, parity_databases: list[str]) -> None:
    pytester.makepyfile("def test_server(qless_server):\n    pass\n")
    result = pytester.runpytest("-rs", "--qless-redis-url", parity_databases[0])
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*qless_server is the simulator, and parity mode (--qless-redis-url) has none"]
    )


@pytest.mark.redis_server
def test_parity_rejects_foreign_keys(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    url = parity_databases[0]
    db = url.rpartition("/")[2]
    port = url.rpartition(":")[2].partition("/")[0]
    client = redis.Redis.from_url(url)
    client.set("app:user:1", "alice")
    client.set("ql:j:leftover", "x")
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")

    result = pytester.runpytest("--qless-redis-url", url)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: qless_sim: --qless-redis-url '{url}': 127.0.0.1:* database {db} contains "
            "keys outside qless's 'ql:' namespace (2 keys in total, for example "
            "'app:user:1'). Parity mode empties its database before every test, so it "
            "rejects a database that may hold other data; nothing was deleted. Point the "
            "option at an empty database (for example another database number such as "
            f"redis://127.0.0.1:{port}/15), or empty this one with "
            f"`redis-cli -h 127.0.0.1 -p {port} -n {db} FLUSHDB` if its data is disposable"
        ]
    )
    assert client.get("app:user:1") == b"alice"
    assert client.get("ql:j:leftover") == b"x"
    client.close()


@pytest.mark.redis_server
def test_parity_rejects_ini_url_with_foreign_keys(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    url = parity_databases[1]
    client = redis.Redis.from_url(url)
    client.set("unrelated", "1")
    pytester.makeini(f"[pytest]\nqless_redis_url = {url}\n")
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: qless_sim: ini option qless_redis_url '{url}': * contains keys outside *"]
    )
    assert client.get("unrelated") == b"1"
    client.close()


def test_parity_unreachable_server(pytester: pytest.Pytester) -> None:
    # Port 1 on loopback: nothing listens there for an unprivileged test run.
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")
    result = pytester.runpytest("--qless-redis-url", "redis://127.0.0.1:1/0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: qless_sim: --qless-redis-url 'redis://127.0.0.1:1/0': cannot use "
            "127.0.0.1:1 database 0 (*); start a Redis server there, or point the option "
            "at one that is running"
        ]
    )


def test_xdist_two_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    # Each worker builds its own simulator; the record shows which worker ran what.
    pytester.makepyfile(
        test_workers="""
import os

def test_worker_a(qless_server):
    assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
    assert qless_server.compilations == 1

def test_worker_b(qless_server):
    assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
    assert qless_server.compilations == 1
"""
    )
    result = pytester.runpytest_subprocess("-n", "2", "-v")
    result.assert_outcomes(passed=DOWNSTREAM_TESTS + 2)
    result.stdout.fnmatch_lines(["*gw0*PASSED*"])
    result.stdout.fnmatch_lines(["*gw1*PASSED*"])


@pytest.mark.redis_server
def test_xdist_parity_database_per_worker(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    base_db = int(parity_databases[0].rpartition("/")[2])
    pytester.makepyfile(test_downstream=DOWNSTREAM)
    pytester.makepyfile(
        test_databases=f"""
import os

def test_db_a(qless_redis):
    worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    assert qless_redis.connection_pool.connection_kwargs["db"] == {base_db} + worker

def test_db_b(qless_redis):
    worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    assert qless_redis.connection_pool.connection_kwargs["db"] == {base_db} + worker
"""
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "-v", "--qless-redis-url", parity_databases[0]
    )
    result.assert_outcomes(passed=DOWNSTREAM_TESTS + 2)
    result.stdout.fnmatch_lines(["*gw0*PASSED*"])
    result.stdout.fnmatch_lines(["*gw1*PASSED*"])


@pytest.mark.redis_server
def test_xdist_parity_checks_every_worker_database(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    # gw1 would use the second database; the controller must reject it
    # before any worker starts, instead of xdist replacing the worker.
    second = redis.Redis.from_url(parity_databases[1])
    second_db = parity_databases[1].rpartition("/")[2]
    second.set("app:user:1", "alice")
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")

    result = pytester.runpytest("-n", "2", "--qless-redis-url", parity_databases[0])

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: qless_sim: pytest-xdist worker gw1 uses database {second_db}: "
            f"--qless-redis-url '{parity_databases[0]}': 127.0.0.1:* database {second_db} "
            "contains keys outside qless's 'ql:' namespace (1 key in total, for example "
            "'app:user:1')*"
        ]
    )
    assert second.get("app:user:1") == b"alice"
    second.close()


@pytest.mark.redis_server
def test_parity_rejects_existing_qless_data(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    # A database holding only ql: keys may be a live qless: refuse it too.
    url = parity_databases[0]
    db = url.rpartition("/")[2]
    client = redis.Redis.from_url(url)
    client.zadd("ql:queues", {"production": 1})
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")

    result = pytester.runpytest("--qless-redis-url", url)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: qless_sim: --qless-redis-url '{url}': 127.0.0.1:* database {db} already "
            "contains qless data (1 key, for example 'ql:queues'), which may be a live qless "
            "deployment. Parity mode empties its database before every test, so it rejects a "
            "database that is not empty; nothing was deleted.*left over from an interrupted "
            f"test run, empty it with `redis-cli -h 127.0.0.1 -p * -n {db} FLUSHDB`"
        ]
    )
    assert client.zscore("ql:queues", "production") == 1
    client.close()


@pytest.mark.redis_server
def test_parity_rejects_redis_rules(pytester: pytest.Pytester, parity_databases: list[str]) -> None:
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")
    result = pytester.runpytest(
        "--qless-redis-url", parity_databases[0], "--qless-redis-rules", "6"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: qless_sim: --qless-redis-rules (or qless_redis_rules) sets the rules the "
            "simulator emulates, but parity mode runs on a real Redis *, which applies its "
            "own; drop the option"
        ]
    )


@pytest.mark.redis_server
def test_parity_rejects_2016_core_on_redis_7(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")
    result = pytester.runpytest(
        "--qless-redis-url", parity_databases[0], "--qless-core", "qless-py"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: qless_sim: parity mode runs core qless-py * on Redis 7.*, but that core "
            "writes Lua's global `table` library, which Redis 6.2.7 and later reject, so every "
            "qless command would fail; point --qless-redis-url at a Redis older than 6.2.7, "
            "or use the reqless core"
        ]
    )


@pytest.mark.redis_server
def test_parity_skips_qless_py_client_on_redis_7(
    pytester: pytest.Pytester, parity_databases: list[str]
) -> None:
    pytester.makepyfile("def test_upstream(qless_py_client):\n    raise AssertionError\n")
    result = pytester.runpytest("-rs", "--qless-redis-url", parity_databases[0])
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*qless_py_client runs the core qless-py ships*older than 6.2.7*"])


@pytest.mark.redis_server
def test_parity_rejects_out_of_range_database(pytester: pytest.Pytester, redis_url: str) -> None:
    base = redis_url.rpartition("/")[0]
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")
    result = pytester.runpytest("--qless-redis-url", f"{base}/99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: qless_sim: --qless-redis-url '{base}/99': 127.0.0.1:* database 99 does "
            "not exist on that server (*out of range*); Redis has databases 0 to 15 unless "
            "its `databases` setting says otherwise, so choose a database number such as 15"
        ]
    )


def test_parity_rejects_database_that_is_not_a_number(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")
    result = pytester.runpytest("--qless-redis-url", "redis://127.0.0.1:6379/abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: qless_sim: --qless-redis-url is 'redis://127.0.0.1:6379/abc'; accepted "
            "values: * (the database 'abc' is not a number)"
        ]
    )
