"""`qless_sim.client()`: a Client on a fresh simulator or on a real Redis."""

from __future__ import annotations

import os
from typing import Any

import redis as redis_py

from ..clock import Clock
from ..core import (
    CoreScript,
    RedisTransport,
    SimTransport,
    SimulatedServer,
    load_core,
    url_database,
)
from ..errors import InvalidArgumentError
from .client import Client


def client(
    url: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    db: int | None = None,
    core: str | os.PathLike[str] | CoreScript | None = None,
    clock: Clock | None = None,
    redis_rules: int | str | None = None,
    worker_name: str | None = None,
    server: SimulatedServer | None = None,
) -> Client:
    """Return a qless Client.

    With no `url` and no `host`, it runs on a fresh `SimulatedServer` (or on
    `server`), with a `SimClock` unless `clock` is given. With a `url`
    (``redis://127.0.0.1:6379/0``) or `host`/`port`/`db`, it loads the core
    into that Redis with SCRIPT LOAD and calls it with EVALSHA, with the
    machine's clock unless `clock` is given. `core` is 'reqless' (default),
    'qless-py' or a path; `redis_rules` (5, 6 or 7) applies to the simulator.
    """
    real = url is not None or host is not None
    if real:
        if server is not None:
            raise InvalidArgumentError(
                "client(server=...) runs on the simulator, so it cannot be combined with a "
                "url or host; pass one or the other"
            )
        if redis_rules is not None:
            raise InvalidArgumentError(
                f"redis_rules={redis_rules!r} applies only to the simulator; a real Redis "
                "applies its own version's rules, so drop redis_rules"
            )
        if url is not None and (host is not None or port is not None or db is not None):
            raise InvalidArgumentError(
                f"client({url!r}, host=..., port=..., db=...): pass either a url or "
                "host/port/db, not both"
            )
        if url is not None:
            database = url_database(url)
            if database is not None and not database.isdigit():
                raise InvalidArgumentError(
                    f"client({url!r}): the database {database!r} is not a number; pass a URL "
                    "such as redis://127.0.0.1:6379/0"
                )
            try:
                connection: Any = redis_py.Redis.from_url(url)
            except ValueError as error:
                raise InvalidArgumentError(
                    f"client({url!r}): {error}; pass a URL such as redis://127.0.0.1:6379/0"
                ) from None
        else:
            connection = redis_py.Redis(host=host or "127.0.0.1", port=port or 6379, db=db or 0)
        loaded = core if isinstance(core, CoreScript) else load_core(core)
        return Client(RedisTransport(connection, loaded, clock), worker_name=worker_name)

    if port is not None or db is not None:
        raise InvalidArgumentError(
            f"client(port={port!r}, db={db!r}) without a host or url would run on the "
            "simulator and ignore them; pass host='127.0.0.1' too, or drop them"
        )
    if server is not None:
        if core is not None or clock is not None or redis_rules is not None:
            raise InvalidArgumentError(
                "client(server=...) uses that server's core, clock and Redis rules; "
                "drop core, clock and redis_rules, or build the server with them"
            )
    else:
        server = SimulatedServer(core, clock=clock, redis_rules=redis_rules)
    return Client(SimTransport(server), worker_name=worker_name)
