"""A `cjson` for the Lua runtime that encodes and decodes as Redis's bundled lua-cjson.

Redis (5.0 to 7.x) embeds lua-cjson 2.1.0 with its defaults, and qless-core
relies on details where Python's `json` differs:

* an empty Lua table encodes as ``{}`` (an object), never ``[]``;
* numbers print with ``%.14g`` (14 significant digits), so ``1/3`` is
  ``0.33333333333333``, ``2^53`` is ``9.007199254741e+15`` and ``-0.0`` is ``-0``;
* ``/`` is escaped as ``\\/``, and control characters and DEL as ``\\u00XX``;
* bytes that are not valid UTF-8 pass through untouched in both directions;
* a table is an array only when all its keys are positive integers, and a
  sparse one (max key > 2 * count and > 10) is an error;
* the decoder reads numbers with C's `strtod`, so ``01``, ``+1``, ``0x10``,
  ``1.``, ``nan`` and ``inf`` decode, and its syntax errors name the token
  found (``Expected value but found T_OBJ_END at character 2``).

The encoder is Lua code (`ENCODER_SOURCE`): it walks tables with `next`, as
lua-cjson does, so objects come out in Redis's key order, and Lua's own
``%.14g`` keeps ``-0``, which lupa's number conversion would lose. The
decoder parses valid JSON with Python's C parser and falls back to
`_ExactParser`, our own tokenizer written to behave as lua-cjson's does, for
everything else, so error messages and lua-cjson's extensions are exact.
"""

from __future__ import annotations

import json
import re
from typing import Any

import lupa.lua51 as lua

# lua-cjson's defaults: encode_max_depth and decode_max_depth 1000, sparse ratio 2, safe 10.
MAX_DEPTH = 1000
SPARSE_RATIO = 2
SPARSE_SAFE = 10


class CjsonError(Exception):
    """An error lua-cjson raises with `luaL_error`; the runtime adds the caller's position."""


# The encoder, in Lua. It is called through `pcall` from the Python bridge and
# returns the text, or raises lua-cjson 2.1.0's message with level 0 (the
# bridge adds the caller's position as luaL_error does).
ENCODER_SOURCE = b"""
local null, max_depth, sparse_ratio, sparse_safe = ...
local type, next, rawget, error = type, next, rawget, error
local floor, huge = math.floor, math.huge
local format, gsub, concat, tostring = string.format, string.gsub, table.concat, tostring

-- lua-cjson's char2escape table: control characters, '"', '\\\\', '/' and DEL.
local escapes = {}
for byte = 0, 31 do escapes[string.char(byte)] = format('\\\\u%04x', byte) end
escapes['\\b'], escapes['\\t'], escapes['\\n'] = '\\\\b', '\\\\t', '\\\\n'
escapes['\\f'], escapes['\\r'] = '\\\\f', '\\\\r'
escapes['"'], escapes['\\\\'] = '\\\\"', '\\\\\\\\'
escapes['/'], escapes['\\127'] = '\\\\/', '\\\\u007f'

local find = string.find

local function quote(text)
  -- Most keys and values need no escaping; find is cheaper than a gsub copy.
  if not find(text, '[%c"/\\\\]') then return '"' .. text .. '"' end
  return '"' .. gsub(text, '[%c"/\\\\]', escapes) .. '"'
end

local function number(value)
  if value ~= value or value == huge or value == -huge then
    error('Cannot serialise number: must not be NaN or Inf', 0)
  end
  return format('%.14g', value)
end

-- lua_array_length: the largest positive integer key, 0 for an object.
local function array_length(table)
  local max, items = 0, 0
  for key in next, table do
    if type(key) == 'number' and key ~= 0 and floor(key) == key and key >= 1 then
      -- lua-cjson keeps max in a C int; a larger key (or inf) becomes INT_MIN on
      -- x86-64, so the table then encodes as an object.
      if key > max then max = key > 2147483647 and -2147483648 or key end
      items = items + 1
    else
      return 0
    end
  end
  if max > items * sparse_ratio and max > sparse_safe then
    error('Cannot serialise table: excessively sparse array', 0)
  end
  return max
end

-- The pieces of the text go into `out`; `count` is the number of pieces so far.
local encode_value

local function encode_table(table, depth, out, count)
  depth = depth + 1
  if depth > max_depth then
    error(format('Cannot serialise, excessive nesting (%d)', depth), 0)
  end
  local length = array_length(table)
  if length > 0 then
    count = count + 1
    out[count] = '['
    for index = 1, length do
      if index > 1 then
        count = count + 1
        out[count] = ','
      end
      count = encode_value(rawget(table, index), depth, out, count)
    end
    count = count + 1
    out[count] = ']'
    return count
  end
  count = count + 1
  out[count] = '{'
  local first = true
  for key, value in next, table do
    if not first then
      count = count + 1
      out[count] = ','
    end
    first = false
    local kind = type(key)
    count = count + 1
    if kind == 'string' then
      out[count] = quote(key)
    elseif kind == 'number' then
      out[count] = '"' .. number(key) .. '"'
    else
      error('Cannot serialise ' .. kind .. ': table key must be a number or string', 0)
    end
    count = count + 1
    out[count] = ':'
    count = encode_value(value, depth, out, count)
  end
  count = count + 1
  out[count] = '}'
  return count
end

encode_value = function(value, depth, out, count)
  local kind = type(value)
  if kind == 'string' then
    out[count + 1] = quote(value)
  elseif kind == 'number' then
    out[count + 1] = number(value)
  elseif kind == 'table' then
    return encode_table(value, depth, out, count)
  elseif kind == 'boolean' then
    out[count + 1] = value and 'true' or 'false'
  elseif value == nil or value == null then
    out[count + 1] = 'null'
  else
    error('Cannot serialise ' .. kind .. ': type not supported', 0)
  end
  return count + 1
end

local function encode(value)
  local kind = type(value)
  if kind == 'string' then return quote(value) end
  if kind == 'number' then return number(value) end
  local out = {}
  encode_value(value, 0, out, 0)
  return concat(out)
end

return function(value) return pcall(encode, value) end
"""

# Input that Python's parser accepts but lua-cjson reads differently: a NUL
# byte (lua-cjson stops there), "-0" (a float -0.0 in Lua, an int in Python)
# and UTF-16 surrogate escapes (lua-cjson rejects unpaired ones, Python keeps them).
_NEEDS_EXACT = re.compile(rb"\x00|-0|\\u[dD][89a-fA-F]")

# C strtod's accepted prefixes (glibc): infinity, nan, hexadecimal and decimal.
_STRTOD = re.compile(
    rb"""[+-]?(?:
        (?P<inf>inf(?:inity)?)
      | (?P<nan>nan(?:\([0-9a-z_]*\))?)
      | (?P<hex>0x(?:[0-9a-f]+(?:\.[0-9a-f]*)?|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?)
      | (?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")

# lua-cjson's escape2char table for the byte after a backslash.
_ESCAPE_BYTES = {
    ord('"'): b'"',
    ord("\\"): b"\\",
    ord("/"): b"/",
    ord("b"): b"\b",
    ord("t"): b"\t",
    ord("n"): b"\n",
    ord("f"): b"\f",
    ord("r"): b"\r",
}
_WHITESPACE = b" \t\n\r"
_SINGLE = {
    ord("{"): "T_OBJ_BEGIN",
    ord("}"): "T_OBJ_END",
    ord("["): "T_ARR_BEGIN",
    ord("]"): "T_ARR_END",
    ord(","): "T_COMMA",
    ord(":"): "T_COLON",
}
# First bytes lua-cjson hands to its slower token checks (ch2token T_UNKNOWN).
_UNKNOWN_START = frozenset(b'"+-0123456789fiInNt')


class _Token:
    __slots__ = ("kind", "index", "value")

    def __init__(self, kind: str, index: int, value: Any = None) -> None:
        self.kind = kind
        self.index = index
        self.value = value


class _ExactParser:
    """A decoder that reads bytes token by token as lua-cjson 2.1.0 (Redis's copy) does.

    It builds Lua tables directly, setting keys in document order as
    lua-cjson's rawset does, so `next` order matches Redis's.
    """

    def __init__(self, data: bytes, new_table: Any, null: Any) -> None:
        self.data = data
        self.pos = 0
        self.new_table = new_table
        self.null = null

    def _byte(self, pos: int) -> int:
        # Lua strings end with a NUL byte, which lua-cjson reads as T_END.
        return self.data[pos] if pos < len(self.data) else 0

    def next_token(self) -> _Token:
        data = self.data
        while self.pos < len(data) and data[self.pos] in _WHITESPACE:
            self.pos += 1
        start = self.pos
        ch = self._byte(start)
        if ch == 0:
            return _Token("T_END", start)
        single = _SINGLE.get(ch)
        if single is not None:
            self.pos += 1
            return _Token(single, start)
        if ch not in _UNKNOWN_START:
            return _Token("T_ERROR", start, "invalid token")
        if ch == 0x22:
            return self._string_token(start)
        if ch == 0x2D or 0x30 <= ch <= 0x39:
            return self._number_token(start)
        if data.startswith(b"true", start):
            self.pos += 4
            return _Token("T_BOOLEAN", start, True)
        if data.startswith(b"false", start):
            self.pos += 5
            return _Token("T_BOOLEAN", start, False)
        if data.startswith(b"null", start):
            self.pos += 4
            return _Token("T_NULL", start)
        if self._is_invalid_number(start):
            return self._number_token(start)
        return _Token("T_ERROR", start, "invalid token")

    def _is_invalid_number(self, pos: int) -> bool:
        # json_is_invalid_number: '+', hex, leading zeros, inf and nan.
        ch = self._byte(pos)
        if ch == 0x2B:
            return True
        if ch == 0x2D:
            pos += 1
            ch = self._byte(pos)
        if ch == 0x30:
            following = self._byte(pos + 1)
            return (following | 0x20) == ord("x") or 0x30 <= following <= 0x39
        if ch <= 0x39:
            return False
        word = self.data[pos : pos + 3].lower()
        return word in (b"inf", b"nan")

    def _number_token(self, start: int) -> _Token:
        match = _STRTOD.match(self.data, start)
        if match is None:
            return _Token("T_ERROR", start, "invalid number")
        text = match.group()
        self.pos = match.end()
        if match.group("hex") is not None:
            value = float.fromhex(text.decode())
        elif match.group("nan") is not None:
            value = float("-nan") if text.startswith(b"-") else float("nan")
        else:
            value = float(text.split(b"(")[0])
        return _Token("T_NUMBER", start, value)

    def _string_token(self, start: int) -> _Token:
        out = bytearray()
        pos = start + 1
        while True:
            ch = self._byte(pos)
            if ch == 0x22:
                break
            if ch == 0:
                self.pos = pos
                return _Token("T_ERROR", pos, "unexpected end of string")
            if ch != 0x5C:
                out.append(ch)
                pos += 1
                continue
            escape = self._byte(pos + 1)
            if escape == ord("u"):
                decoded = self._unicode_escape(pos)
                if decoded is None:
                    self.pos = pos
                    return _Token("T_ERROR", pos, "invalid unicode escape code")
                text, length = decoded
                out += text
                pos += length
                continue
            translated = _ESCAPE_BYTES.get(escape)
            if translated is None:
                self.pos = pos
                return _Token("T_ERROR", pos, "invalid escape code")
            out += translated
            pos += 2
        self.pos = pos + 1
        return _Token("T_STRING", start, bytes(out))

    def _unicode_escape(self, pos: int) -> tuple[bytes, int] | None:
        # json_append_unicode_escape: \\uXXXX, or a high and low surrogate pair.
        first = _HEX4.fullmatch(self.data, pos + 2, pos + 6)
        if first is None:
            return None
        codepoint = int(first.group(), 16)
        length = 6
        if codepoint & 0xF800 == 0xD800:
            if codepoint & 0x400:
                return None
            if self.data[pos + 6 : pos + 8] != b"\\u":
                return None
            second = _HEX4.fullmatch(self.data, pos + 8, pos + 12)
            if second is None:
                return None
            low = int(second.group(), 16)
            if low & 0xFC00 != 0xDC00:
                return None
            codepoint = (((codepoint & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000
            length = 12
        return chr(codepoint).encode("utf-8", "surrogatepass"), length

    def parse(self) -> Any:
        if len(self.data) >= 2 and (self.data[0] == 0 or self.data[1] == 0):
            raise CjsonError("JSON parser does not support UTF-16 or UTF-32")
        value = self._value(self.next_token())
        token = self.next_token()
        if token.kind != "T_END":
            _throw("the end", token)
        return value

    def _value(self, token: _Token) -> Any:
        # Containers are filled through an explicit stack of [table, pending
        # key or array length, is_object] frames, so depth 1000 needs no recursion.
        stack: list[list[Any]] = []
        while True:
            kind = token.kind
            if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
                value = token.value
            elif kind == "T_NULL":
                value = self.null
            elif kind == "T_OBJ_BEGIN" or kind == "T_ARR_BEGIN":
                if len(stack) + 1 > MAX_DEPTH:
                    raise CjsonError(
                        f"Found too many nested data structures ({len(stack) + 1}) "
                        f"at character {self.pos}"
                    )
                is_object = kind == "T_OBJ_BEGIN"
                table = self.new_table()
                token = self.next_token()
                if token.kind == ("T_OBJ_END" if is_object else "T_ARR_END"):
                    value = table
                else:
                    stack.append([table, 0, is_object])
                    if is_object:
                        token = self._object_key(stack[-1], token)
                    continue
            else:
                _throw("value", token)

            # A complete value: store it in its container, then close
            # every container that ends here.
            while True:
                if not stack:
                    return value
                frame = stack[-1]
                table = frame[0]
                if frame[2]:
                    table[frame[1]] = value
                    token = self.next_token()
                    if token.kind == "T_OBJ_END":
                        stack.pop()
                        value = table
                        continue
                    if token.kind != "T_COMMA":
                        _throw("comma or object end", token)
                    token = self._object_key(frame, self.next_token())
                    break
                frame[1] += 1
                table[frame[1]] = value
                token = self.next_token()
                if token.kind == "T_ARR_END":
                    stack.pop()
                    value = table
                    continue
                if token.kind != "T_COMMA":
                    _throw("comma or array end", token)
                token = self.next_token()
                break

    def _object_key(self, frame: list[Any], token: _Token) -> _Token:
        if token.kind != "T_STRING":
            _throw("object key string", token)
        frame[1] = token.value
        token = self.next_token()
        if token.kind != "T_COLON":
            _throw("colon", token)
        return self.next_token()


def _throw(expected: str, token: _Token) -> Any:
    found = token.value if token.kind == "T_ERROR" else token.kind
    raise CjsonError(f"Expected {expected} but found {found} at character {token.index + 1}")


_MISSING = object()
# Texts up to this size have their parsed value cached, up to this many entries.
_CACHED_TEXT_MAX = 4096
_CACHE_ENTRIES_MAX = 4096


class Decoder:
    """Decode JSON into Lua tables of one runtime; `null` is that runtime's `cjson.null`."""

    def __init__(self, runtime: Any, null: Any) -> None:
        self.null = null
        self._table_from = runtime.table_from
        self._new_table = runtime.eval("function() return {} end")
        self._parsed: dict[bytes, Any] = {}

    def decode(self, text: bytes) -> Any:
        if text == b"{}" or text == b"[]":
            # qless-core decodes empty tags, dependencies and failures on most calls.
            return self._new_table()
        parsed = self._parsed.get(text, _MISSING)
        if parsed is not _MISSING:
            return self._python_to_lua(parsed)
        if _NEEDS_EXACT.search(text) is None:
            try:
                # surrogateescape keeps bytes that are not UTF-8 as they are, as lua-cjson does.
                parsed = json.loads(
                    text.decode("utf-8", "surrogateescape"), parse_constant=_reject_constant
                )
            except (ValueError, RecursionError):
                pass
            else:
                # The same job data and history are decoded several times per
                # command; the parsed Python value is immutable once cached.
                if len(text) <= _CACHED_TEXT_MAX:
                    if len(self._parsed) >= _CACHE_ENTRIES_MAX:
                        self._parsed.clear()
                    self._parsed[text] = parsed
                return self._python_to_lua(parsed)
        return _ExactParser(text, self._new_table, self.null).parse()

    def _python_to_lua(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return value.encode("utf-8", "surrogateescape")
        if kind is dict:
            # table_from starts from an empty table and sets the keys in dict
            # (that is, JSON) order, one by one as lua-cjson's rawset does, so
            # the table's `next` order matches Redis's.
            return self._table_from(
                {
                    key.encode("utf-8", "surrogateescape"): self._python_to_lua(item)
                    for key, item in value.items()
                }
            )
        if kind is list:
            return self._table_from([self._python_to_lua(item) for item in value])
        if value is None:
            return self.null
        if kind is int:
            # Lua 5.1 numbers are doubles, and lua-cjson reads them with strtod.
            return float(value) if abs(value) > 2**53 else value
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid token {name}")


def lua_type_name(value: Any) -> str:
    """Return the Lua type name of a value passed from Lua to Python (for argument errors)."""
    if value is None:
        return "nil"
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is bytes:
        return "string"
    if kind is int or kind is float:
        return "number"
    return lua.lua_type(value) or "userdata"
