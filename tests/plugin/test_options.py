"""Plugin options: ini, command line and marker precedence, invalid values, header line."""

from __future__ import annotations

from importlib import metadata, resources

import pytest

pytest_plugins = ["pytester"]


def _reqless_commit() -> str:
    script = resources.files("reqless").joinpath("lua/qless.lua").read_text()
    first_line = script.splitlines()[0]
    assert first_line.startswith("-- Current SHA: "), first_line
    return first_line.removeprefix("-- Current SHA: ").strip()[:7]


def test_header_names_core_and_rules(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    version = metadata.version("reqless")
    result.stdout.fnmatch_lines(
        [
            f"qless_sim: core reqless {version} (qless-core {_reqless_commit()}, "
            "worker-put API), simulator with Redis 7 scripting rules"
        ]
    )


def test_header_follows_cli(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--qless-core", "qless-py", "--qless-redis-rules", "6")
    version = metadata.version("qless-py")
    result.stdout.fnmatch_lines(
        [
            f"qless_sim: core qless-py {version} (qless-core d15c37c, 2016 API), "
            "simulator with Redis 6 scripting rules"
        ]
    )


def test_help_lists_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for flag in (
        "--qless-core=CORE",
        "--qless-clock-start=START",
        "--qless-worker-name=NAME",
        "--qless-config=KEY=VALUE",
        "--qless-redis-rules=RULES",
        "--qless-redis-url=URL",
    ):
        result.stdout.fnmatch_lines([f"*{flag}*"])
    result.stdout.fnmatch_lines(["*qless_redis_url (string)*"])


PRECEDENCE_TESTS = """
import pytest


def test_ini_and_cli(qless_client, qless_clock, qless_server):
    assert qless_client.worker_name == "cli-worker"
    assert qless_clock.now() == 1000.0
    assert qless_server.redis_rules == 6
    assert qless_client.config["heartbeat"] == 45
    assert qless_client.config["grace-period"] == 5


@pytest.mark.qless(worker_name="marker-worker", clock_start="2025-01-01T00:00:00Z",
                   config={"grace-period": 7, "jobs-history": 3600})
def test_marker_wins(qless_client, qless_clock, qless_server):
    assert qless_client.worker_name == "marker-worker"
    assert qless_clock.now() == 1735689600.0
    assert qless_server.redis_rules == 6
    assert qless_client.config["heartbeat"] == 45
    assert qless_client.config["grace-period"] == 7
    assert qless_client.config["jobs-history"] == 3600


@pytest.mark.qless(worker_name="class-worker", redis_rules=7)
class TestClassMarker:
    @pytest.mark.qless(worker_name="method-worker")
    def test_closest_marker_wins(self, qless_client, qless_server):
        assert qless_client.worker_name == "method-worker"
        assert qless_server.redis_rules == 7
"""


def test_marker_cli_ini_precedence(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
[pytest]
qless_worker_name = ini-worker
qless_clock_start = 500
qless_redis_rules = 6
qless_config =
    heartbeat=30
    grace-period=5
"""
    )
    pytester.makepyfile(PRECEDENCE_TESTS)
    result = pytester.runpytest(
        "--qless-worker-name", "cli-worker",
        "--qless-clock-start", "1000",
        "--qless-config", "heartbeat=45",
    )  # fmt: skip
    result.assert_outcomes(passed=3)


def test_pyproject_ini_options(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
[tool.pytest.ini_options]
qless_worker_name = "toml-worker"
qless_clock_start = "2024-06-01"
"""
    )
    pytester.makepyfile(
        """
def test_values(qless_client, qless_clock):
    assert qless_client.worker_name == "toml-worker"
    assert qless_clock.now() == 1717200000.0
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_picks_core(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.qless(core="qless-py", redis_rules=6)
def test_legacy(qless_client):
    assert qless_client.core.edition.value == "2016"
    qless_client.queue("q").put("app.Job", {}, jid="legacy")
    assert qless_client.jobs["legacy"].queue_name == "q"

def test_default(qless_client):
    assert qless_client.core.name == "reqless"
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--qless-redis-rules", "8"],
            "ERROR: qless_sim: --qless-redis-rules is '8'; accepted values: 5, 6 or 7",
        ),
        (
            ["--qless-clock-start", "yesterday"],
            "ERROR: qless_sim: --qless-clock-start is 'yesterday'; accepted values: seconds "
            "since the epoch (e.g. 1704067200) or an ISO 8601 date or datetime "
            "(e.g. 2024-01-01T00:00:00Z; without an offset it is read as UTC)",
        ),
        (
            ["--qless-clock-start", "-5"],
            "ERROR: qless_sim: --qless-clock-start is '-5'; accepted values: * it must be "
            "finite and not before 1970-01-01",
        ),
        (
            ["--qless-worker-name", "  "],
            "ERROR: qless_sim: --qless-worker-name is '  '; accepted values: a non-empty "
            "worker name",
        ),
        (
            ["--qless-config", "heartbeat"],
            "ERROR: qless_sim: --qless-config got 'heartbeat'; accepted values: KEY=VALUE, "
            "e.g. heartbeat=30",
        ),
        (
            ["--qless-redis-url", "http://127.0.0.1/0"],
            "ERROR: qless_sim: --qless-redis-url is 'http://127.0.0.1/0'; accepted values: "
            "redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=DB (*)",
        ),
        (
            ["--qless-core", "no-such-core"],
            "ERROR: qless_sim: --qless-core: unknown core 'no-such-core': it is neither a "
            "known name nor an existing file; choose a core with *",
        ),
    ],
)
def test_invalid_cli_value(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_invalid_ini_value(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nqless_redis_rules = seven\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: qless_sim: ini option qless_redis_rules is 'seven'; accepted values: 5, 6 or 7"]
    )


def test_invalid_env_rules(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLESS_SIM_REDIS_RULES", "4")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: qless_sim: QLESS_SIM_REDIS_RULES: *4*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "qless(redis_rules=4)",
            "ERROR: qless_sim: @pytest.mark.qless(redis_rules=...) on "
            "test_marker.py::test_marked is 4; accepted values: 5, 6 or 7",
        ),
        (
            "qless(heartbeat=30)",
            "ERROR: qless_sim: @pytest.mark.qless on test_marker.py::test_marked got unknown "
            "arguments heartbeat; accepted arguments: core, clock_start, worker_name, config, "
            "redis_rules",
        ),
        (
            "qless('reqless')",
            "ERROR: qless_sim: @pytest.mark.qless on test_marker.py::test_marked got positional "
            "arguments ('reqless',); pass keyword arguments: core, clock_start, worker_name, "
            "config, redis_rules",
        ),
        (
            "qless(config={'heartbeat': True})",
            "ERROR: qless_sim: @pytest.mark.qless(config=...) on test_marker.py::test_marked "
            "sets 'heartbeat' to True (bool); accepted values: a str, int or float for each key",
        ),
        (
            "qless(config=['heartbeat=30'])",
            "ERROR: qless_sim: @pytest.mark.qless(config=...) on test_marker.py::test_marked is "
            "['heartbeat=30']; accepted values: a dict of config keys to str, int or float "
            "values, e.g. config={'heartbeat': 30}",
        ),
        (
            "qless(redis_url='redis://127.0.0.1:6379/9')",
            "ERROR: qless_sim: @pytest.mark.qless(redis_url=...) on test_marker.py::test_marked "
            "is not accepted: parity mode is chosen for the whole run, because the database is "
            "checked once at startup; use --qless-redis-url or the qless_redis_url ini option",
        ),
        (
            "qless(core='/nonexistent/qless.lua')",
            "ERROR: qless_sim: @pytest.mark.qless(core=...) on test_marker.py::test_marked: "
            "core file '/nonexistent/qless.lua' does not exist; choose a core with *",
        ),
    ],
)
def test_invalid_marker(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(
        test_marker=f"""
import pytest

@pytest.mark.{marker}
def test_marked():
    raise AssertionError("a test with an invalid marker must not run")
"""
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_2016_core_under_redis_7_rules_rejected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")

    result = pytester.runpytest("--qless-core", "qless-py")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: qless_sim: the qless_sim options choose core qless-py * (qless-core "
            "d15c37c, 2016 API) with Redis 7 scripting rules, but that core writes Lua's "
            "global `table` library, which Redis 6.2.7 and later reject, so every qless "
            "command would fail; add --qless-redis-rules 6 (ini: qless_redis_rules = 6; "
            "marker: redis_rules=6; environment: QLESS_SIM_REDIS_RULES=6), or use the "
            "reqless core"
        ]
    )


def test_2016_core_marker_under_redis_7_rejected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.qless(core="qless-py")
def test_marked(qless_client):
    raise AssertionError
"""
    )

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: qless_sim: the options of test_2016_core_marker_under_redis_7_rejected.py"
            "::test_marked choose core qless-py * with Redis 7 scripting rules*"
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--qless-config", "heartbeat=abc"],
            "ERROR: qless_sim: --qless-config sets 'heartbeat' to 'abc', but qless-core "
            "reads 'heartbeat' as a number; pass a number of seconds or a count, "
            "e.g. heartbeat=30",
        ),
        (
            ["--qless-config", "heartbeat=-5"],
            "ERROR: qless_sim: --qless-config sets 'heartbeat' to '-5'; a lease length must "
            "be a number of seconds > 0, e.g. heartbeat=30",
        ),
        (
            ["--qless-config", "testing-heartbeat=soon"],
            "ERROR: qless_sim: --qless-config sets 'testing-heartbeat' to 'soon', but "
            "qless-core reads 'testing-heartbeat' as a number*",
        ),
    ],
)
def test_non_numeric_config_rejected(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_never_runs(qless_client):\n    raise AssertionError\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_text_config_value_accepted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "def test_config(qless_client):\n"
        "    assert qless_client.config['my-app-flag'] == 'on'\n"
        "    assert qless_client.config['heartbeat'] == 30\n"
    )
    result = pytester.runpytest(
        "--qless-config", "my-app-flag=on", "--qless-config", "heartbeat=30"
    )
    result.assert_outcomes(passed=1)
