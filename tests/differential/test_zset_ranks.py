"""Sorted-set rank ranges from scripts match Redis 7.0, direct command paths included.

qless-core pops with `zrevrange <queue>-work 0 count-1`: the highest
priority first and, among equal scores, the member that sorts last. A
ZREVRANGE that returns the wrong end of the set pops the wrong job. Each
expected reply is what Redis 7.0.15 sends (also checked against a real
redis-server when QLESS_SIM_TEST_REDIS_URL is set).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "engine"))
from _fidelity import engine_eval, real_eval  # noqa: E402

from qless_sim.core import SimulatedServer  # noqa: E402

SETUP = "redis.call('del', 'z') redis.call('zadd', 'z', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 4, 'e') "

CASES = [
    ("return redis.call('zrevrange', 'z', 0, 0)", b"*1\r\n$1\r\ne\r\n"),
    ("return redis.call('zrevrange', 'z', 0, 1)", b"*2\r\n$1\r\ne\r\n$1\r\nd\r\n"),
    ("return redis.call('zrevrange', 'z', 1, 2)", b"*2\r\n$1\r\nd\r\n$1\r\nc\r\n"),
    ("return redis.call('zrevrange', 'z', -1, -1)", b"*1\r\n$1\r\na\r\n"),
    ("return redis.call('zrevrange', 'z', -2, 10)", b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"),
    ("return redis.call('zrange', 'z', 1, 2)", b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("return redis.call('zrange', 'z', -2, -1)", b"*2\r\n$1\r\nd\r\n$1\r\ne\r\n"),
    (
        "return redis.call('zrevrangebyscore', 'z', '+inf', '-inf', 'limit', 1, 2)",
        b"*2\r\n$1\r\nd\r\n$1\r\nc\r\n",
    ),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_rank_range_matches_redis(source: str, expected: bytes) -> None:
    assert engine_eval(SETUP + source, server=SimulatedServer()) == expected


@pytest.mark.redis_server
@pytest.mark.parametrize(("source", "expected"), CASES)
def test_rank_range_on_real_redis(
    real_redis: object, redis_url: str, source: str, expected: bytes
) -> None:
    assert real_eval(redis_url, SETUP + source) == expected
