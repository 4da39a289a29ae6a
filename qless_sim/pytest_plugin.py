"""pytest fixtures for qless, on the simulator or (parity mode) on a real Redis.

Installed with qless_sim and registered through the ``pytest11`` entry point,
so a downstream test file needs no conftest code::

    def test_put_and_pop(qless_queue):
        jid = qless_queue.put("app.jobs.Resize", {"widget": "foo"})
        assert qless_queue.pop().jid == jid

Fixtures (each function-scoped and isolated): `qless_clock`, `qless_server`,
`qless_client`, `qless_queue`, `qless_queue_factory`, `qless_events`,
`qless_redis`, `qless_worker` and `qless_py_client`. Options come from the ini file, the
command line (``pytest --help`` lists them under "qless") and
``@pytest.mark.qless(...)``; the closest one wins.

Importing this module builds nothing: a simulated server is built the first
time a test requests a fixture that needs one, and then reused by every
later test with the same core and Redis rules (only its data is emptied).
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest

from ._plugin_backend import (
    ParityDatabase,
    ParityError,
    QlessBackend,
    QlessEvent,
    QlessEvents,
    SimulatorPool,
    describe_database,
)
from ._plugin_options import (
    DEFAULT_QUEUE,
    MARKER_KEYS,
    OPTIONS,
    OptionError,
    Settings,
    merge,
    read_layer,
    read_marker,
)

if TYPE_CHECKING:
    import redis as redis_py

    from .bindings import Client
    from .bindings.queue import Queue
    from .clock import Clock, SimClock
    from .core import CoreScript, SimulatedServer
    from .worker import Worker

__all__ = ["QlessEvent", "QlessEvents"]

_MARKER_HELP = (
    f"qless({', '.join(f'{key}=...' for key in MARKER_KEYS)}): qless_sim options for this test; "
    "they override the command line and the ini file"
)


@dataclass
class _State:
    """Plugin state for one pytest run (one per xdist worker)."""

    layers: list[dict[str, Any]]
    settings: Settings
    core: CoreScript
    redis_rules: int
    parity: ParityDatabase | None
    pool: SimulatorPool = field(default_factory=SimulatorPool)
    cores: dict[str, CoreScript] = field(default_factory=dict)


_STATE = pytest.StashKey[_State]()
_ITEM_SETTINGS = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qless", "qless_sim: qless-core fixtures")
    for option in OPTIONS.values():
        if option.key == "config":
            group.addoption(
                option.flag,
                action="append",
                dest="qless_config",
                metavar="KEY=VALUE",
                help=option.help,
            )
            parser.addini(option.ini, option.help, type="linelist")
        else:
            group.addoption(
                option.flag,
                dest=f"qless_{option.key}",
                metavar=option.key.split("_")[-1].upper(),
                help=option.help,
            )
            parser.addini(option.ini, option.help, type="string")


def _worker_index(config: pytest.Config) -> int:
    # pytest-xdist names its workers gw0, gw1, ... in config.workerinput.
    workerinput = getattr(config, "workerinput", None)
    if not workerinput:
        return 0
    worker_id = str(workerinput.get("workerid", "gw0"))
    digits = worker_id.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def _load_core(value: str | None, where: str) -> CoreScript:
    from .core import load_core
    from .errors import CoreSelectionError

    try:
        return load_core(value)
    except CoreSelectionError as error:
        # load_core already names QLESS_SIM_CORE when the value came from it.
        prefix = "" if where == "QLESS_SIM_CORE" else f"{where}: "
        raise pytest.UsageError(
            f"qless_sim: {prefix}{error} (under pytest: --qless-core, the qless_core ini "
            "option or @pytest.mark.qless(core=...))"
        ) from None


def _xdist_worker_count(config: pytest.Config) -> int:
    """Return how many pytest-xdist workers this (controller) process starts, else 0."""
    if getattr(config, "workerinput", None):
        return 0
    count = getattr(config.option, "numprocesses", None)
    if getattr(config.option, "dist", "no") == "no" or not isinstance(count, int):
        return 0
    return count


def _check_parity_database(url: str, worker_index: int, option: str, workers: int) -> None:
    database = ParityDatabase(url, worker_index)
    try:
        database.check(option, workers)
    except ParityError as error:
        raise pytest.UsageError(
            f"qless_sim: pytest-xdist worker gw{worker_index} uses database "
            f"{database.db}: {error}"
        ) from None
    finally:
        database.close()


def _redis_version(text: str) -> tuple[int, ...]:
    """Parse a Redis version such as '7.0.15'; an unknown version reads as (0,)."""
    try:
        return tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return (0,)


def _check_parity_core(core: CoreScript, parity: ParityDatabase) -> None:
    """Reject a 2016 core on a real Redis 6.2.7 or later, where every command would fail."""
    from .core import ApiEdition

    legacy = core.edition is ApiEdition.LEGACY_2016
    if legacy and _redis_version(parity.server_version) >= (6, 2, 7):
        parity.close()
        raise pytest.UsageError(
            f"qless_sim: parity mode runs core {core.describe()} on Redis "
            f"{parity.server_version}, but that core writes Lua's global `table` library, "
            "which Redis 6.2.7 and later reject, so every qless command would fail; point "
            "--qless-redis-url at a Redis older than 6.2.7, or use the reqless core"
        )


def _check_core_rules(core: CoreScript, redis_rules: int, where: str) -> None:
    """Reject a 2016 core under Redis 7 rules, where every command would fail."""
    from .core import ApiEdition

    if core.edition is ApiEdition.LEGACY_2016 and redis_rules >= 7:
        raise pytest.UsageError(
            f"qless_sim: {where} choose core {core.describe()} with Redis {redis_rules} "
            "scripting rules, but that core writes Lua's global `table` library, which "
            "Redis 6.2.7 and later reject, so every qless command would fail; add "
            "--qless-redis-rules 6 (ini: qless_redis_rules = 6; marker: redis_rules=6; "
            "environment: QLESS_SIM_REDIS_RULES=6), or use the reqless core"
        )


def _core_source(layers: list[dict[str, Any]]) -> str:
    ini_layer, cli_layer = layers
    if "core" in cli_layer:
        return OPTIONS["core"].source("cli")
    if "core" in ini_layer:
        return OPTIONS["core"].source("ini")
    if os.environ.get("QLESS_SIM_CORE"):
        return "QLESS_SIM_CORE"
    return "the default core"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)
    if config.option.help or config.option.version:
        return

    ini_values = {option.key: config.getini(option.ini) or None for option in OPTIONS.values()}
    cli_values = {key: getattr(config.option, f"qless_{key}", None) for key in OPTIONS}
    try:
        layers = [read_layer(ini_values, "ini"), read_layer(cli_values, "cli")]
    except OptionError as error:
        raise pytest.UsageError(f"qless_sim: {error}") from None
    settings = merge(layers)

    core = _load_core(settings.core, _core_source(layers))
    from .core import resolve_redis_rules
    from .errors import RedisRulesError

    try:
        redis_rules = resolve_redis_rules(settings.redis_rules)
    except RedisRulesError as error:
        raise pytest.UsageError(f"qless_sim: {error}") from None

    parity = None
    if settings.redis_url is not None:
        origin = "cli" if "redis_url" in layers[1] else "ini"
        option = OPTIONS["redis_url"].source(origin)
        # Under xdist the controller checks every worker's database before
        # any worker starts: a worker that rejected its own would be replaced
        # by xdist with one on the next database, and the run would go on.
        workers = _xdist_worker_count(config)
        for index in range(1, workers):
            _check_parity_database(settings.redis_url, index, option, workers)
        parity = ParityDatabase(settings.redis_url, _worker_index(config))
        try:
            parity.check(option, max(workers, 1))
        except ParityError as error:
            parity.close()
            raise pytest.UsageError(f"qless_sim: {error}") from None
        if "redis_rules" in layers[0] or "redis_rules" in layers[1]:
            parity.close()
            raise pytest.UsageError(
                "qless_sim: --qless-redis-rules (or qless_redis_rules) sets the rules the "
                f"simulator emulates, but parity mode runs on a real Redis "
                f"{parity.server_version}, which applies its own; drop the option"
            )
        _check_parity_core(core, parity)
    else:
        _check_core_rules(core, redis_rules, "the qless_sim options")

    state = _State(layers, settings, core, redis_rules, parity)
    state.cores[settings.core or ""] = core
    config.stash[_STATE] = state


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.parity is None:
        return
    # Leave the database empty, so that the next run's check passes even
    # when a test wrote keys of its own outside 'ql:'.
    try:
        state.parity.reset()
    finally:
        state.parity.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return None
    core = f"qless_sim: core {state.core.describe()}"
    if state.parity is not None:
        where = describe_database(state.parity.client)
        return (
            f"{core}, parity mode on Redis {state.parity.server_version} at {where} "
            "(that server's scripting rules)"
        )
    return f"{core}, simulator with Redis {state.redis_rules} scripting rules"


def _has_qless_py() -> bool:
    try:
        import qless  # noqa: F401
    except ImportError:
        return False
    return True


def _settings_for(item: pytest.Item, state: _State) -> Settings:
    layers = list(state.layers)
    # iter_markers yields the closest marker first; apply it last so it wins.
    for marker in reversed(list(item.iter_markers("qless"))):
        layers.append(read_marker(marker.args, marker.kwargs, item.nodeid))
    settings = merge(layers)

    # qless-py loads the script it ships, so the other fixtures must run that
    # script too. Its 2016 build needs Redis 6 rules, because it writes
    # table.extend, which Redis 7 rejects.
    uses_qless_py = "qless_py_client" in getattr(item, "fixturenames", ()) and _has_qless_py()
    if uses_qless_py and "core" not in settings.explicit and not os.environ.get("QLESS_SIM_CORE"):
        settings = replace(settings, core="qless-py")
        if "redis_rules" not in settings.explicit and not os.environ.get("QLESS_SIM_REDIS_RULES"):
            settings = replace(settings, redis_rules=6)
    return settings


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    for item in items:
        try:
            settings = _settings_for(item, state)
        except OptionError as error:
            raise pytest.UsageError(f"qless_sim: {error}") from None
        core = _core_for(settings, state, item.nodeid)
        if state.parity is None and settings.core is not None:
            from .core import resolve_redis_rules

            _check_core_rules(
                core, resolve_redis_rules(settings.redis_rules), f"the options of {item.nodeid}"
            )
        item.stash[_ITEM_SETTINGS] = settings


def _core_for(settings: Settings, state: _State, nodeid: str) -> CoreScript:
    key = settings.core or ""
    core = state.cores.get(key)
    if core is None:
        core = _load_core(settings.core, f"@pytest.mark.qless(core=...) on {nodeid}")
        state.cores[key] = core
    return core


def _state(request: pytest.FixtureRequest) -> _State:
    state = request.config.stash.get(_STATE, None)
    if state is None:
        pytest.fail(
            "qless_sim: the plugin was not configured (is it disabled with -p no:qless_sim?)"
        )
    return state


@pytest.fixture
def qless_settings(request: pytest.FixtureRequest) -> Settings:
    """Return the options in force for this test (ini, command line and markers merged)."""
    state = _state(request)
    settings: Settings | None = request.node.stash.get(_ITEM_SETTINGS, None)
    if settings is None:
        settings = _settings_for(request.node, state)
    return settings


@pytest.fixture
def qless_clock(qless_settings: Settings) -> SimClock:
    """Return a `SimClock` at the configured start (default 2024-01-01T00:00:00Z); it sets `now`."""
    from .clock import SimClock

    return SimClock(qless_settings.clock_start)


@pytest.fixture
def _qless_backend(
    request: pytest.FixtureRequest, qless_settings: Settings, qless_clock: SimClock
) -> QlessBackend:
    from .core import RedisTransport, SimTransport, Transport, resolve_redis_rules

    state = _state(request)
    core = _core_for(qless_settings, state, request.node.nodeid)
    transport: Transport
    server: SimulatedServer | None = None
    if state.parity is not None:
        state.parity.reset()
        transport = RedisTransport(state.parity.text_client, core, qless_clock)
    else:
        redis_rules = resolve_redis_rules(qless_settings.redis_rules)
        server = state.pool.server(core, redis_rules, qless_clock)
        transport = SimTransport(server)

    for key, value in qless_settings.config.items():
        transport.call("config.set", key, value)
    return QlessBackend(qless_clock, core, transport, server, state.parity)


@pytest.fixture
def qless_server(_qless_backend: QlessBackend) -> SimulatedServer:
    """Return the `SimulatedServer` this test runs on, emptied and set to `qless_clock`.

    Skips the test in parity mode, where the data lives on a real Redis.
    """
    if _qless_backend.server is None:
        pytest.skip("qless_server is the simulator, and parity mode (--qless-redis-url) has none")
    return _qless_backend.server


@pytest.fixture
def qless_redis(_qless_backend: QlessBackend) -> Iterator[redis_py.Redis]:
    """Yield a redis-py client (replies decoded as str) on the same data as the other fixtures."""
    client = _qless_backend.redis(decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def qless_events(_qless_backend: QlessBackend) -> Iterator[QlessEvents]:
    """Collect every qless event published during the test, as a list of `QlessEvent`s.

    Events from the config overrides the plugin sets before the test are not included.
    """
    events = QlessEvents(_qless_backend.redis())
    yield events
    events.close()


@pytest.fixture
def qless_client(_qless_backend: QlessBackend, qless_settings: Settings) -> Client:
    """Return qless_sim's `Client` on this test's data, with the configured worker name."""
    from .bindings import Client

    return Client(_qless_backend.transport, worker_name=qless_settings.worker_name)


@pytest.fixture
def qless_queue_factory(qless_client: Client) -> Callable[[str], Queue]:
    """Return a function that returns the queue with the given name: ``factory('emails')``."""
    return qless_client.queue


@pytest.fixture
def qless_queue(qless_client: Client) -> Queue:
    """Return the queue named 'testing' on `qless_client`."""
    return qless_client.queue(DEFAULT_QUEUE)


@pytest.fixture
def qless_worker(qless_client: Client) -> Worker:
    """Return a synchronous `Worker` on the queue 'testing', under `qless_client`'s worker name.

    Set `qless_worker.queues = [...]` to pop from other queues, in that order.
    """
    from .worker import Worker

    return Worker(qless_client, [DEFAULT_QUEUE])


class _ClockTime(types.ModuleType):
    """A replacement `time` module for qless-py whose `time()` reads the simulator clock."""

    def __init__(self, clock: Clock) -> None:
        super().__init__("time")
        self._clock = clock

    def time(self) -> float:
        return self._clock.now()

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


@pytest.fixture
def qless_py_client(
    _qless_backend: QlessBackend, qless_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Yield an unmodified qless-py `qless.Client` on this test's data, with `qless_clock` as `now`.

    Skips the test when qless-py is not installed. Unless a core is chosen
    explicitly, tests using it run qless-py's own core under Redis 6 rules.
    """
    try:
        import qless
    except ImportError:
        pytest.skip("qless_py_client needs qless-py (pip install qless-py==0.11.4)")

    import pkgutil
    import time

    parity = _qless_backend.parity
    if parity is not None and _redis_version(parity.server_version) >= (6, 2, 7):
        pytest.skip(
            "qless_py_client runs the core qless-py ships, which writes Lua's global `table` "
            f"library; parity mode's Redis {parity.server_version} rejects that (Redis 6.2.7 "
            "and later do), so point --qless-redis-url at a Redis older than 6.2.7"
        )

    shipped = pkgutil.get_data("qless", "qless-core/qless.lua")
    if shipped != _qless_backend.core.source:
        pytest.fail(
            f"qless_py_client sends the core qless-py ships, but this test runs "
            f"{_qless_backend.core.describe()}; remove the core setting for this test or use "
            "@pytest.mark.qless(core='qless-py', redis_rules=6)",
            pytrace=False,
        )

    # qless-py 0.11.4 sends repr(time.time()) as `now` (Client.__call__, and
    # Queue.stats); every qless module that imported `time` reads the clock.
    clock_time = _ClockTime(_qless_backend.clock)
    for name, module in list(sys.modules.items()):
        if (name == "qless" or name.startswith("qless.")) and getattr(module, "time", None) is time:
            monkeypatch.setattr(module, "time", clock_time)

    # qless.Client builds its connection with redis.Redis.from_url(url, **kwargs);
    # only for the constructor, that name returns a client on this test's data.
    def from_url(url: str, **kwargs: Any) -> redis_py.Redis:
        return _qless_backend.redis(**kwargs)

    shim = types.SimpleNamespace(Redis=types.SimpleNamespace(from_url=from_url))
    with monkeypatch.context() as patch:
        patch.setattr(qless, "redis", shim)
        client = qless.Client(url="redis://qless-sim", hostname=qless_settings.worker_name)
    yield client
    client.redis.close()
