"""The engine and transports: run qless-core and call its commands.

* `load_core` reads the qless-core script to run (see `CoreScript`).
* `SimulatedServer` runs it in process on fakeredis's data with a lupa runtime.
* `SimTransport` and `RedisTransport` expose the same `call(command, *args)`.
"""

from __future__ import annotations

from ._runtime import DEFAULT_REDIS_RULES, SUPPORTED_REDIS_RULES, ScriptReplyError
from ._server import REDIS_RULES_ENV_VAR, SimulatedServer, resolve_redis_rules
from ._source import (
    CORE_ENV_VAR,
    DEFAULT_CORE,
    ApiEdition,
    CoreScript,
    load_core,
    resolve_core_name,
)
from ._transport import (
    RedisTransport,
    SimTransport,
    Transport,
    decode_reply,
    encode_arg,
    error_from_reply,
    qless_message,
    url_database,
)

__all__ = [
    "CORE_ENV_VAR",
    "DEFAULT_CORE",
    "DEFAULT_REDIS_RULES",
    "REDIS_RULES_ENV_VAR",
    "SUPPORTED_REDIS_RULES",
    "ApiEdition",
    "CoreScript",
    "RedisTransport",
    "ScriptReplyError",
    "SimTransport",
    "SimulatedServer",
    "Transport",
    "decode_reply",
    "encode_arg",
    "error_from_reply",
    "load_core",
    "qless_message",
    "resolve_core_name",
    "resolve_redis_rules",
    "url_database",
]
