"""A `cjson` for the Lua runtime that encodes and decodes as Redis's bundled lua-cjson.

Redis embeds lua-cjson 2.1.0 with its defaults, and qless-core relies on
details where Python's `json` differs:

* an empty Lua table encodes as ``{}`` (an object), never ``[]``;
* numbers print with ``%.14g`` (14 significant digits), so ``1/3`` is
  ``0.33333333333333`` and ``2^53`` is ``9.007199254741e+15``;
* ``/`` is escaped as ``\\/``, and control characters and DEL as ``\\u00XX``;
* bytes that are not valid UTF-8 pass through untouched in both directions;
* a table is an array only when all its keys are positive integers, and a
  sparse one (max key > 2 * count and > 10) is an error;
* errors are Lua errors with lua-cjson's own text, raised at the caller's line.

Table keys are walked in Lua's own `next` order, which is what lua-cjson does,
so objects come out in the same key order as on Redis.
"""

from __future__ import annotations

import json
import math
from typing import Any

import lupa.lua51 as lua

# Bytes that lua-cjson 2.1.0 escapes (its char2escape table); everything else is copied.
_ESCAPES: dict[int, bytes] = {i: b"\\u%04x" % i for i in range(0x20)}
_ESCAPES.update(
    {
        0x08: b"\\b",
        0x09: b"\\t",
        0x0A: b"\\n",
        0x0C: b"\\f",
        0x0D: b"\\r",
        0x22: b'\\"',
        0x2F: b"\\/",
        0x5C: b"\\\\",
        0x7F: b"\\u007f",
    }
)
_ESCAPE_TABLE = {key: value.decode("latin-1") for key, value in _ESCAPES.items()}

# lua-cjson's defaults: encode_max_depth and decode_max_depth 1000, sparse ratio 2, safe 10.
MAX_DEPTH = 1000
SPARSE_RATIO = 2
SPARSE_SAFE = 10


class CjsonError(Exception):
    """An error lua-cjson would raise with `luaL_error`; the runtime rethrows it in Lua."""


def _escape(raw: bytes) -> bytes:
    # latin-1 maps each byte to one code point, so invalid UTF-8 survives unchanged.
    text = raw.decode("latin-1").translate(_ESCAPE_TABLE)
    return b'"' + text.encode("latin-1") + b'"'


def format_number(value: float) -> bytes:
    """Format a Lua number the way lua-cjson does (``%.14g``)."""
    if math.isinf(value) or math.isnan(value):
        raise CjsonError("Cannot serialise number: must not be NaN or Inf")
    return b"%.14g" % value


class Encoder:
    """Encode Lua values held by one runtime; `null` is that runtime's `cjson.null`."""

    def __init__(self, null: Any) -> None:
        self.null = null
        self._lua_type = lua.lua_type

    def encode(self, value: Any) -> bytes:
        out: list[bytes] = []
        self._encode(value, out, 0)
        return b"".join(out)

    def _encode(self, value: Any, out: list[bytes], depth: int) -> None:
        kind = type(value)
        if kind is bytes:
            out.append(_escape(value))
        elif kind is bool:
            out.append(b"true" if value else b"false")
        elif kind is int or kind is float:
            out.append(format_number(value))
        elif value is None or value is self.null:
            out.append(b"null")
        elif self._lua_type(value) == "table":
            self._encode_table(value, out, depth + 1)
        else:
            lua_kind = self._lua_type(value) or kind.__name__
            raise CjsonError(f"Cannot serialise {lua_kind}: type not supported")

    def _encode_table(self, table: Any, out: list[bytes], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise CjsonError(f"Cannot serialise, excessive nesting ({depth})")
        items = list(table.items())
        length = _array_length(items)
        if length > 0:
            values = dict(items)
            out.append(b"[")
            for index in range(1, length + 1):
                if index > 1:
                    out.append(b",")
                self._encode(values.get(index), out, depth)
            out.append(b"]")
            return

        out.append(b"{")
        first = True
        for key, value in items:
            if not first:
                out.append(b",")
            first = False
            key_kind = type(key)
            if key_kind is bytes:
                out.append(_escape(key))
            elif key_kind is int or key_kind is float:
                out.append(b'"' + format_number(key) + b'"')
            else:
                lua_kind = "boolean" if key_kind is bool else (self._lua_type(key) or "value")
                raise CjsonError(
                    f"Cannot serialise {lua_kind}: table key must be a number or string"
                )
            out.append(b":")
            self._encode(value, out, depth)
        out.append(b"}")


def _array_length(items: list[tuple[Any, Any]]) -> int:
    """Return the array length lua-cjson sees, 0 for an object (lua_array_length)."""
    if not items:
        return 0
    largest = 0
    for key, _ in items:
        kind = type(key)
        if kind is int and key >= 1:
            largest = max(largest, key)
        elif kind is float and key >= 1 and key.is_integer():
            largest = max(largest, int(key))
        else:
            return 0
    if largest > len(items) * SPARSE_RATIO and largest > SPARSE_SAFE:
        raise CjsonError("Cannot serialise table: excessively sparse array")
    return largest


class Decoder:
    """Decode JSON into Lua tables of one runtime."""

    def __init__(self, runtime: Any, null: Any) -> None:
        self.null = null
        self._table_from = runtime.table_from
        self._new_table = runtime.eval("function() return {} end")

    def decode(self, text: bytes) -> Any:
        try:
            # surrogateescape keeps bytes that are not UTF-8 as they are, as lua-cjson does.
            parsed = json.loads(
                text.decode("utf-8", "surrogateescape"), parse_constant=_reject_constant
            )
        except (ValueError, RecursionError) as error:
            raise CjsonError(_decode_error_message(text, error)) from None
        return self._to_lua(parsed, 0)

    def _to_lua(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return value.encode("utf-8", "surrogateescape")
        if kind is dict:
            if depth >= MAX_DEPTH:
                raise CjsonError(f"Found too many nested data structures ({depth + 1})")
            table = self._new_table()
            for key, item in value.items():
                table[key.encode("utf-8", "surrogateescape")] = self._to_lua(item, depth + 1)
            return table
        if kind is list:
            if depth >= MAX_DEPTH:
                raise CjsonError(f"Found too many nested data structures ({depth + 1})")
            return self._table_from([self._to_lua(item, depth + 1) for item in value])
        if value is None:
            return self.null
        if kind is int:
            # Lua 5.1 numbers are doubles; lua-cjson reads numbers with strtod.
            return float(value) if abs(value) > 2**53 else value
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid token {name}")


def _decode_error_message(text: bytes, error: Exception) -> str:
    # NOTE: lua-cjson names the token it found ("Expected value but found
    # T_OBJ_END at character 2"); this covers the common shapes, and other
    # malformed input gets a message of the same form with a position from
    # Python's parser.
    position = getattr(error, "pos", 0) + 1
    stripped = text.strip()
    if not stripped:
        return "Expected value but found T_END at character 1"
    return f"Expected value but found invalid token at character {position}"
