"""The machine has teeth: broken setups make Hypothesis report a falsifying example."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from qless_sim.bindings import Client, Queue
from qless_sim.clock import SimClock
from qless_sim.core import Transport
from qless_sim.hypothesis.stateful import JobLifecycleMachine

# Enough examples to find each planted bug, derandomized so that the tests do
# not flake. Shrinking is off: each planted bug is found within the first few
# examples, but shrinking a session whose steps draw from the machine's state
# took 40 to 130 s per test on a 2-core machine; finding the bug is the point.
TEETH_SETTINGS = settings(
    JobLifecycleMachine.TestCase.settings,
    max_examples=300,
    stateful_step_count=12,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate],
)


def _falsifying_steps(machine: type[JobLifecycleMachine]) -> str:
    with pytest.raises(AssertionError) as raised:
        run_state_machine_as_test(machine, settings=TEETH_SETTINGS)
    return str(raised.value) + "\n" + "\n".join(getattr(raised.value, "__notes__", []))


class _HeartbeatDroppingTransport:
    """Passes every command to `inner` except heartbeat, for which it returns a made-up expiry."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.clock = inner.clock
        self.core = inner.core
        self.server = getattr(inner, "server", None)

    def call(self, command: str, *args: Any) -> Any:
        if command == "heartbeat":
            return self.clock.now() + 60
        return self.inner.call(command, *args)


class _FrozenClock(SimClock):
    """A clock whose advance() does nothing."""

    def advance(self, seconds: float) -> float:
        return self.now()


class _PriorityDroppingQueue(Queue):
    """A bindings bug: put() drops the priority it was given."""

    def put(self, klass: Any, data: Any, priority: int = 0, **options: Any) -> str:
        return super().put(klass, data, **options)


class _PriorityDroppingClient(Client):
    def queue(self, name: str) -> Queue:
        return _PriorityDroppingQueue(name, self)


def test_dropped_heartbeats_are_found() -> None:
    class DroppedHeartbeats(JobLifecycleMachine):
        def make_transport(self, clock: SimClock) -> Transport:
            return _HeartbeatDroppingTransport(super().make_transport(clock))

    report = _falsifying_steps(DroppedHeartbeats)

    assert "state.pop" in report
    assert "state.heartbeat(" in report


def test_frozen_clock_is_found() -> None:
    class FrozenClock(JobLifecycleMachine):
        def make_clock(self) -> SimClock:
            return _FrozenClock()

    report = _falsifying_steps(FrozenClock)

    assert "advance_clock(seconds=" in report
    assert "the clock moved from" in report


def test_planted_bindings_bug_is_found() -> None:
    class PriorityDropped(JobLifecycleMachine):
        def make_client(self, transport: Transport, worker: str) -> Client:
            return _PriorityDroppingClient(transport, worker_name=worker)

    report = _falsifying_steps(PriorityDropped)

    assert "state.put(" in report
    assert "'priority': (0, " in report
