"""Bad arguments: a typed error naming the value, raised before qless state changes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from qless_sim.bindings import Client
from qless_sim.errors import InvalidArgumentError


def put(**overrides: Any) -> Callable[[Client], object]:
    arguments: dict[str, Any] = {"klass": "app.Job", "data": {"a": 1}, "jid": "jid-1"}
    arguments.update(overrides)
    return lambda client: client.queue("testing").put(**arguments)


CASES: list[tuple[str, Callable[[Client], object], str]] = [
    (
        "data with a set",
        put(data={"ids": {1, 2}}),
        r"^job data \{'ids': \{1, 2\}\} is not JSON-serialisable \(Object of type set is not "
        r"JSON serializable\); pass dicts, lists, str, int, float, bool or None$",
    ),
    (
        "data with NaN",
        put(data={"x": math.nan}),
        r"^job data \{'x': nan\} is not JSON-serialisable \(Out of range float values",
    ),
    (
        "negative delay",
        put(delay=-5),
        r"^delay -5 is negative; pass a number of seconds >= 0$",
    ),
    (
        "delay as str",
        put(delay="5"),
        r"^delay '5' is not a number of seconds; pass an int or float >= 0$",
    ),
    (
        "klass as int",
        put(klass=42),
        r"^klass 42 \(int\) is neither a class nor a dotted name; pass a class or a str such "
        r"as 'app.jobs.Resize'$",
    ),
    (
        "klass as instance",
        put(klass=object()),
        r"^klass <object object at 0x[0-9a-f]+> \(object\) is neither a class nor a dotted name",
    ),
    ("empty klass", put(klass=" "), r"^klass is an empty string; pass a class or its dotted"),
    ("priority as float", put(priority=1.5), r"^priority 1.5 is not an int; pass an int$"),
    ("negative retries", put(retries=-1), r"^retries -1 is invalid; pass an int >= 0$"),
    (
        "tags as str",
        put(tags="red"),
        r"^tags 'red' is not a list of str; pass a list or tuple of str$",
    ),
    (
        "tags with int",
        put(tags=["red", 3]),
        r"^tags \['red', 3\] contains 3, which is not a non-empty str$",
    ),
    ("empty jid", put(jid=""), r"^jid '' is invalid; pass a non-empty str$"),
    (
        "depends with None",
        put(depends=[None]),
        r"^depends \[None\] contains None, which is not a non-empty str$",
    ),
    (
        "zero interval",
        lambda client: client.queue("testing").recur("app.Job", {}, interval=0),
        r"^interval 0 is invalid; pass a number of seconds > 0$",
    ),
    (
        "negative recur offset",
        lambda client: client.queue("testing").recur("app.Job", {}, interval=5, offset=-1),
        r"^offset -1 is negative; pass a number of seconds >= 0$",
    ),
    (
        "pop count zero",
        lambda client: client.queue("testing").pop(0),
        r"^count 0 is invalid; pass an int >= 1$",
    ),
    (
        "empty queue name",
        lambda client: client.queue(""),
        r"^queue name '' is invalid; pass a non-empty str$",
    ),
    (
        "config value not JSON",
        lambda client: client.config.__setitem__("custom", object()),
        r"^config value for 'custom' <object object at 0x[0-9a-f]+> is not JSON-serialisable",
    ),
]


@pytest.mark.parametrize(("name", "action", "message"), CASES, ids=[case[0] for case in CASES])
def test_rejected_before_any_change(
    client: Client,
    snapshot: Callable[[Client], dict[str, Any]],
    name: str,
    action: Callable[[Client], object],
    message: str,
) -> None:
    client.queue("testing").put("app.Job", {"existing": True}, jid="existing")
    before = snapshot(client)
    calls = client.server.calls  # type: ignore[union-attr]

    with pytest.raises(InvalidArgumentError, match=message):
        action(client)

    assert client.server.calls == calls  # type: ignore[union-attr]
    assert snapshot(client) == before


def test_heartbeat_with_bad_data_keeps_lease(
    client: Client, snapshot: Callable[[Client], dict[str, Any]]
) -> None:
    client.queue("testing").put("app.Job", {}, jid="jid-1")
    job = client.queue("testing").pop()
    assert job is not None
    before = snapshot(client)
    job["when"] = object()
    with pytest.raises(InvalidArgumentError, match=r"^job data \{'when': <object object"):
        job.heartbeat()
    with pytest.raises(InvalidArgumentError, match=r"^job data \{'when': <object object"):
        job.complete()
    assert snapshot(client) == before


def test_queue_heartbeat_rejects_non_job(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        client.queue("testing").heartbeat("jid-1")  # type: ignore[arg-type]
    assert str(raised.value) == "queue.heartbeat('jid-1'): pass a Job returned by pop() or peek()"
