"""Fault injection for code that talks to qless: lost connections and time-outs on chosen calls.

`FaultyTransport` wraps any transport (the simulator's or a real Redis's) and
raises redis-py's `ConnectionError` or `TimeoutError` on the qless-core
commands a test chooses, so the test can check a job's or a producer's own
retry code::

    faulty = FaultyTransport(qless_client.transport)
    client = faulty.client(worker_name="producer")
    faulty.fail("put", error=redis.exceptions.TimeoutError, when="after")
    submit(client)        # its first put times out after qless stored the job

A fault raised ``before`` a command leaves qless state as it was, as when the
connection drops before the request reaches Redis. A fault raised ``after``
keeps the command's effect and loses only its reply, as when Redis ran the
script but the client timed out reading the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from redis import exceptions as redis_errors

from .bindings import Client
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .clock import Clock
    from .core import CoreScript, SimulatedServer, Transport

__all__ = ["Fault", "FaultyTransport", "TransportCall"]

FaultTiming = Literal["before", "after"]
_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError)


@dataclass
class Fault:
    """One injected fault: which calls it hits, which error it raises, how often.

    `command` is a qless-core command name such as ``'complete'`` (None: any
    command). The first `skip` matching calls go through; the next `times`
    matching calls raise `error` (None: every later matching call, until
    `remove()`). `raised` counts the errors raised so far.
    """

    command: str | None
    error: type[redis_errors.RedisError]
    times: int | None
    skip: int
    when: FaultTiming
    raised: int = 0
    seen: int = 0
    _owner: FaultyTransport | None = field(default=None, repr=False, compare=False)

    @property
    def active(self) -> bool:
        """Whether the fault will still raise on a matching call."""
        return self.times is None or self.raised < self.times

    def matches(self, command: str) -> bool:
        """Return whether a call of `command` is one this fault applies to."""
        return self.command is None or self.command == command

    def remove(self) -> None:
        """Stop injecting this fault."""
        if self._owner is not None and self in self._owner.faults:
            self._owner.faults.remove(self)


@dataclass(frozen=True)
class TransportCall:
    """One call that went through a `FaultyTransport`, and the error injected on it, if any."""

    command: str
    args: tuple[Any, ...]
    error: Exception | None = None


class FaultyTransport:
    """A transport that forwards every call to `inner` except those a `Fault` hits.

    It has the same clock, core and data as `inner`, so a `Client` over it
    (see `client()`) reads and changes the same jobs as every other client on `inner`.
    Every call is recorded in `calls`, with the injected error if there was one.
    """

    def __init__(self, inner: Transport) -> None:
        if not callable(getattr(inner, "call", None)):
            raise InvalidArgumentError(
                f"FaultyTransport({inner!r}): pass a transport, such as client.transport"
            )
        self.inner = inner
        self.clock: Clock = inner.clock
        self.core: CoreScript = inner.core
        self.faults: list[Fault] = []
        self.calls: list[TransportCall] = []

    @property
    def server(self) -> SimulatedServer | None:
        """The wrapped transport's `SimulatedServer` (None on a real Redis)."""
        return getattr(self.inner, "server", None)

    @property
    def redis(self) -> Any:
        """The wrapped transport's redis-py client, if it has one (a real Redis's)."""
        return getattr(self.inner, "redis", None)

    def client(self, worker_name: str | None = None) -> Client:
        """Return a `Client` whose every command goes through this transport."""
        return Client(self, worker_name=worker_name)

    def fail(
        self,
        command: str | None = None,
        *,
        error: type[redis_errors.RedisError] = redis_errors.ConnectionError,
        times: int | None = 1,
        skip: int = 0,
        when: FaultTiming = "before",
    ) -> Fault:
        """Make the next `times` calls of `command` (after `skip` of them) raise `error`.

        `error` is `redis.exceptions.ConnectionError` (default) or
        `redis.exceptions.TimeoutError`, or a subclass of either. With
        ``when='after'`` the command runs first and only its reply is lost.
        Returns the `Fault`, which counts what it raised and can be removed.
        """
        if command is not None and (not isinstance(command, str) or not command):
            raise InvalidArgumentError(
                f"command {command!r} is invalid; pass a qless-core command name such as "
                "'complete', or None for every command"
            )
        if not (isinstance(error, type) and issubclass(error, _ERRORS)):
            raise InvalidArgumentError(
                f"error {error!r} is not redis-py's ConnectionError or TimeoutError; pass "
                "redis.exceptions.ConnectionError or redis.exceptions.TimeoutError (the "
                "built-in exceptions of the same names are not what redis-py raises)"
            )
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 1):
            raise InvalidArgumentError(
                f"times={times!r} is invalid; pass an int >= 1, or None for every matching call"
            )
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise InvalidArgumentError(f"skip={skip!r} is invalid; pass an int >= 0")
        if when not in ("before", "after"):
            raise InvalidArgumentError(f"when={when!r} is invalid; pass 'before' or 'after'")

        fault = Fault(command, error, times, skip, when, _owner=self)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault; later calls all go through."""
        self.faults.clear()

    def _pick(self, command: str) -> Fault | None:
        # Every active fault counts the call, so that `skip` means the same
        # thing whatever other faults exist; the first one due raises.
        due: Fault | None = None
        for fault in self.faults:
            if not fault.active or not fault.matches(command):
                continue
            fault.seen += 1
            if due is None and fault.seen > fault.skip:
                due = fault
        return due

    def _raise(self, fault: Fault, command: str, args: tuple[Any, ...]) -> None:
        fault.raised += 1
        if fault.when == "before":
            what = f"before qless-core's {command!r} ran, so it changed nothing"
        else:
            what = f"after qless-core's {command!r} ran, so its effect is kept and its reply lost"
        if issubclass(fault.error, redis_errors.TimeoutError):
            text = f"Timeout reading from socket (injected by qless_sim {what})"
        else:
            text = f"Connection lost (injected by qless_sim {what})"
        error = fault.error(text)
        self.calls.append(TransportCall(command, args, error))
        raise error

    def call(self, command: str, *args: Any) -> Any:
        """Run `command` on the wrapped transport, unless a fault raises before or after it."""
        fault = self._pick(command)
        if fault is not None and fault.when == "before":
            self._raise(fault, command, args)
        reply = self.inner.call(command, *args)
        if fault is not None:
            self._raise(fault, command, args)
        self.calls.append(TransportCall(command, args))
        return reply

    def __repr__(self) -> str:
        return f"FaultyTransport({self.inner!r}, faults={self.faults!r})"
