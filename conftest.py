"""Fixtures shared by qless_sim's own test suite.

Tests that need a real redis-server take `redis_url`. `.ci/run` starts Debian's
redis-server on 127.0.0.1 and exports QLESS_SIM_TEST_REDIS_URL; locally those
tests skip when the variable is unset, and under CI=true they fail instead, so
CI can never pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

REDIS_URL_ENV_VAR = "QLESS_SIM_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV_VAR)
    if not url:
        reason = (
            f"needs a real redis-server: set {REDIS_URL_ENV_VAR}=redis://127.0.0.1:PORT/0 "
            "(bash .ci/run starts one)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {REDIS_URL_ENV_VAR} is not: {reason}")
        pytest.skip(reason)
    return url


def dump_keyspace(redis: Any) -> dict[str, Any]:
    """Return every key of a redis-py handle (str replies) with its value, by type.

    Sets are sorted, because Redis's own member order is unspecified.
    """
    state: dict[str, Any] = {}
    for key in sorted(redis.keys("*")):
        kind = redis.type(key)
        if kind == "string":
            state[key] = redis.get(key)
        elif kind == "hash":
            state[key] = redis.hgetall(key)
        elif kind == "zset":
            state[key] = redis.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            state[key] = sorted(redis.smembers(key))
        elif kind == "list":
            state[key] = redis.lrange(key, 0, -1)
        else:
            state[key] = kind
    return state


@pytest.fixture
def keyspace() -> Callable[[Any], dict[str, Any]]:
    """Return `dump_keyspace`, for comparing every key of a Redis before and after."""
    return dump_keyspace


@pytest.fixture
def real_redis(redis_url: str) -> Iterator[object]:
    """A redis-py client on an emptied database of the test redis-server."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"{REDIS_URL_ENV_VAR}={redis_url} is set but unreachable: {error}")
    client.flushdb()
    client.script_flush()
    yield client
    client.flushdb()
    client.close()
