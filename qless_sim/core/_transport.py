"""Transports: one `call(command, *args)` that stamps `now` and runs qless-core.

`SimTransport` runs the script on a `SimulatedServer`; `RedisTransport` loads
the same script into a real Redis with SCRIPT LOAD and calls it with EVALSHA.
Both return the same decoded replies and raise the same `qless_sim.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlparse

import redis as redis_py
from fakeredis._helpers import SimpleString

from ..clock import Clock, SystemClock
from ..errors import (
    InvalidArgumentError,
    JobNotFoundError,
    LostLockError,
    QlessError,
    ScriptError,
    UnsupportedCommandError,
)
from ._runtime import ScriptReplyError
from ._server import SimulatedServer
from ._source import ApiEdition, CoreScript

# Redis 7.0: "ERR user_script:12: message script: <sha>, on @user_script:12."
_REPLY_7 = re.compile(
    r"^(?:ERR )?(?:user_script:\d+: )?(?P<message>.*?) script: [0-9a-f]{40}, "
    r"on @user_script:-?\d+\.$",
    re.DOTALL,
)
# Redis 5 and 6:
# "ERR Error running script (call to f_<sha>): @user_script:12: user_script:12: message"
_REPLY_OLD = re.compile(
    r"^(?:ERR )?Error running script \(call to f_[0-9a-f]{40}\): "
    r"@user_script:-?\d+: (?:user_script:\d+: )?(?P<message>.*?) ?$",
    re.DOTALL,
)

# qless-core's wording when a worker acts on a job whose lease it lost
# (qless-core d15c37c and reqless 0.13: Heartbeat, Complete, Fail, Retry).
_LOST_LOCK = re.compile(
    r"^(Heartbeat|Complete|Fail|Retry)\(\): Job ("
    r"given out to another worker|has been handed out to another worker|"
    r"has been given to another worker|running with another worker|"
    r"not currently running|is not currently running|running in another queue)"
)
_NOT_FOUND = re.compile(r"^\w+\(\): (Job|Recurring job)? ?.*does not exist|No recurring job")


def qless_message(reply: str) -> str:
    """Extract qless-core's own message from a Redis error reply about a script."""
    for pattern in (_REPLY_7, _REPLY_OLD):
        match = pattern.match(reply)
        if match:
            return match.group("message")
    return reply[4:] if reply.startswith("ERR ") else reply


def error_from_reply(
    reply: str, command: str, core: CoreScript | None = None, *, simulated: bool = True
) -> QlessError:
    """Build the typed error for a script error reply (from the simulator unless `simulated`)."""
    message = qless_message(reply)
    if message.startswith("Unknown command"):
        return UnsupportedCommandError(
            f"{message}: the loaded core has no {command!r} command", reply, command
        )
    if _LOST_LOCK.match(message):
        return LostLockError(message, reply, command)
    if _NOT_FOUND.match(message):
        return JobNotFoundError(message, reply, command)
    readonly = message.startswith("Attempt to modify a readonly table")
    if readonly and core is not None and core.edition is ApiEdition.LEGACY_2016:
        return ScriptError(
            f"{message}: core {core.describe()} writes to Lua's global `table` library "
            "(`function table.extend`), which Redis 6.2.7 and later reject, "
            + (
                "so it fails on a real Redis 7 too; emulate older Redis rules with "
                "redis_rules=6 (QLESS_SIM_REDIS_RULES=6, or --qless-redis-rules 6 under "
                "pytest), or use the 'reqless' core"
                if simulated
                else "and this Redis is one of them; run this core on a Redis older than "
                "6.2.7, or use the 'reqless' core"
            ),
            reply,
            command,
        )
    if "calling Redis command from script" in message or "called from script" in message:
        return ScriptError(message, reply, command)
    return QlessError(message, reply, command)


def url_database(url: str) -> str | None:
    """Return the database part of a Redis URL as written (path or ?db=), or None.

    redis-py reads a database that is not a number as database 0 without a
    word, so callers check this before connecting.
    """
    parsed = urlparse(url)
    query = parse_qs(parsed.query).get("db")
    if query:
        return query[0]
    if parsed.scheme in ("redis", "rediss"):
        return parsed.path.strip("/") or None
    return None


def encode_arg(value: Any) -> bytes:
    """Encode one argument the way redis-py does (str as UTF-8, float with repr)."""
    kind = type(value)
    if kind is bytes:
        return value  # type: ignore[no-any-return]
    if kind is str:
        # surrogateescape sends back bytes that `decode_reply` kept as surrogates.
        return value.encode("utf-8", "surrogateescape")  # type: ignore[no-any-return]
    if kind is int:
        return str(value).encode()
    if kind is float:
        return repr(value).encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return str(value).encode("utf-8", "surrogateescape")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value)).encode()
    if isinstance(value, float):
        return repr(float(value)).encode()
    raise InvalidArgumentError(
        f"argument {value!r} ({type(value).__name__}) cannot be sent to qless-core; "
        "pass a str, bytes, int or float"
    )


def decode_reply(value: Any) -> Any:
    """Decode a RESP2 reply: bulk strings to str (bytes that are not UTF-8 kept as surrogates).

    A status reply (a script's `redis.status_reply`) is decoded like a bulk
    string, as redis-py reads `+OK` from EVALSHA.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, list):
        return [decode_reply(item) for item in value]
    if isinstance(value, SimpleString):
        return value.value.decode("utf-8", "surrogateescape")
    return value


@runtime_checkable
class Transport(Protocol):
    """The interface the bindings call: a clock, the loaded core and `call`."""

    core: CoreScript

    @property
    def clock(self) -> Clock:
        """The clock whose `now()` every command is called with."""
        ...

    def call(self, command: str, *args: Any) -> Any:
        """Run qless-core `command` at `clock.now()` with `args`; return the decoded reply."""
        ...


class SimTransport:
    """Calls qless-core on a `SimulatedServer`, with `now` from the server's clock."""

    def __init__(self, server: SimulatedServer) -> None:
        self.server = server
        self.core = server.core

    @property
    def clock(self) -> Clock:
        """The server's clock, read on every call, so replacing `server.clock` takes effect."""
        return self.server.clock

    def call(self, command: str, *args: Any) -> Any:
        argv = [encode_arg(command), encode_arg(self.server.clock.now())]
        argv.extend(encode_arg(arg) for arg in args)
        try:
            reply = self.server.eval_script(argv)
        except ScriptReplyError as error:
            raise error_from_reply(error.reply, command, self.core) from None
        return decode_reply(reply)

    def __repr__(self) -> str:
        return f"SimTransport({self.server!r})"


class RedisTransport:
    """Calls qless-core loaded into a real Redis, with `now` from `clock`.

    The script is loaded once with SCRIPT LOAD and called with EVALSHA; after a
    SCRIPT FLUSH (NOSCRIPT reply) it is loaded again.
    """

    def __init__(
        self,
        redis: redis_py.Redis,
        core: CoreScript,
        clock: Clock | None = None,
    ) -> None:
        self.redis = redis
        self.core = core
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._sha: str | None = None

    def _load(self) -> str:
        sha = self.redis.script_load(self.core.source)
        self._sha = sha.decode() if isinstance(sha, bytes) else str(sha)
        return self._sha

    def call(self, command: str, *args: Any) -> Any:
        argv: Sequence[bytes] = [encode_arg(command), encode_arg(self.clock.now())]
        argv = [*argv, *(encode_arg(arg) for arg in args)]
        sha = self._sha or self._load()
        try:
            try:
                reply = self.redis.evalsha(sha, 0, *argv)
            except redis_py.exceptions.NoScriptError:
                reply = self.redis.evalsha(self._load(), 0, *argv)
        except redis_py.exceptions.ResponseError as error:
            raise error_from_reply(
                _full_reply(error), command, self.core, simulated=False
            ) from None
        return decode_reply(reply)

    def __repr__(self) -> str:
        kwargs = self.redis.connection_pool.connection_kwargs
        where = (
            kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        )
        return (
            f"RedisTransport({where} database {kwargs.get('db', 0)}, core={self.core.describe()!r})"
        )


def _full_reply(error: redis_py.exceptions.ResponseError) -> str:
    """Return the error reply as Redis sent it, with the "ERR " code redis-py strips.

    redis-py removes the codes it maps to exception classes (ERR among them)
    and keeps others (WRONGTYPE, ...). A reply about a script always starts
    with a code in Redis 7, so a text that starts with no upper-case code
    word lost "ERR ".
    """
    text = str(error)
    first_word = text.split(" ", 1)[0]
    if first_word.isupper() and first_word.isalpha():
        return text
    # NOTE: an error table a script raises itself without a code (Redis 7.0
    # sends it as is, e.g. "oops script: ...") also gets "ERR " here.
    return "ERR " + text
