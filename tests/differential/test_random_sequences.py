"""Random sequences of qless-core calls, run on the simulator and on a real redis-server.

Hypothesis draws a list of operations: puts with options (a put of an
existing jid into another queue moves it), pops, completes, failures,
retries, heartbeats, cancels, timeouts, priorities, tags, tracking,
recurring jobs, dependencies, config, throttles, listings and clock moves.
`Differential` checks every reply, error and key dump.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Differential, connect, redis5_url, rules_of  # noqa: E402

from qless_sim.core import load_core  # noqa: E402

pytestmark = pytest.mark.redis_server

JIDS = ["jid-a", "jid-b", "jid-c", "jid-d"]
QUEUES = ["queue-1", "queue-2"]
WORKERS = ["worker-x", "worker-y"]
DATA = ['{"n": 1}', '{"text": "café 😀"}', b'{"raw": "\xff\xfe"}', "{}", '{"a": [1.5, {}]}']

jid = st.sampled_from(JIDS)
queue = st.sampled_from(QUEUES)
worker = st.sampled_from(WORKERS)
data = st.sampled_from(DATA)
tags = st.lists(st.sampled_from(["red", "blue", "ü"]), max_size=2, unique=True)
depends = st.lists(jid, max_size=2, unique=True)
put_options = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.integers(-5, 5),
        "tags": tags.map(lambda values: _json_list(values)),
        "retries": st.integers(0, 3),
        "depends": depends.map(lambda values: _json_list(values)),
    },
)


def _json_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


put = st.tuples(
    st.just("put"),
    st.tuples(queue, jid, data, st.sampled_from([0, 0, 5, 30.5]), put_options),
)
pop = st.tuples(st.just("pop"), st.tuples(queue, worker, st.integers(1, 3)))
complete = st.tuples(st.just("complete"), st.tuples(jid, worker, queue, data))

# Each operation is (command, args); "advance" moves both clocks instead.
# one_of picks its branches uniformly, so repeating put, pop and complete
# makes sequences that build up jobs more often than they fail on missing ones.
operations = st.one_of(
    put,
    put,
    put,
    put,
    pop,
    pop,
    pop,
    complete,
    complete,
    st.tuples(
        st.just("complete"),
        st.tuples(jid, worker, queue, data, st.just("next"), queue),
    ),
    st.tuples(st.just("fail"), st.tuples(jid, worker, st.sampled_from(["g1", "g2"]), data)),
    st.tuples(st.just("retry"), st.tuples(jid, queue, worker, st.sampled_from([0, 10]))),
    st.tuples(st.just("heartbeat"), st.tuples(jid, worker, data)),
    st.tuples(st.just("cancel"), st.lists(jid, min_size=1, max_size=2).map(tuple)),
    st.tuples(st.just("timeout"), st.tuples(jid)),
    st.tuples(st.just("priority"), st.tuples(jid, st.integers(-3, 3))),
    st.tuples(st.just("tag"), st.tuples(st.sampled_from(["add", "remove"]), jid, st.just("red"))),
    st.tuples(st.just("tag"), st.tuples(st.just("top"), st.just(0), st.just(10))),
    st.tuples(st.just("tag"), st.tuples(st.just("get"), st.just("red"), st.just(0), st.just(10))),
    st.tuples(st.just("track"), st.tuples(st.sampled_from(["track", "untrack"]), jid)),
    st.tuples(st.just("track"), st.just(())),
    st.tuples(st.just("depends"), st.tuples(jid, st.sampled_from(["on", "off"]), jid)),
    st.tuples(
        st.just("recur"),
        st.tuples(
            queue,
            st.just("recur-r"),
            st.just("tests.Job"),
            data,
            st.just("interval"),
            st.sampled_from([20, 45]),
            st.just(0),
        ),
    ),
    st.tuples(st.just("unrecur"), st.just(("recur-r",))),
    st.tuples(
        st.just("config.set"),
        st.tuples(st.sampled_from(["heartbeat", "grace-period"]), st.integers(0, 40)),
    ),
    st.tuples(st.just("unfail"), st.tuples(queue, st.sampled_from(["g1", "g2"]), st.just(5))),
    st.tuples(
        st.just("jobs"),
        st.tuples(
            st.sampled_from(["running", "stalled", "scheduled", "depends", "recurring"]), queue
        ),
    ),
    st.tuples(st.just("jobs"), st.just(("complete",))),
    st.tuples(st.just("workers"), st.just(())),
    st.tuples(st.just("queues"), st.just(())),
    st.tuples(st.just("failed"), st.just(())),
    st.tuples(st.just("get"), st.tuples(jid)),
    st.tuples(st.just("stats"), st.tuples(queue)),
    st.tuples(st.just("throttle.set"), st.tuples(st.just("th"), st.integers(0, 2))),
    st.tuples(st.just("advance"), st.tuples(st.sampled_from([1, 15.5, 61, 3600]))),
)


def apply(diff: Differential, command: str, args: tuple[Any, ...]) -> None:
    """Run one drawn operation on both sides, adapting it to the core's API edition."""
    if command == "advance":
        diff.advance(args[0])
        return
    if command == "put":
        name, job, payload, delay, options = args
        pairs = [item for option in sorted(options.items()) for item in option]
        if not diff.worker_put:
            # The 2016 core has no throttles and its put takes no worker.
            diff.outcome("put", name, job, "tests.Job", payload, delay, *pairs)
            return
        diff.outcome("put", "putter", name, job, "tests.Job", payload, delay, *pairs)
        return
    if command == "stats":
        diff.outcome("stats", args[0], diff.now)
        return
    if command == "throttle.set" and not diff.worker_put:
        return
    diff.outcome(command, *args)


@pytest.mark.parametrize("core", ["reqless", "qless-py"])
@settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=8, max_size=40))
def test_random_sequence_matches_redis(
    request: pytest.FixtureRequest, core: str, steps: list[tuple[str, tuple[Any, ...]]]
) -> None:
    url: str = request.getfixturevalue("redis_url") if core == "reqless" else redis5_url()
    client = connect(url)
    client.flushdb()
    try:
        diff = Differential(load_core(core), client, rules_of(client))
        for command, args in steps:
            apply(diff, command, args)
    finally:
        client.flushdb()
        client.close()
