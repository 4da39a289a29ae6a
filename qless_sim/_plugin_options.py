"""Options of the pytest plugin: parsing, checking and precedence.

Every value can come from the ini file, the command line or a
`@pytest.mark.qless(...)` marker. For one test the closest source wins:
marker, then command line, then ini, then the library's own default (which
for the core and the Redis rules reads QLESS_SIM_CORE and
QLESS_SIM_REDIS_RULES). Config overrides merge key by key in the same order.

Checks raise `OptionError` with a message that names the option and the
accepted values; the plugin turns it into a `pytest.UsageError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from .clock import DEFAULT_START

DEFAULT_WORKER_NAME = "pytest-worker"
DEFAULT_QUEUE = "testing"

# The marker's keyword arguments, and what each sets.
MARKER_KEYS = ("core", "clock_start", "worker_name", "config", "redis_rules")

_CORE_VALUES = "'reqless', 'qless-py' or the path to a built qless.lua"
_RULES_VALUES = "5, 6 or 7"
_CLOCK_VALUES = (
    "seconds since the epoch (e.g. 1704067200) or an ISO 8601 date or datetime "
    "(e.g. 2024-01-01T00:00:00Z; without an offset it is read as UTC)"
)
_URL_VALUES = "redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=DB"


class OptionError(ValueError):
    """An option value the plugin cannot use; the message is shown to the user as is."""


@dataclass(frozen=True)
class Option:
    """One plugin option and the names it goes by in each source."""

    key: str
    flag: str
    ini: str
    help: str

    def source(self, origin: str) -> str:
        """Name the option as the user wrote it in `origin` ('cli', 'ini' or a test id)."""
        if origin == "cli":
            return self.flag
        if origin == "ini":
            return f"ini option {self.ini}"
        return f"@pytest.mark.qless({self.key}=...) on {origin}"


OPTIONS: dict[str, Option] = {
    option.key: option
    for option in (
        Option(
            "core",
            "--qless-core",
            "qless_core",
            f"qless-core script to run: {_CORE_VALUES} (default: QLESS_SIM_CORE, else reqless)",
        ),
        Option(
            "clock_start",
            "--qless-clock-start",
            "qless_clock_start",
            f"time qless_clock starts at in each test: {_CLOCK_VALUES} "
            "(default: 2024-01-01T00:00:00Z)",
        ),
        Option(
            "worker_name",
            "--qless-worker-name",
            "qless_worker_name",
            f"worker name of qless_client and qless_py_client (default: {DEFAULT_WORKER_NAME})",
        ),
        Option(
            "config",
            "--qless-config",
            "qless_config",
            "qless config override KEY=VALUE set before each test, e.g. heartbeat=30; "
            "repeat the option (or write one per ini line) for several keys",
        ),
        Option(
            "redis_rules",
            "--qless-redis-rules",
            "qless_redis_rules",
            f"Redis version whose scripting rules the simulator emulates: {_RULES_VALUES} "
            "(default: QLESS_SIM_REDIS_RULES, else 7)",
        ),
        Option(
            "redis_url",
            "--qless-redis-url",
            "qless_redis_url",
            "parity mode: run the qless fixtures on this real Redis database instead of the "
            f"simulator ({_URL_VALUES}); it must hold no keys outside 'ql:', and it is emptied "
            "before every test; under pytest-xdist worker gwN uses database DB+N",
        ),
    )
}

ConfigValue = str | int | float


@dataclass(frozen=True)
class Settings:
    """The options in force for one test (or, without markers, for the session)."""

    core: str | None = None
    clock_start: float = DEFAULT_START
    worker_name: str = DEFAULT_WORKER_NAME
    config: dict[str, ConfigValue] = field(default_factory=dict)
    redis_rules: int | None = None
    redis_url: str | None = None
    # The keys some source set explicitly, so that qless_py_client picks
    # qless-py's core only where no source chose another.
    explicit: frozenset[str] = frozenset()


def check_core(value: object, origin: str) -> str:
    option = OPTIONS["core"]
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise OptionError(f"{option.source(origin)} is {value!r}; accepted values: {_CORE_VALUES}")
    return value.strip()


def check_clock_start(value: object, origin: str) -> float:
    option = OPTIONS["clock_start"]
    problem = f"{option.source(origin)} is {value!r}; accepted values: {_CLOCK_VALUES}"
    seconds: float
    if isinstance(value, bool):
        raise OptionError(problem)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        seconds = moment.timestamp()
    elif isinstance(value, date):
        seconds = datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    elif isinstance(value, str):
        seconds = _parse_clock_text(value.strip(), problem)
    else:
        raise OptionError(problem)
    if not math.isfinite(seconds) or seconds < 0:
        raise OptionError(f"{problem}; it must be finite and not before 1970-01-01")
    return seconds


def _parse_clock_text(text: str, problem: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    # datetime.fromisoformat accepts a trailing Z only from Python 3.11 on.
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise OptionError(problem) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def check_worker_name(value: object, origin: str) -> str:
    option = OPTIONS["worker_name"]
    if not isinstance(value, str) or not value.strip():
        raise OptionError(
            f"{option.source(origin)} is {value!r}; accepted values: a non-empty worker name"
        )
    return value


def check_redis_rules(value: object, origin: str) -> int:
    option = OPTIONS["redis_rules"]
    text = str(value).strip() if isinstance(value, (int, str)) else None
    if isinstance(value, bool) or text not in ("5", "6", "7"):
        raise OptionError(f"{option.source(origin)} is {value!r}; accepted values: {_RULES_VALUES}")
    return int(text)


def check_redis_url(value: object, origin: str) -> str:
    option = OPTIONS["redis_url"]
    problem = f"{option.source(origin)} is {value!r}; accepted values: {_URL_VALUES}"
    if not isinstance(value, str) or not value.strip():
        raise OptionError(problem)
    from redis.connection import parse_url

    try:
        parse_url(value.strip())  # type: ignore[no-untyped-call]
    except ValueError as error:
        raise OptionError(f"{problem} ({error})") from None
    from .core import url_database

    database = url_database(value.strip())
    if database is not None and not database.isdigit():
        # redis-py reads a database that is not a number as database 0, which
        # parity mode would then empty.
        raise OptionError(f"{problem} (the database {database!r} is not a number)")
    return value.strip()


# Config keys qless-core reads with tonumber (reqless 0.13 and qless-core
# d15c37c): a value that is not a number there fails later, inside a pop, as
# "attempt to perform arithmetic on a nil value".
_NUMERIC_CONFIG_KEYS = frozenset(
    {
        "heartbeat",
        "grace-period",
        "jobs-history",
        "jobs-history-count",
        "max-job-history",
        "max-pop-retry",
        "max-worker-age",
    }
)
_NUMERIC_CONFIG_SUFFIXES = ("-heartbeat", "-max-concurrency", "-max-pop-retry")


def _is_numeric_config_key(key: str) -> bool:
    return key in _NUMERIC_CONFIG_KEYS or key.endswith(_NUMERIC_CONFIG_SUFFIXES)


def _check_numeric_config(key: str, value: ConfigValue, origin: str) -> None:
    if not _is_numeric_config_key(key):
        return
    try:
        number = float(value)
    except ValueError:
        raise OptionError(
            f"{OPTIONS['config'].source(origin)} sets {key!r} to {value!r}, but qless-core "
            f"reads {key!r} as a number; pass a number of seconds or a count, e.g. {key}=30"
        ) from None
    if (key == "heartbeat" or key.endswith("-heartbeat")) and not number > 0:
        # A lease of zero or fewer seconds has lapsed the moment a job is popped.
        raise OptionError(
            f"{OPTIONS['config'].source(origin)} sets {key!r} to {value!r}; a lease length "
            f"must be a number of seconds > 0, e.g. {key}=30"
        )


def _check_config_value(key: str, value: object, origin: str) -> ConfigValue:
    option = OPTIONS["config"]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise OptionError(
            f"{option.source(origin)} sets {key!r} to {value!r} ({type(value).__name__}); "
            "accepted values: a str, int or float for each key"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise OptionError(
            f"{option.source(origin)} sets {key!r} to {value!r}; "
            "accepted values: a finite number or a str"
        )
    _check_numeric_config(key, value, origin)
    return value


def check_config_pairs(lines: Iterable[object], origin: str) -> dict[str, ConfigValue]:
    """Parse KEY=VALUE lines (command line or ini) into config overrides."""
    option = OPTIONS["config"]
    overrides: dict[str, ConfigValue] = {}
    for line in lines:
        text = str(line).strip()
        if not text:
            continue
        key, separator, value = text.partition("=")
        if not separator or not key.strip():
            raise OptionError(
                f"{option.source(origin)} got {text!r}; accepted values: KEY=VALUE, "
                "e.g. heartbeat=30"
            )
        _check_numeric_config(key.strip(), value.strip(), origin)
        overrides[key.strip()] = value.strip()
    return overrides


def check_config_mapping(value: object, origin: str) -> dict[str, ConfigValue]:
    """Check the marker's `config={...}` argument."""
    option = OPTIONS["config"]
    if not isinstance(value, Mapping):
        raise OptionError(
            f"{option.source(origin)} is {value!r}; accepted values: a dict of config keys "
            "to str, int or float values, e.g. config={'heartbeat': 30}"
        )
    overrides: dict[str, ConfigValue] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or "=" in key:
            raise OptionError(
                f"{option.source(origin)} has the key {key!r}; accepted keys: non-empty "
                "config names without '=', e.g. 'heartbeat'"
            )
        overrides[key] = _check_config_value(key, item, origin)
    return overrides


_CHECKS = {
    "core": check_core,
    "clock_start": check_clock_start,
    "worker_name": check_worker_name,
    "redis_rules": check_redis_rules,
    "redis_url": check_redis_url,
}


def read_layer(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Check the raw values one source gave (None: not given) and return the given ones."""
    layer: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if key == "config":
            if origin in ("cli", "ini"):
                pairs = check_config_pairs(value, origin)
            else:
                pairs = check_config_mapping(value, origin)
            if pairs:
                layer["config"] = pairs
            continue
        layer[key] = _CHECKS[key](value, origin)
    return layer


def read_marker(args: tuple[Any, ...], kwargs: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Check one `@pytest.mark.qless(...)` marker's arguments."""
    accepted = ", ".join(MARKER_KEYS)
    if args:
        raise OptionError(
            f"@pytest.mark.qless on {origin} got positional arguments {args!r}; "
            f"pass keyword arguments: {accepted}"
        )
    if "redis_url" in kwargs:
        raise OptionError(
            f"@pytest.mark.qless(redis_url=...) on {origin} is not accepted: parity mode is "
            "chosen for the whole run, because the database is checked once at startup; "
            "use --qless-redis-url or the qless_redis_url ini option"
        )
    unknown = sorted(set(kwargs) - set(MARKER_KEYS))
    if unknown:
        raise OptionError(
            f"@pytest.mark.qless on {origin} got unknown arguments {', '.join(unknown)}; "
            f"accepted arguments: {accepted}"
        )
    return read_layer(kwargs, origin)


def merge(layers: Iterable[Mapping[str, Any]]) -> Settings:
    """Build the settings from layers ordered from weakest to strongest."""
    values: dict[str, Any] = {}
    config: dict[str, ConfigValue] = {}
    explicit: set[str] = set()
    for layer in layers:
        for key, value in layer.items():
            explicit.add(key)
            if key == "config":
                config.update(value)
            else:
                values[key] = value
    return Settings(**values, config=config, explicit=frozenset(explicit))
