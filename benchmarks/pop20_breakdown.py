"""Break down where a simulated pop(20) spends its time, next to a real Redis's own time.

Wraps the engine's three Python bridges (redis.call, cjson.encode,
cjson.decode) with timers, runs pop(20) on queues of 20 jobs, and prints the
median pop's total and per-bridge times. Then it reads from a real
redis-server on loopback how long the same script ran there (INFO
commandstats, server side).

    python benchmarks/pop20_breakdown.py [--redis-url redis://127.0.0.1:6379/9]

The timers add about 0.2 µs per bridge call. The real-Redis part empties the
database it is given.
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable
from typing import Any

import redis

import qless_sim.core._runtime as runtime_module
from qless_sim import SimClock
from qless_sim.core import RedisTransport, SimTransport, SimulatedServer, load_core

ROUNDS = 20
totals: collections.Counter[str] = collections.Counter()
counts: collections.Counter[str] = collections.Counter()


def timed(name: str, bridge: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return bridge(*args)
        finally:
            totals[name] += time.perf_counter() - start
            counts[name] += 1

    return wrapper


def simulated() -> None:
    for name in ("_cjson_encode", "_cjson_decode", "_redis_call"):
        setattr(runtime_module.Runtime, name, timed(name, getattr(runtime_module.Runtime, name)))
    qless = SimTransport(SimulatedServer())
    samples = []
    for round_number in range(ROUNDS):
        for n in range(20):
            qless.call("put", "me", "q", f"j{round_number}-{n}", "K", '{"a": 1}', 0)
        totals.clear()
        counts.clear()
        start = time.perf_counter()
        qless.call("pop", "q", "w", 20)
        samples.append((time.perf_counter() - start, dict(totals), dict(counts)))
    samples.sort(key=lambda sample: sample[0])
    total, bridge_totals, bridge_counts = samples[len(samples) // 2]
    print(f"simulator: pop(20) took {total * 1e6:,.0f} µs in all")
    for name, seconds in bridge_totals.items():
        print(f"  {name}: {bridge_counts[name]} calls, {seconds * 1e6:,.0f} µs")


def real(url: str) -> None:
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    qless = RedisTransport(connection, load_core(), SimClock())
    qless.call("config.get", "heartbeat")
    for round_number in range(ROUNDS):
        for n in range(20):
            qless.call("put", "me", "q", f"j{round_number}-{n}", "K", '{"a": 1}', 0)
    connection.config_resetstat()
    for _ in range(ROUNDS):
        qless.call("pop", "q", "w", 20)
    stats = connection.info("commandstats")["cmdstat_evalsha"]
    print(f"real Redis: pop(20) ran {stats['usec_per_call']:,.0f} µs on the server")
    connection.flushdb()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="a real Redis database to compare with (emptied)")
    options = parser.parse_args()
    simulated()
    if options.redis_url:
        real(options.redis_url)
