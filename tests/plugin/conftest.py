"""Fixtures for the plugin's tests: real Redis databases for parity runs.

The pytester runs in parity mode use the two databases after the one in
QLESS_SIM_TEST_REDIS_URL (for example 4 and 5 for .../3), so they never
touch the database other tests of this suite use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis


@pytest.fixture
def parity_databases(redis_url: str) -> Iterator[list[str]]:
    """Two emptied databases, as URLs, for `--qless-redis-url` (also emptied afterwards)."""
    base_url, _, db = redis_url.rpartition("/")
    base_db = int(db or 0)
    urls = [f"{base_url}/{base_db + offset}" for offset in (1, 2)]
    clients = [redis.Redis.from_url(url) for url in urls]
    for client in clients:
        client.flushdb()
    yield urls
    for client in clients:
        client.flushdb()
        client.close()
