"""cjson in scripts encodes and decodes as Redis 7.0's bundled lua-cjson 2.1.0.

Each expected reply is the RESP2 text a real redis-server 7.0.15 sent for the
same EVAL. Stock fakeredis differs on the first cases of each table (it
encodes {} as [], prints 17 digits, and raises Python errors for bad JSON).
The same tables run against a real redis-server when QLESS_SIM_TEST_REDIS_URL is set.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from _fidelity import engine_eval, real_eval, sha1  # noqa: E402

ERROR_SUFFIX = " script: {sha}, on @user_script:1.\r\n"

ENCODE_CASES = [
    # An empty table is an object, and key order is Lua's next() order.
    ("return cjson.encode({jobs={}, stalled={}})", b'$24\r\n{"stalled":{},"jobs":{}}\r\n'),
    # 14 significant digits (%.14g), and -0 keeps its sign.
    (
        "return cjson.encode({0.1, 1/3, 1e20, 2^53, 3, -0.0})",
        b"$52\r\n[0.1,0.33333333333333,1e+20,9.007199254741e+15,3,-0]\r\n",
    ),
    ("return cjson.encode(1e15)", b"$5\r\n1e+15\r\n"),
    ("return cjson.encode({[0]=1})", b'$7\r\n{"0":1}\r\n'),
    ("return cjson.encode({[1.5]=1})", b'$9\r\n{"1.5":1}\r\n'),
    ("return cjson.encode({[1]=1, a=2})", b'$13\r\n{"1":1,"a":2}\r\n'),
    ("return cjson.encode({[1]=1,[3]=2})", b"$10\r\n[1,null,2]\r\n"),
    (
        "local t={} for i=1,11 do t[i]=i end t[5]=nil return cjson.encode(t)",
        b"$28\r\n[1,2,3,4,null,6,7,8,9,10,11]\r\n",
    ),
    # Control characters, DEL and '/' are escaped; other bytes pass untouched.
    (
        "return cjson.encode(string.char(0,1,127,128,255) .. '/')",
        b'$24\r\n"\\u0000\\u0001\\u007f\x80\xff\\/"\r\n',
    ),
    ("return cjson.encode({cjson.null})", b"$6\r\n[null]\r\n"),
    ("return cjson.encode(cjson.decode('{\"a\":null}'))", b'$10\r\n{"a":null}\r\n'),
    ("return tostring(cjson.null)", b"$15\r\nuserdata: (nil)\r\n"),
    ("return cjson.decode('null') == cjson.null", b":1\r\n"),
    ("return cjson.encode({cjson.decode('-0')})", b"$4\r\n[-0]\r\n"),
]

DECODE_CASES = [
    # lua-cjson reads numbers with strtod, so these non-JSON numbers decode.
    ("return cjson.encode(cjson.decode('0x10'))", b"$2\r\n16\r\n"),
    ("return cjson.encode(cjson.decode('+1'))", b"$1\r\n1\r\n"),
    ("return cjson.encode(cjson.decode('1.'))", b"$1\r\n1\r\n"),
    ("return cjson.decode('01')", b":1\r\n"),
    ("return cjson.encode(cjson.decode('0x1p3'))", b"$1\r\n8\r\n"),
    ("return tostring(cjson.decode('-nan'))", b"$4\r\n-nan\r\n"),
    ("return cjson.decode('-inf')", b":-9223372036854775808\r\n"),
    ("return cjson.decode('[1]\\0xx')", b"*1\r\n:1\r\n"),
    ("return cjson.decode('\"a\\1\"')", b"$2\r\na\x01\r\n"),
    (
        "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')",
        b"$6\r\n\xc3\xa9\xf0\x9f\x98\x80\r\n",
    ),
    ("return cjson.decode(12)", b":12\r\n"),
]

# (snippet, lua-cjson's message); each is raised at the caller's line.
ERROR_CASES = [
    ("return cjson.decode('[}')", "Expected value but found T_OBJ_END at character 2"),
    ("return cjson.decode(nil)", "bad argument #1 to 'decode' (string expected, got nil)"),
    ("return cjson.decode(true)", "bad argument #1 to 'decode' (string expected, got boolean)"),
    ("return cjson.decode({})", "bad argument #1 to 'decode' (string expected, got table)"),
    ("return cjson.encode(1,2,3)", "bad argument #1 to 'encode' (expected 1 argument)"),
    ("return cjson.decode('[1,2')", "Expected comma or array end but found T_END at character 5"),
    ("return cjson.decode('{\"a\" 1}')", "Expected colon but found T_NUMBER at character 6"),
    (
        "return cjson.decode('{1:2}')",
        "Expected object key string but found T_NUMBER at character 2",
    ),
    (
        "return cjson.decode('{\"a\":1,}')",
        "Expected object key string but found T_OBJ_END at character 8",
    ),
    ("return cjson.decode('nul')", "Expected value but found invalid token at character 1"),
    ("return cjson.decode('  ')", "Expected value but found T_END at character 3"),
    ("return cjson.decode('[1,]')", "Expected value but found T_ARR_END at character 4"),
    (
        "return cjson.decode('\"abc')",
        "Expected value but found unexpected end of string at character 5",
    ),
    (
        "return cjson.decode('\"\\\\x\"')",
        "Expected value but found invalid escape code at character 2",
    ),
    ("return cjson.decode('[1] x')", "Expected the end but found invalid token at character 5"),
    ("return cjson.decode('truex')", "Expected the end but found invalid token at character 5"),
    ("return cjson.decode('-')", "Expected value but found invalid number at character 1"),
    ("return cjson.decode('.5')", "Expected value but found invalid token at character 1"),
    (
        "return cjson.decode('\"\\\\u12\"')",
        "Expected value but found invalid unicode escape code at character 2",
    ),
    (
        "return cjson.decode('\"\\\\udc00\"')",
        "Expected value but found invalid unicode escape code at character 2",
    ),
    (
        "return cjson.decode('\"\\\\ud800\\\\u0041\"')",
        "Expected value but found invalid unicode escape code at character 2",
    ),
    (
        "return cjson.decode('\"a\\0b\"')",
        "Expected value but found unexpected end of string at character 3",
    ),
    ("return cjson.decode('\\0\\0')", "JSON parser does not support UTF-16 or UTF-32"),
    (
        "return cjson.decode(string.rep('[', 1001))",
        "Found too many nested data structures (1001) at character 1001",
    ),
    ("return cjson.encode(1/0)", "Cannot serialise number: must not be NaN or Inf"),
    ("return {cjson.encode({[1/0]=1})}", "Cannot serialise number: must not be NaN or Inf"),
    ("return cjson.encode(function() end)", "Cannot serialise function: type not supported"),
    (
        "return cjson.encode({[true]=1})",
        "Cannot serialise boolean: table key must be a number or string",
    ),
    (
        "return cjson.encode({[1]=1,[2]=2,[12]=3})",
        "Cannot serialise table: excessively sparse array",
    ),
]


def _error_reply(source: str, message: str) -> bytes:
    return ("-ERR user_script:1: " + message + ERROR_SUFFIX.format(sha=sha1(source))).encode()


@pytest.mark.parametrize(("source", "expected"), ENCODE_CASES + DECODE_CASES)
def test_cjson_reply_matches_redis(source: str, expected: bytes) -> None:
    assert engine_eval(source) == expected


@pytest.mark.parametrize(("source", "message"), ERROR_CASES)
def test_cjson_error_matches_redis(source: str, message: str) -> None:
    assert engine_eval(source) == _error_reply(source, message)


def test_cjson_decodes_depth_1000() -> None:
    source = "return #cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000))"

    assert engine_eval(source) == b":1\r\n"


def test_cjson_round_trips_invalid_utf8_and_1mib() -> None:
    source = (
        "local s = string.rep('\\255\\254a\\0', 262144) "
        "local back = cjson.decode(cjson.encode({data = s})).data "
        "return {#s, back == s and 1 or 0}"
    )

    assert engine_eval(source) == b"*2\r\n:1048576\r\n:1\r\n"


@pytest.mark.redis_server
@pytest.mark.parametrize(("source", "expected"), ENCODE_CASES + DECODE_CASES)
def test_cjson_reply_on_real_redis(redis_url: str, source: str, expected: bytes) -> None:
    assert real_eval(redis_url, source) == expected


@pytest.mark.redis_server
@pytest.mark.parametrize(("source", "message"), ERROR_CASES)
def test_cjson_error_on_real_redis(redis_url: str, source: str, message: str) -> None:
    assert real_eval(redis_url, source) == _error_reply(source, message)


@pytest.mark.redis_server
@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcdefghij_-0123", min_size=1, max_size=10),
        st.integers(min_value=0, max_value=9),
        max_size=40,
    )
)
def test_decoded_object_key_order_matches_redis(redis_url: str, object_: dict[str, int]) -> None:
    # cjson.encode walks a table in Lua's `next` order, which depends on how
    # the decoder built the table; Redis's lua-cjson sets keys in JSON order.
    text = json.dumps(object_, separators=(",", ":")).replace("'", "\\'")
    source = f"return cjson.encode(cjson.decode('{text}'))"
    assert engine_eval(source) == real_eval(redis_url, source)
