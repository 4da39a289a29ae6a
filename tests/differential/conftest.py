"""Fixtures for the differential tests: one `Differential` per test and core.

`diff` runs each test twice. The reqless core runs under Redis 7 rules
against the redis-server of QLESS_SIM_TEST_REDIS_URL. The qless-py core
(qless-core d15c37c) writes Lua's `table` library, so it needs a Redis older
than 6.2.7 and runs against the one of QLESS_SIM_TEST_REDIS5_URL.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qless_sim.core import load_core

sys.path.insert(0, str(Path(__file__).parent))
from _harness import REDIS5_URL_ENV_VAR, Differential, connect, flushed, redis5_url, rules_of  # noqa: E402

CORES = ["reqless", "qless-py"]


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
