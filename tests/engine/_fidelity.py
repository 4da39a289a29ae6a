"""Run a Lua snippet on the engine and on a real redis-server, and compare RESP2 bytes.

The engine's reply is encoded back into RESP2, so a test can hold the exact
bytes a real Redis 7.0 sends (redis-py would strip the "ERR " code of errors).
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any
from urllib.parse import urlparse

from fakeredis._helpers import SimpleString

from qless_sim.core._runtime import Runtime, ScriptReplyError
from qless_sim.core._server import SimulatedServer


def to_resp(value: Any) -> bytes:
    """Encode an engine reply (or `ScriptReplyError`) as the RESP2 bytes Redis would send."""
    if isinstance(value, ScriptReplyError):
        return b"-" + value.reply.encode("utf-8", "surrogateescape") + b"\r\n"
    if isinstance(value, SimpleString):
        return b"+" + value.value + b"\r\n"
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, int):
        return b":%d\r\n" % value
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, list):
        return b"*%d\r\n" % len(value) + b"".join(to_resp(item) for item in value)
    raise TypeError(f"not a RESP2 reply: {value!r}")


def engine_eval(
    source: str | bytes, redis_rules: int = 7, server: SimulatedServer | None = None
) -> bytes:
    """Run `source` as EVAL with no keys on a fresh simulated server; return RESP2 bytes."""
    server = server if server is not None else SimulatedServer(redis_rules=redis_rules)
    script = source.encode() if isinstance(source, str) else source
    with server.lock:
        runtime = Runtime(script, server._execute, redis_rules)
        try:
            return to_resp(runtime.run([]))
        except ScriptReplyError as error:
            return to_resp(error)


def _command(*parts: bytes | str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _read_reply(stream: Any) -> bytes:
    line = stream.readline()
    kind = line[:1]
    if kind in (b"+", b"-", b":"):
        return bytes(line)
    if kind == b"$":
        length = int(line[1:])
        return bytes(line) if length < 0 else bytes(line) + stream.read(length + 2)
    if kind == b"*":
        count = int(line[1:])
        return bytes(line) + b"".join(_read_reply(stream) for _ in range(max(count, 0)))
    raise ValueError(f"unexpected RESP line from redis-server: {line!r}")


def real_eval(redis_url: str, source: str | bytes) -> bytes:
    """Send EVAL `source` 0 to the redis-server at `redis_url`; return the raw reply bytes."""
    url = urlparse(redis_url)
    database = (url.path or "/0").lstrip("/") or "0"
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), 10) as sock:
        stream = sock.makefile("rb")
        sock.sendall(_command("SELECT", database) + _command("EVAL", source, "0"))
        selected = _read_reply(stream)
        assert selected == b"+OK\r\n", selected
        return _read_reply(stream)


def sha1(source: str) -> str:
    """Return the SHA1 Redis names a script by in its error replies."""
    return hashlib.sha1(source.encode()).hexdigest()
