"""Argument checks and JSON helpers shared by the bindings.

Every check runs in Python before a command reaches qless-core, so a rejected
call leaves qless state exactly as it was.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidArgumentError


def klass_name(klass: object) -> str:
    """Return the dotted name qless stores for `klass` (a class or a dotted name)."""
    if isinstance(klass, str):
        if not klass.strip():
            raise InvalidArgumentError(
                "klass is an empty string; pass a class or its dotted name, e.g. 'app.jobs.Resize'"
            )
        return klass
    if isinstance(klass, type):
        return f"{klass.__module__}.{klass.__qualname__}"
    raise InvalidArgumentError(
        f"klass {klass!r} ({type(klass).__name__}) is neither a class nor a dotted name; "
        "pass a class or a str such as 'app.jobs.Resize'"
    )


def dump_data(data: object, what: str = "job data") -> str:
    """Encode job data as JSON text, as qless-py does (json.dumps with default separators)."""
    try:
        # allow_nan=False: NaN and Infinity are not JSON, and qless-core's cjson
        # would store them in a form other clients cannot decode.
        return json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError(
            f"{what} {data!r} is not JSON-serialisable ({error}); "
            "pass dicts, lists, str, int, float, bool or None"
        ) from None


def check_jid(jid: object, what: str = "jid") -> str:
    """Return `jid` if it is a non-empty str."""
    if not isinstance(jid, str) or not jid:
        raise InvalidArgumentError(f"{what} {jid!r} is invalid; pass a non-empty str")
    return jid


def check_name(name: object, what: str) -> str:
    """Return `name` (a queue, group, tag or worker name) if it is a non-empty str."""
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"{what} {name!r} is invalid; pass a non-empty str")
    return name


def check_seconds(value: object, what: str) -> float | int:
    """Return `value` if it is a finite number of seconds >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgumentError(
            f"{what} {value!r} is not a number of seconds; pass an int or float >= 0"
        )
    if value < 0:
        raise InvalidArgumentError(f"{what} {value!r} is negative; pass a number of seconds >= 0")
    return value


def check_int(value: object, what: str, minimum: int | None = None) -> int:
    """Return `value` if it is an int (not a bool), at least `minimum` when given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} {value!r} is not an int; pass an int")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{what} {value!r} is invalid; pass an int >= {minimum}")
    return value


def check_names(values: object, what: str) -> list[str]:
    """Return `values` (tags, jids, throttle names) as a list of non-empty str."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgumentError(
            f"{what} {values!r} is not a list of str; pass a list or tuple of str"
        )
    names = list(values)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"{what} {values!r} contains {name!r}, which is not a non-empty str"
            )
    return names


def as_list(value: Any) -> list[Any]:
    """Return a JSON array from qless-core as a list.

    qless-core encodes replies with Lua's cjson, which cannot tell an empty
    array from an empty object, so it writes `{}` for both. A missing value
    (None) is presented as an empty list too.
    """
    if value is None or value == {}:
        return []
    if isinstance(value, list):
        return value
    raise TypeError(f"expected a JSON array from qless-core, got {value!r}")


def loads(reply: Any) -> Any:
    """Decode a JSON text reply from qless-core."""
    return json.loads(reply)


def loads_twice(reply: Any) -> Any:
    """Decode a reply that may be JSON text inside JSON text.

    qless-core d15c37c's `tag add` and `tag remove` return tags already
    encoded, and its `tag` command encodes that string again; reqless 0.13
    encodes them once.
    """
    value = json.loads(reply)
    return json.loads(value) if isinstance(value, str) else value
