"""Fixtures: isolation between tests, reuse of the runtime, events, qless-py."""

from __future__ import annotations

import sys

import pytest

import qless_sim.core._server as server_module

pytest_plugins = ["pytester"]


class _CountingRuntime(server_module.Runtime):  # type: ignore[misc]
    built = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        type(self).built += 1
        super().__init__(*args, **kwargs)


@pytest.fixture
def count_runtimes(monkeypatch: pytest.MonkeyPatch) -> type[_CountingRuntime]:
    """Count the Lua runtimes SimulatedServer builds during an in-process pytester run."""
    _CountingRuntime.built = 0
    monkeypatch.setattr(server_module, "Runtime", _CountingRuntime)
    return _CountingRuntime


ISOLATION_TESTS = """
import pytest

START = 1704067200.0


def test_a_writes_everything(qless_client, qless_queue, qless_clock, qless_redis, qless_events):
    qless_queue.put("app.Job", {}, jid="leaky")
    qless_queue.pop()
    qless_client.config["heartbeat"] = 5
    qless_client.track("leaky")
    qless_redis.set("own-key", "1")
    qless_clock.advance(3600)
    assert len(qless_events) >= 2


def test_b_sees_nothing(qless_client, qless_clock, qless_redis, qless_events):
    assert qless_redis.keys() == []
    assert qless_client.jobs["leaky"] is None
    assert qless_client.config["heartbeat"] == 60
    assert qless_client.queues.counts == []
    assert qless_client.workers.counts == []
    assert qless_clock.now() == START
    assert qless_events == []
"""


def test_isolation_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ISOLATION_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*test_a_writes_everything PASSED*", "*test_b_sees_nothing PASSED*"]
    )


def test_runtime_built_once(pytester: pytest.Pytester, count_runtimes: type) -> None:
    pytester.makepyfile(
        """
import pytest

SEEN = []

@pytest.mark.parametrize("round", range(5))
def test_round(qless_server, qless_client, round):
    SEEN.append(qless_server)
    assert qless_server is SEEN[0]
    assert qless_server.compilations == 1
    qless_client.queue("q").put("app.Job", {})
"""
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=5)
    assert count_runtimes.built == 1


def test_runtime_per_core_and_rules(pytester: pytest.Pytester, count_runtimes: type) -> None:
    pytester.makepyfile(
        """
import pytest

def test_default(qless_server):
    pass

@pytest.mark.qless(redis_rules=6)
def test_rules_6(qless_server):
    assert qless_server.redis_rules == 6

def test_default_again(qless_server):
    assert qless_server.redis_rules == 7
"""
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=3)
    assert count_runtimes.built == 2


def test_no_runtime_without_fixtures(pytester: pytest.Pytester, count_runtimes: type) -> None:
    pytester.makepyfile(
        """
def test_clock_only(qless_clock):
    qless_clock.advance(5)

def test_plain():
    pass
"""
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=2)
    assert count_runtimes.built == 0


def test_clock_drives_now(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_history_uses_clock(qless_queue, qless_clock):
    qless_clock.advance(30)
    jid = qless_queue.put("app.Job", {})
    qless_clock.advance(12)
    job = qless_queue.pop()
    assert [entry["what"] for entry in job.history] == ["put", "popped"]
    assert [entry["when"] for entry in job.history] == [1704067230, 1704067242]
    assert job.expires_at == 1704067242 + 60
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_events_in_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.qless(config={"heartbeat": 30})
def test_events(qless_client, qless_queue, qless_events):
    # The plugin's own config.set ran before the test, so it is not listed.
    assert qless_events == []
    qless_queue.put("app.Job", {}, jid="e1")
    qless_client.track("e1")
    assert [event.channel for event in qless_events] == ["ql:log", "ql:track"]
    assert qless_events[0].json() == {"jid": "e1", "event": "put", "queue": "testing"}
    assert qless_events[1].data == "e1"
    qless_queue.pop()
    assert qless_events[-1] == ("ql:popped", "e1")
    assert qless_events.named("popped") == [("ql:popped", "e1")]
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_qless_py_client_shares_data(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
def test_upstream(qless_py_client, qless_client, qless_clock, qless_server):
    assert qless_server.core.name == "qless-py"
    assert qless_server.redis_rules == 6
    assert qless_py_client.worker_name == "pytest-worker"

    jid = qless_py_client.queues["testing"].put("app.Job", {"n": 1})
    assert qless_client.jobs[jid].data == {"n": 1}

    qless_clock.advance(100)
    job = qless_py_client.queues["testing"].pop()
    assert job.expires_at == 1704067200 + 100 + 60
    assert job.ttl == 60
    assert qless_client.jobs[jid].worker_name == "pytest-worker"
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_qless_py_client_time_restored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import time

import qless
import qless.job


def test_patched(qless_py_client, qless_clock):
    assert qless.time.time() == qless_clock.now()


def test_restored():
    assert qless.time is time
    assert qless.job.time is time
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_qless_py_client_other_core_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.qless(core="reqless")
def test_upstream(qless_py_client):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*qless_py_client sends the core qless-py ships, but this test runs reqless * "
            "remove the core setting for this test or use "
            "@pytest.mark.qless(core='qless-py', redis_rules=6)"
        ]
    )


def test_qless_py_client_skips_without_qless_py(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes `import qless` raise ImportError.
    monkeypatch.setitem(sys.modules, "qless", None)
    pytester.makepyfile("def test_upstream(qless_py_client):\n    pass\n")
    result = pytester.runpytest_inprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*qless_py_client needs qless-py (pip install qless-py==0.11.4)"])
