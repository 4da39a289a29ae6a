"""The simulated server: fakeredis's data, one Lua runtime, a lock and a clock."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import fakeredis
from fakeredis._clients._sync import FakeRedisConnection
from fakeredis._core import FakeServer
from fakeredis._helpers import SimpleError
from fakeredis._socket import FakeSocket

from ..clock import Clock, SimClock
from ..errors import RedisRulesError
from ._commands import DirectCommands
from ._runtime import DEFAULT_REDIS_RULES, Runtime, ScriptReplyError, check_redis_rules
from ._source import CoreScript, load_core

REDIS_RULES_ENV_VAR = "QLESS_SIM_REDIS_RULES"


class _ScriptSocket(FakeSocket):
    """The fakeredis connection that the script's `redis.call` runs on."""

    def _keyspace_notifications(self, command_items: Any, event: bytes) -> None:
        # Redis sends keyspace events only when notify-keyspace-events is set,
        # and its default is empty; stock fakeredis sends them for every write.
        if self._server.config.get(b"notify-keyspace-events"):
            super()._keyspace_notifications(command_items, event)


def _simulated(data: FakeServer) -> SimulatedServer:
    simulated: SimulatedServer = getattr(data, "qless_sim")  # noqa: B009
    return simulated


class _ClientSocket(FakeSocket):
    """A redis-py client's connection: EVAL and EVALSHA of the core run on the engine.

    Other scripts fall through to fakeredis's own Lua support, so a client made
    by `SimulatedServer.redis_client()` behaves like a connection to a Redis
    that has the core loaded (an upstream qless client works unmodified).
    """

    def _keyspace_notifications(self, command_items: Any, event: bytes) -> None:
        if self._server.config.get(b"notify-keyspace-events"):
            super()._keyspace_notifications(command_items, event)

    def _run_command(self, func: Any, sig: Any, args: list[Any], from_script: bool) -> Any:
        # fakeredis stamps every database with the machine's time before a
        # command; on the simulated server, keys expire by the simulated clock.
        now = _simulated(self._server).clock.now()
        for database in self._server.dbs.values():
            database.time = now
        return super()._run_command(func, sig, args, from_script)

    def _engine_run(self, numkeys: int, keys_and_args: Sequence[bytes]) -> Any:
        simulated = _simulated(self._server)
        if numkeys > len(keys_and_args):
            raise SimpleError("ERR Number of keys can't be greater than number of args")
        if numkeys < 0:
            raise SimpleError("ERR Number of keys can't be negative")
        # fakeredis already holds the server lock while a command runs.
        try:
            return simulated.run_unlocked(
                keys_and_args[numkeys:], keys_and_args[:numkeys], self._db_num
            )
        except ScriptReplyError as error:
            raise SimpleError(error.reply) from None

    def eval(self, script: bytes, numkeys: int, *keys_and_args: bytes) -> Any:
        simulated = _simulated(self._server)
        if script == simulated.core.source:
            self._server.script_cache[simulated.runtime.sha.encode()] = script
            return self._engine_run(numkeys, keys_and_args)
        return super().eval(script, numkeys, *keys_and_args)

    def evalsha(self, sha1: bytes, numkeys: int, *keys_and_args: bytes) -> Any:
        simulated = _simulated(self._server)
        sha = sha1.lower()
        if sha == simulated.runtime.sha.encode() and sha in self._server.script_cache:
            return self._engine_run(numkeys, keys_and_args)
        return super().evalsha(sha1, numkeys, *keys_and_args)


class _ClientConnection(FakeRedisConnection):
    def _connect(self) -> _ClientSocket:
        server = self._server
        if server is None or not server.connected:
            raise self._connection_error_class("Connection closed by server.")
        return _ClientSocket(
            server,
            client_class=self._client_class,
            db=self.db,
            lua_modules=self._lua_modules,
            client_info=self._client_info,
        )


def resolve_redis_rules(redis_rules: int | str | None) -> int:
    """Return the rules version to emulate: the argument, else QLESS_SIM_REDIS_RULES, else 7."""
    if redis_rules is not None:
        return check_redis_rules(redis_rules)
    from_env = os.environ.get(REDIS_RULES_ENV_VAR)
    if from_env:
        try:
            return check_redis_rules(from_env)
        except RedisRulesError as error:
            raise RedisRulesError(f"{REDIS_RULES_ENV_VAR}: {error}") from None
    return DEFAULT_REDIS_RULES


class SimulatedServer:
    """A Redis server in this process that runs one qless-core script.

    `core` is a name ('reqless', 'qless-py') or a path to a built qless.lua,
    or an already loaded `CoreScript`; see `qless_sim.core.load_core`.
    `redis_rules` is the Redis version whose scripting rules are emulated
    (5, 6 or 7). Scripts run one at a time, so each is atomic, as on Redis.

    `direct_commands` (default True) runs the Redis commands qless-core uses
    most on fakeredis's data without its generic dispatch. Set it to False to
    run every command through fakeredis's own implementation.
    """

    def __init__(
        self,
        core: str | os.PathLike[str] | CoreScript | None = None,
        *,
        clock: Clock | None = None,
        redis_rules: int | str | None = None,
    ) -> None:
        self.core = core if isinstance(core, CoreScript) else load_core(core)
        self.clock: Clock = clock if clock is not None else SimClock()
        self.redis_rules = resolve_redis_rules(redis_rules)
        # fakeredis replies as Redis 7 does to the commands qless-core uses.
        self.data = FakeServer(version=(7,))
        # Clients made by redis_client() find the engine through the data server.
        setattr(self.data, "qless_sim", self)  # noqa: B010
        self._socket = _ScriptSocket(self.data, 0, client_class=fakeredis.FakeRedis)
        self._socket._script_resp = 2
        self._commands: dict[bytes, tuple[Any, Any]] = {}
        self._direct = DirectCommands(self.data.dbs[0])
        self._direct_table: dict[bytes, Any] = self._direct.table
        self._db_number = 0
        self.direct_commands = True
        self.runtime = Runtime(self.core.source, self._execute, self.redis_rules)
        self.calls = 0
        self._redis: fakeredis.FakeRedis | None = None

    @property
    def compilations(self) -> int:
        """How many times the script was compiled; stays 1 for the server's lifetime."""
        return self.runtime.compilations

    @property
    def lock(self) -> threading.Lock:
        """The lock every command and script on this server holds while it runs."""
        lock: threading.Lock = self.data.lock
        return lock

    def eval_script(self, argv: Sequence[bytes]) -> Any:
        """Run the core with ARGV (no KEYS) and return the reply; raises `ScriptReplyError`."""
        with self.data.lock:
            return self.run_unlocked(argv)

    def run_unlocked(self, argv: Sequence[bytes], keys: Sequence[bytes] = (), db: int = 0) -> Any:
        """Run the core on database `db`; the caller must have acquired `lock`."""
        self.calls += 1
        if db != self._db_number:
            self._use_db(db)
        # Key expiry (throttle locks use EXPIRE) follows the simulated clock.
        self._direct.db.time = self.clock.now()
        # Keyspace events need fakeredis's own commands, which send them;
        # CONFIG cannot run inside a script, so this holds for the whole run.
        if self.direct_commands and not self.data.config.get(b"notify-keyspace-events"):
            self._direct_table = self._direct.table
        else:
            self._direct_table = {}
        self.runtime.direct_table = self._direct_table
        try:
            return self.runtime.run(argv, keys)
        finally:
            self._wake_watchers()

    def _use_db(self, db: int) -> None:
        database = self.data.dbs[db]
        self._socket._db = database
        self._socket._db_num = db
        self._direct.db = database
        self._db_number = db

    def _wake_watchers(self) -> None:
        # Keys the direct paths wrote: WATCHers see the change once the script
        # ends, which is when Redis, running the script atomically, shows it.
        written = self._direct.written
        if written:
            db = self._direct.db
            for key in written:
                db.notify_watch(key)
            written.clear()

    def _execute(self, name: bytes, args: Sequence[bytes]) -> Any:
        # The runtime's redis.call bridge has already tried the direct paths
        # (`runtime.direct_table`); what reaches here runs on fakeredis.
        if (
            name == b"publish"
            and self._direct_table
            and len(args) == 2
            and not self.data.subscribers
            and not self.data.psubscribers
        ):
            # No client has ever subscribed on this server, so no client receives it.
            return 0
        entry = self._commands.get(name)
        if entry is None:
            command = name.decode("utf-8", "replace").lower()
            try:
                func, signature = self._socket._name_to_func(command)
            except SimpleError:
                raise SimpleError("ERR Unknown Redis command called from script") from None
            if func is None:
                raise SimpleError("ERR Unknown Redis command called from script")
            entry = (func, signature)
            self._commands[name] = entry
        func, signature = entry
        try:
            signature.check_arity(list(args), self.data.version)
        except SimpleError:
            raise SimpleError(
                "ERR Wrong number of args calling Redis command from script"
            ) from None
        result = self._socket._run_command(func, signature, list(args), True)
        if isinstance(result, SimpleError):
            raise result
        return result

    @property
    def redis(self) -> fakeredis.FakeRedis:
        """A redis-py client on this server's data (replies decoded as str)."""
        if self._redis is None:
            self._redis = self.redis_client(decode_responses=True)
        return self._redis

    def redis_client(self, **kwargs: Any) -> fakeredis.FakeRedis:
        """Return a new redis-py client on this server's data; kwargs go to `fakeredis.FakeRedis`.

        EVAL and EVALSHA of the loaded core run on this server's engine, so
        an upstream qless client given this handle runs the same script.
        """
        kwargs.setdefault("connection_class", _ClientConnection)
        return fakeredis.FakeRedis(server=self.data, **kwargs)

    def flush(self) -> None:
        """Delete every key, keeping the compiled runtime (what FLUSHALL does on Redis)."""
        with self.data.lock:
            for db in self.data.dbs.values():
                db.clear()

    def __repr__(self) -> str:
        return (
            f"SimulatedServer(core={self.core.describe()!r}, "
            f"redis_rules={self.redis_rules}, clock={self.clock!r})"
        )
