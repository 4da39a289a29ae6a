"""Fixtures for the bindings tests: a fresh simulated qless per test, for each core edition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import qless_sim
from qless_sim.bindings import Client

# (core, Redis rules): the 2016 core (qless-core d15c37c, shipped by qless-py)
# writes Lua's global `table`, which only Redis 5 and 6 rules allow.
CORES = {
    "reqless": ("reqless", None),
    "qless-py": ("qless-py", 6),
}


@pytest.fixture(params=sorted(CORES))
def client(request: pytest.FixtureRequest) -> Client:
    core, rules = CORES[request.param]
    return qless_sim.client(core=core, redis_rules=rules, worker_name="worker-a")


@pytest.fixture
def reqless_client() -> Client:
    return qless_sim.client(core="reqless", worker_name="worker-a")


@pytest.fixture
def legacy_client() -> Client:
    return qless_sim.client(core="qless-py", redis_rules=6, worker_name="worker-a")


@pytest.fixture
def snapshot(
    keyspace: Callable[[Any], dict[str, Any]],
) -> Callable[[Client], dict[str, Any]]:
    """Return a function that dumps every key on a client's Redis."""
    return lambda client: keyspace(client.redis)
