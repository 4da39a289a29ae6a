"""Run the same qless-core calls on the simulator and on a real redis-server, and compare.

`Differential` drives a `SimulatedServer` (through `SimTransport`) and a real
Redis database (through `RedisTransport`), each driven by its own `SimClock`
set to the same time, so both sides see the same `now`. Every `call` runs the
command on both sides and fails the test, naming the step, when the replies
(or the raised error types and replies) differ, or when a type-aware dump of
every key differs afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis as redis_py

from qless_sim.clock import SimClock
from qless_sim.core import (
    ApiEdition,
    CoreScript,
    RedisTransport,
    SimTransport,
    SimulatedServer,
    Transport,
)

# A dump maps each key to (type, value, ttl). Values: bytes for strings, a
# list for lists, a frozenset for sets (Redis gives no order), a dict for
# hashes, and [(member, score), ...] in ZRANGE order for sorted sets. `ttl` is
# what TTL returns: -1 for a key without an expiry.
Dump = dict[bytes, tuple[str, Any, int]]

DEFAULT_TEST_START = 1700000001.123456

REDIS5_URL_ENV_VAR = "QLESS_SIM_TEST_REDIS5_URL"


@dataclass(frozen=True)
class Outcome:
    """What one side returned for a call: a reply, or an error's type and Redis reply."""

    reply: Any = None
    error_type: str | None = None
    error_message: str | None = None
    error_reply: str | None = None

    def describe(self) -> str:
        if self.error_type is None:
            return f"reply {_short(self.reply)}"
        return f"{self.error_type}: {_short(self.error_reply)}"


def _short(value: Any, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def run(transport: Transport, command: str, *args: Any) -> Outcome:
    """Run one command and capture its reply or the error it raised."""
    try:
        return Outcome(reply=transport.call(command, *args))
    except Exception as error:  # noqa: BLE001 - any exception is an outcome to compare
        reply = getattr(error, "reply", None) or str(error)
        # redis-py drops the "ERR " code from the replies it raises, so the
        # real side's QlessError.reply lacks it while the simulator's keeps it.
        if reply.startswith("ERR "):
            reply = reply[4:]
        message = getattr(error, "message", None)
        return Outcome(error_type=type(error).__name__, error_message=message, error_reply=reply)


def dump_simulator(server: SimulatedServer, db: int = 0) -> Dump:
    """Dump every key of the simulator's database `db`, with expiry read at the clock's now.

    The model is read directly: a redis-py client on the simulator would set
    fakeredis's time to the machine's clock, while the engine keeps key
    expiry on the simulated clock.
    """
    dump: Dump = {}
    with server.lock:
        database = server.data.dbs[db]
        now = server.clock.now()
        for key, item in list(database._dict.items()):
            if item.expireat is not None and item.expireat < now:
                continue
            entry = _simulator_entry(item.value)
            ttl = -1
            if item.expireat is not None:
                # TTL rounds the remaining milliseconds to the nearest second (Redis 7.0).
                ttl = (int((item.expireat - now) * 1000) + 500) // 1000
            dump[key] = (entry[0], entry[1], ttl)
    return dump


def _simulator_entry(value: Any) -> tuple[str, Any]:
    if isinstance(value, bytes):
        return ("string", value)
    if isinstance(value, list):
        return ("list", list(value))
    # fakeredis's models name their Redis type (sets are ExpiringMembersSet).
    kind = getattr(value, "_model_type", b"").decode()
    if kind == "set" or isinstance(value, set):
        return ("set", frozenset(value))
    if kind == "hash":
        return ("hash", {name: _bytes(data) for name, data in value.items()})
    if kind == "zset":
        pairs = sorted(value.items(), key=lambda pair: (pair[1], pair[0]))
        return ("zset", [(member, float(score)) for member, score in pairs])
    return (type(value).__name__, value)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def dump_redis(client: redis_py.Redis) -> Dump:
    """Dump every key of the real Redis database `client` is connected to."""
    dump: Dump = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        value: Any
        if kind == "string":
            value = client.get(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = frozenset(client.smembers(key))
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "zset":
            value = [
                (member, float(score))
                for member, score in client.zrange(key, 0, -1, withscores=True)
            ]
        else:
            value = f"<{kind}: not dumped>"
        dump[key] = (kind, value, int(client.ttl(key)))
    return dump


def describe_dump_differences(simulator: Dump, real: Dump) -> list[str]:
    """Return one line per key whose type, value or TTL differs between the two dumps."""
    lines = []
    for key in sorted(set(simulator) | set(real)):
        if key not in real:
            lines.append(f"  {key!r}: only in the simulator: {_short(simulator[key])}")
        elif key not in simulator:
            lines.append(f"  {key!r}: only in Redis: {_short(real[key])}")
        elif simulator[key] != real[key]:
            lines.extend(_describe_key(key, simulator[key], real[key]))
    return lines


def _describe_key(key: bytes, sim: tuple[str, Any, int], real: tuple[str, Any, int]) -> list[str]:
    if sim[0] != real[0]:
        return [f"  {key!r}: type {sim[0]} in the simulator, {real[0]} in Redis"]
    lines = []
    if sim[2] != real[2]:
        lines.append(f"  {key!r}: TTL {sim[2]} in the simulator, {real[2]} in Redis")
    if sim[0] == "hash" and sim[1] != real[1]:
        for name in sorted(set(sim[1]) | set(real[1])):
            if sim[1].get(name) != real[1].get(name):
                lines.append(
                    f"  {key!r} field {name!r}: simulator {_short(sim[1].get(name))}, "
                    f"Redis {_short(real[1].get(name))}"
                )
    elif sim[1] != real[1]:
        lines.append(f"  {key!r} ({sim[0]}): simulator {_short(sim[1])}, Redis {_short(real[1])}")
    return lines


@dataclass(repr=False)
class Differential:
    """The same qless-core calls on the simulator and on a real Redis, compared step by step.

    `redis` must be a client on an empty database that nothing else writes to.
    """

    core: CoreScript
    redis: redis_py.Redis
    redis_rules: int
    # A fractional start: qless-core stores `now` in scores and in JSON, where
    # Redis's cjson prints 14 significant digits (1700000061.1235).
    start: float = DEFAULT_TEST_START
    steps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Two clocks holding the same values: the sides never share an object,
        # so neither can observe the other's calls.
        self.sim_clock = SimClock(self.start)
        self.real_clock = SimClock(self.start)
        self.server = SimulatedServer(self.core, clock=self.sim_clock, redis_rules=self.redis_rules)
        self.sim = SimTransport(self.server)
        self.real = RedisTransport(self.redis, self.core, self.real_clock)

    @property
    def now(self) -> float:
        return self.sim_clock.now()

    @property
    def worker_put(self) -> bool:
        """Whether the core's put takes the worker name (reqless) or not (qless-core 2016)."""
        return self.core.edition is ApiEdition.WORKER_PUT

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by `seconds`."""
        self.sim_clock.advance(seconds)
        self.real_clock.advance(seconds)
        self.steps.append(f"advance({seconds!r}) -> now={self.now!r}")

    def outcome(self, command: str, *args: Any) -> Outcome:
        """Run `command` on both sides, check replies and key dumps match, return the outcome."""
        step = f"{command}{_short(args, 200)} at now={self.now!r}"
        self.steps.append(step)
        simulated = run(self.sim, command, *args)
        real = run(self.real, command, *args)
        if simulated != real:
            raise AssertionError(
                self._history() + f"\nreplies differ at step {len(self.steps)}, {step}:\n"
                f"  simulator: {simulated.describe()}\n  Redis:     {real.describe()}"
            )
        self.check_keys()
        return simulated

    def call(self, command: str, *args: Any) -> Any:
        """Run `command` on both sides and return the reply; fail when it was an error."""
        outcome = self.outcome(command, *args)
        if outcome.error_type is not None:
            raise AssertionError(f"{command}{args!r} raised on both sides: {outcome.describe()}")
        return outcome.reply

    def error(self, command: str, *args: Any) -> Outcome:
        """Run `command` on both sides and return the error; fail when it succeeded."""
        outcome = self.outcome(command, *args)
        if outcome.error_type is None:
            raise AssertionError(
                f"{command}{args!r} succeeded on both sides, expected an error: "
                f"{outcome.describe()}"
            )
        return outcome

    def check_keys(self) -> None:
        """Fail when any key differs between the simulator and Redis."""
        differences = describe_dump_differences(dump_simulator(self.server), dump_redis(self.redis))
        if differences:
            raise AssertionError(
                self._history()
                + f"\nkeys differ after step {len(self.steps)}, {self.steps[-1]}:\n"
                + "\n".join(differences)
            )

    def dump(self) -> Dump:
        """The simulator's key dump (checked equal to Redis's after every step)."""
        return dump_simulator(self.server)

    def __repr__(self) -> str:
        return f"Differential({self.core.describe()!r}, redis_rules={self.redis_rules})"

    def _history(self) -> str:
        recent = self.steps[-15:]
        skipped = len(self.steps) - len(recent)
        lines = [f"  ... {skipped} earlier steps"] if skipped else []
        first = len(self.steps) - len(recent) + 1
        lines.extend(f"  {number}. {step}" for number, step in enumerate(recent, first))
        return "steps:\n" + "\n".join(lines)

    # -- the calls whose arguments differ between the two API editions ----------

    def put(
        self,
        queue: str,
        jid: str,
        klass: str = "tests.Job",
        data: str = "{}",
        delay: float = 0,
        *options: Any,
        worker: str = "putter",
    ) -> Any:
        """Put a job; the worker-put edition also gets `worker` as the putter."""
        if self.worker_put:
            return self.call("put", worker, queue, jid, klass, data, delay, *options)
        return self.call("put", queue, jid, klass, data, delay, *options)

    def peek(self, queue: str, count: int = 25) -> Any:
        """Peek at `count` jobs of `queue` (reqless also takes an offset, here 0)."""
        if self.worker_put:
            return self.call("peek", queue, 0, count)
        return self.call("peek", queue, count)


def flushed(client: redis_py.Redis) -> Iterator[redis_py.Redis]:
    """Empty the client's database before and after use (never the whole server)."""
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def redis5_url() -> str:
    """Return the URL of a Redis older than 6.2.7, or skip the test with how to get one."""
    url = os.environ.get(REDIS5_URL_ENV_VAR)
    if not url:
        reason = (
            "the qless-py core writes Lua's global `table` library, which Redis 6.2.7 and "
            f"later reject; set {REDIS5_URL_ENV_VAR}=redis://127.0.0.1:PORT/0 to a Redis 5 "
            "(bash .ci/build-redis5 builds Redis 5.0.6 and prints its path)"
        )
        if os.environ.get("CI"):
            # .ci/run starts a Redis 5, so CI must never pass by skipping these.
            pytest.fail(f"CI is set but {REDIS5_URL_ENV_VAR} is not: {reason}")
        pytest.skip(reason)
    return url


def rules_of(client: redis_py.Redis) -> int:
    """Return the rules version (5, 6 or 7) that matches the server `client` is connected to."""
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
