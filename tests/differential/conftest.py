"""Fixtures for the differential tests: one `Differential` per test and core.

`diff` runs each test twice: with the reqless core under Redis 7 rules
against the redis-server of QLESS_SIM_TEST_REDIS_URL, and with the qless-py
core (qless-core d15c37c, which writes Lua's `table` library and so needs a
Redis older than 6.2.7) against the one of QLESS_SIM_TEST_REDIS5_URL.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_py

from qless_sim.core import load_core

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Differential, flushed  # noqa: E402

REDIS5_URL_ENV_VAR = "QLESS_SIM_TEST_REDIS5_URL"

CORES = ["reqless", "qless-py"]


def redis5_url() -> str:
    """Return the URL of a Redis older than 6.2.7, or skip the test with how to get one."""
    url = os.environ.get(REDIS5_URL_ENV_VAR)
    if not url:
        pytest.skip(
            "the qless-py core writes Lua's global `table` library, which Redis 6.2.7 and "
            f"later reject; set {REDIS5_URL_ENV_VAR}=redis://127.0.0.1:PORT/0 to a Redis 5 "
            "(bash .ci/build-redis5 builds Redis 5.0.6 and prints its path)"
        )
    return url


def rules_of(client: redis_py.Redis) -> int:
    """Return the scripting rules (5, 6 or 7) the emulator must follow to match `client`'s server."""
    version = str(client.info("server")["redis_version"])
    major, minor, patch = (int(part) for part in version.split(".")[:3])
    if (major, minor, patch) >= (6, 2, 7):
        return 7
    return 6 if major >= 6 else 5


def connect(url: str) -> redis_py.Redis:
    client = redis_py.Redis.from_url(url)
    try:
        client.ping()
    except redis_py.exceptions.ConnectionError as error:
        pytest.fail(f"the redis-server at {url} is unreachable: {error}")
    return client


@pytest.fixture(params=CORES)
def diff(request: pytest.FixtureRequest) -> Iterator[Differential]:
    """A `Differential` on an emptied database, for each core."""
    core = load_core(request.param)
    if request.param == "reqless":
        url: str = request.getfixturevalue("redis_url")
    else:
        url = redis5_url()
    client = connect(url)
    rules = rules_of(client)
    if request.param == "qless-py" and rules >= 7:
        pytest.fail(
            f"{REDIS5_URL_ENV_VAR}={url} points at a Redis 6.2.7 or later, where the "
            "qless-py core cannot run; point it at a Redis 5 or 6.0"
        )
    for emptied in flushed(client):
        yield Differential(core, emptied, rules)


@pytest.fixture
def reqless_diff(redis_url: str) -> Iterator[Differential]:
    """A `Differential` for the reqless core only (throttles, requeue)."""
    client = connect(redis_url)
    for emptied in flushed(client):
        yield Differential(load_core("reqless"), emptied, rules_of(client))
