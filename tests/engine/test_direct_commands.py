"""The direct command paths reply and store exactly what fakeredis's own commands do.

Each example runs one random sequence of commands through a script on two
servers, one with direct paths and one without, and compares every reply
(errors included) and the whole keyspace after each command.
"""

from __future__ import annotations

from typing import Any

from fakeredis._helpers import SimpleString
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qless_sim import SimClock
from qless_sim.core import SimulatedServer
from qless_sim.core._commands import format_score
from qless_sim.core._runtime import ScriptReplyError

# A tiny script of our own that runs ARGV as one redis.pcall and returns the reply.
PROBE = b"return redis.pcall(unpack(ARGV))"

KEYS = [b"h", b"z", b"s", b"l", b"str"]
MEMBERS = [b"a", b"b", b"c", b"d", b"7"]
NUMBERS = [
    b"0",
    b"1",
    b"-3",
    b"2.5",
    b"1e3",
    b"-inf",
    b"+inf",
    b"inf",
    b"(1",
    b"x",
    b"01",
    b" 1",
    b"1_0",
    b"nan",
    b"9223372036854775807",
    b"-9223372036854775809",
]

key = st.sampled_from(KEYS)
member = st.sampled_from(MEMBERS)
number = st.sampled_from(NUMBERS)
rank = st.sampled_from([b"0", b"1", b"-1", b"-2", b"2", b"10", b"-10", b"a"])

commands = st.one_of(
    st.tuples(st.just(b"hget"), key, member),
    st.tuples(st.just(b"hmget"), key, member, member),
    st.tuples(st.just(b"hset"), key, member, number),
    st.tuples(st.just(b"hset"), key, member, number, member, number),
    st.tuples(st.just(b"hset"), key, member),
    st.tuples(st.just(b"hmset"), key, member, number),
    st.tuples(st.just(b"hincrby"), key, member, number),
    st.tuples(st.just(b"hdel"), key, member, member),
    st.tuples(st.just(b"hgetall"), key),
    st.tuples(st.just(b"zadd"), key, number, member),
    st.tuples(st.just(b"zadd"), key, number, member, number, member),
    st.tuples(st.just(b"zadd"), key, st.just(b"nx"), number, member),
    st.tuples(st.just(b"zrem"), key, member, member),
    st.tuples(st.just(b"zscore"), key, member),
    st.tuples(st.just(b"zcard"), key),
    st.tuples(st.just(b"zcount"), key, number, number),
    st.tuples(st.just(b"zincrby"), key, number, member),
    st.tuples(st.just(b"zrange"), key, rank, rank),
    st.tuples(st.just(b"zrevrange"), key, rank, rank),
    st.tuples(st.just(b"zrangebyscore"), key, number, number),
    st.tuples(st.just(b"zrangebyscore"), key, number, number, st.just(b"LIMIT"), rank, rank),
    st.tuples(st.just(b"zrevrangebyscore"), key, number, number),
    st.tuples(st.just(b"zrevrangebyscore"), key, number, number, st.just(b"limit"), rank, rank),
    st.tuples(st.just(b"zremrangebyscore"), key, number, number),
    st.tuples(st.just(b"zremrangebyrank"), key, rank, rank),
    st.tuples(st.just(b"sadd"), key, member, member),
    st.tuples(st.just(b"srem"), key, member),
    st.tuples(st.just(b"smembers"), key),
    st.tuples(st.just(b"sismember"), key, member),
    st.tuples(st.just(b"scard"), key),
    st.tuples(st.just(b"del"), key, key),
    st.tuples(st.just(b"exists"), key, key),
    st.tuples(st.just(b"llen"), key),
    st.tuples(st.just(b"lrange"), key, rank, rank),
    st.tuples(st.just(b"rpush"), key, member, member),
    st.tuples(st.just(b"lpush"), key, member, member),
    st.tuples(st.just(b"lpop"), key),
    st.tuples(st.just(b"ltrim"), key, rank, rank),
    st.tuples(st.just(b"set"), key, number),
)


def probe_server(direct: bool) -> SimulatedServer:
    server = SimulatedServer(clock=SimClock())
    server.direct_commands = direct
    # Compile the probe on the same runtime machinery as the core.
    server.runtime._chunk = server.runtime._compile(PROBE)
    return server


def run(server: SimulatedServer, command: tuple[bytes, ...]) -> Any:
    try:
        reply = server.eval_script(list(command))
    except ScriptReplyError as error:
        return ("error", error.reply)
    if isinstance(reply, SimpleString):
        return ("status", reply.value)
    if isinstance(reply, list):
        # SMEMBERS order is unspecified in Redis; compare sets as sets.
        return ("reply", sorted(reply, key=repr) if command[0] == b"smembers" else reply)
    return ("reply", reply)


def keyspace(server: SimulatedServer) -> dict[str, Any]:
    handle = server.redis_client()
    dump: dict[str, Any] = {}
    for name in handle.keys("*"):
        kind = handle.type(name)
        if kind == b"hash":
            dump[name] = handle.hgetall(name)
        elif kind == b"zset":
            dump[name] = handle.zrange(name, 0, -1, withscores=True)
        elif kind == b"set":
            dump[name] = sorted(handle.smembers(name))
        elif kind == b"list":
            dump[name] = handle.lrange(name, 0, -1)
        else:
            dump[name] = (kind, handle.get(name))
    return dump


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands, min_size=1, max_size=25))
# Equal scores: ZREVRANGE ranks count from the highest member.
@example([(b"zadd", b"h", b"0", b"a", b"0", b"b"), (b"zrevrange", b"h", b"0", b"0")])
def test_direct_paths_match_fakeredis(sequence: list[tuple[bytes, ...]]) -> None:
    direct, generic = probe_server(True), probe_server(False)
    for command in sequence:
        assert run(direct, command) == run(generic, command), command
        assert keyspace(direct) == keyspace(generic), command


def test_scores_formatted_like_redis_7_0() -> None:
    assert format_score(1.5) == b"1.5"
    assert format_score(1 / 3) == b"0.33333333333333331"
    assert format_score(float("inf")) == b"inf"
    assert format_score(float("-inf")) == b"-inf"
    assert format_score(1700000061.123456) == b"1700000061.123456"
