"""The backends the pytest plugin's fixtures run on: the simulator or a real Redis.

`SimulatorPool` keeps one `SimulatedServer` per (core, Redis rules) for the
whole session (per xdist worker), because compiling qless-core is the
expensive part. Each test only empties its data and gets a fresh clock.

`ParityDatabase` is a real Redis database for parity mode. It is checked
once for keys outside qless's ``ql:`` namespace, and emptied before each test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import redis as redis_py

    from .clock import Clock
    from .core import CoreScript, SimulatedServer, Transport

# qless-core publishes every event on a channel under this prefix
# (qless-core d15c37c and reqless 0.13: Qless.ns = 'ql:').
QLESS_NAMESPACE = "ql:"
_EVENT_PATTERN = QLESS_NAMESPACE + "*"

# How long to wait for the PING that closes a drain of a real Redis's events.
_DRAIN_TIMEOUT_SECONDS = 5.0


class ParityError(Exception):
    """Parity mode cannot use the database; the message states why and what to do."""


class SimulatorPool:
    """One SimulatedServer per (core, Redis rules), built the first time a test needs it."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], SimulatedServer] = {}

    def server(self, core: CoreScript, redis_rules: int, clock: Clock) -> SimulatedServer:
        """Return the server for `core` and `redis_rules`, emptied and set to `clock`."""
        from .core import SimulatedServer

        key = (str(core.path), redis_rules)
        server = self._servers.get(key)
        if server is None:
            server = SimulatedServer(core, clock=clock, redis_rules=redis_rules)
            self._servers[key] = server
        server.flush()
        server.clock = clock
        return server

    @property
    def servers(self) -> list[SimulatedServer]:
        """The servers built so far, in the order they were first needed."""
        return list(self._servers.values())


def database_client(url: str, worker_index: int, **kwargs: Any) -> redis_py.Redis:
    """Return a client on the database of `url`, shifted by `worker_index` for xdist."""
    import redis as redis_py
    from redis.connection import parse_url

    options = parse_url(url)  # type: ignore[no-untyped-call]
    options["db"] = int(options.get("db") or 0) + worker_index
    options.update(kwargs)
    return redis_py.Redis(connection_pool=redis_py.ConnectionPool(**options))


def describe_database(client: redis_py.Redis) -> str:
    """Name the database a client points at, e.g. ``127.0.0.1:6379 database 4``."""
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"{where} database {kwargs.get('db', 0)}"


class ParityDatabase:
    """A real Redis database that the qless fixtures run on in parity mode."""

    def __init__(self, url: str, worker_index: int) -> None:
        self.url = url
        self.worker_index = worker_index
        self.client = database_client(url, worker_index)
        # Replies decoded as str, like the simulator's `SimulatedServer.redis`,
        # so that `Client.redis` reads the same on both backends.
        self.text_client = database_client(url, worker_index, decode_responses=True)
        self.server_version = "unknown"

    @property
    def db(self) -> int:
        return int(self.client.connection_pool.connection_kwargs.get("db", 0))

    def check(self, option: str, workers: int = 1) -> None:
        """Connect, and reject a database that is not empty (deleting nothing).

        Keys outside ``ql:`` belong to something else; keys inside it may be a
        live qless deployment. Parity mode empties the database before every
        test and at the end of the run, so a database it used stays empty.
        `workers` is how many consecutive databases the run uses (xdist).
        """
        import redis as redis_py

        where = describe_database(self.client)
        try:
            info = self.client.info("server")
            foreign: list[str] = []
            qless: list[str] = []
            for key in self.client.scan_iter(count=1000):
                name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
                found = qless if name.startswith(QLESS_NAMESPACE) else foreign
                if len(found) < 5:
                    found.append(name)
                if len(foreign) == 5:
                    break
            total = self.client.dbsize() if foreign or qless else 0
        except redis_py.exceptions.ResponseError as error:
            if "out of range" in str(error):
                raise ParityError(
                    f"{option} {self.url!r}: {where} does not exist on that server ({error}); "
                    "Redis has databases 0 to 15 unless its `databases` setting says otherwise, "
                    f"so choose a database number such as {self._suggested_db(workers)}"
                ) from None
            raise ParityError(
                f"{option} {self.url!r}: cannot use {where} ({error}); point the option at "
                "a Redis database that accepts commands"
            ) from None
        except redis_py.exceptions.RedisError as error:
            raise ParityError(
                f"{option} {self.url!r}: cannot use {where} ({error}); start a Redis server "
                "there, or point the option at one that is running"
            ) from None
        self.server_version = str(info.get("redis_version", "unknown"))
        count = f"{total} key" if total == 1 else f"{total} keys"
        flush = f"`{self._redis_cli()} FLUSHDB`"
        elsewhere = (
            "Point the option at an empty database (for example another database number "
            f"such as {self._url_with_db(self._suggested_db(workers))})"
        )
        if foreign:
            examples = ", ".join(repr(name) for name in foreign)
            raise ParityError(
                f"{option} {self.url!r}: {where} contains keys outside qless's "
                f"'{QLESS_NAMESPACE}' namespace ({count} in total, for example "
                f"{examples}). Parity mode empties its database before every test, so it "
                f"rejects a database that may hold other data; nothing was deleted. {elsewhere}, "
                f"or empty this one with {flush} if its data is disposable"
            )
        if qless:
            examples = ", ".join(repr(name) for name in qless)
            raise ParityError(
                f"{option} {self.url!r}: {where} already contains qless data ({count}, for "
                f"example {examples}), which may be a live qless deployment. Parity mode "
                "empties its database before every test, so it rejects a database that is not "
                f"empty; nothing was deleted. {elsewhere}, or, if the keys are left over from "
                f"an interrupted test run, empty it with {flush}"
            )

    def _suggested_db(self, workers: int) -> int:
        """Return a database number other than this one that leaves room for `workers`."""
        highest_base = max(0, 16 - workers)
        return highest_base if highest_base != self.db else max(0, highest_base - workers)

    def _url_with_db(self, db: int) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        if kwargs.get("path"):
            return f"unix://{kwargs['path']}?db={db}"
        return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"

    def _redis_cli(self) -> str:
        """Return the redis-cli command line that reaches this database."""
        kwargs = self.client.connection_pool.connection_kwargs
        if kwargs.get("path"):
            return f"redis-cli -s {kwargs['path']} -n {self.db}"
        host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
        return f"redis-cli -h {host} -p {port} -n {self.db}"

    def reset(self) -> None:
        """Empty the database (FLUSHDB) before a test."""
        self.client.flushdb()

    def close(self) -> None:
        self.client.close()
        self.text_client.close()


class QlessEvent(NamedTuple):
    """One message qless-core published: its channel (e.g. ``ql:log``) and data."""

    channel: str
    data: str

    @property
    def name(self) -> str:
        """The channel without qless's prefix, e.g. ``log``, ``popped`` or ``w:worker-a``."""
        return self.channel[len(QLESS_NAMESPACE) :]

    def json(self) -> Any:
        """Decode the data as JSON (``ql:log`` and ``ql:w:<worker>`` send JSON objects)."""
        return json.loads(self.data)


class QlessEvents(list[QlessEvent]):
    """Every qless event published since the test started, in order.

    It is a list, so tests compare it, index it and filter it as usual. Each
    read first collects what was published since the last read.
    """

    def __init__(self, redis: redis_py.Redis) -> None:
        super().__init__()
        self._pubsub = redis.pubsub()
        # NOTE: Redis pub/sub channels are server-wide, not per database, so in
        # parity mode this also receives qless events that other processes
        # (other xdist workers) publish on the same Redis server.
        self._pubsub.psubscribe(_EVENT_PATTERN)
        self._token = 0
        self._drain()

    def _drain(self) -> None:
        # Redis replies to a PING on the subscribed connection after every
        # message it published before it, so waiting for its PONG collects every
        # event of the commands that already returned.
        pubsub = self._pubsub
        if pubsub.connection is None:
            return
        self._token += 1
        token = f"qless-sim-drain-{self._token}"
        pubsub.ping(token)
        deadline = time.monotonic() + _DRAIN_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message is None:
                continue
            kind = _text(message["type"])
            if kind == "pmessage":
                event = QlessEvent(_text(message["channel"]), _text(message["data"]))
                list.append(self, event)
            elif kind == "pong" and _text(message["data"]) == token:
                return
        raise TimeoutError(
            f"qless_events: no reply to PING within {_DRAIN_TIMEOUT_SECONDS} s; "
            "the Redis connection is stalled"
        )

    def close(self) -> None:
        """Stop listening; the events collected so far stay in the list."""
        if self._pubsub.connection is not None:
            self._drain()
            self._pubsub.punsubscribe()
        self._pubsub.close()

    def named(self, name: str) -> list[QlessEvent]:
        """Return the events on channel ``ql:<name>`` (e.g. ``named('log')``)."""
        return [event for event in self if event.name == name]

    # Every read collects pending events first. Mutating methods are list's own.
    def __iter__(self) -> Iterator[QlessEvent]:
        self._drain()
        return super().__iter__()

    def __len__(self) -> int:
        self._drain()
        return super().__len__()

    def __getitem__(self, index: Any) -> Any:
        self._drain()
        return super().__getitem__(index)

    def __contains__(self, item: object) -> bool:
        self._drain()
        return super().__contains__(item)

    def __eq__(self, other: object) -> bool:
        self._drain()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        self._drain()
        return super().__repr__()

    __hash__ = None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


class QlessBackend(NamedTuple):
    """The clock, core, transport and data that one test's qless fixtures share."""

    clock: Clock
    core: CoreScript
    transport: Transport
    server: SimulatedServer | None
    parity: ParityDatabase | None

    def redis(self, **kwargs: Any) -> redis_py.Redis:
        """Return a new redis-py client on the test's data."""
        if self.server is not None:
            return self.server.redis_client(**kwargs)
        assert self.parity is not None
        return database_client(self.parity.url, self.parity.worker_index, **kwargs)
