from __future__ import annotations

import math
import time

import pytest

from qless_sim.clock import DEFAULT_START, Clock, SimClock, SystemClock
from qless_sim.errors import ClockError


def test_default_start_is_2024_utc() -> None:
    assert DEFAULT_START == 1704067200.0
    assert SimClock().now() == DEFAULT_START


def test_sim_clock_frozen_until_moved() -> None:
    clock = SimClock(start=1000.0)
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() == first == 1000.0


def test_advance_moves_forward() -> None:
    clock = SimClock(start=1000.0)
    assert clock.advance(30) == 1030.0
    assert clock.advance(0.5) == 1030.5
    assert clock.now() == 1030.5


def test_advance_zero_is_allowed() -> None:
    clock = SimClock(start=1000.0)
    assert clock.advance(0) == 1000.0


def test_advance_backwards_rejected() -> None:
    clock = SimClock(start=1000.0)
    with pytest.raises(ClockError) as raised:
        clock.advance(-1)
    assert "SimClock.advance(seconds) got -1" in str(raised.value)
    assert "time cannot move backwards" in str(raised.value)
    assert clock.now() == 1000.0


@pytest.mark.parametrize("step", [math.inf, math.nan, "5", None, True])
def test_advance_rejects_non_numbers(step: object) -> None:
    clock = SimClock(start=1000.0)
    with pytest.raises(ClockError) as raised:
        clock.advance(step)  # type: ignore[arg-type]
    assert repr(step) in str(raised.value)
    assert clock.now() == 1000.0


def test_set_moves_to_timestamp() -> None:
    clock = SimClock(start=1000.0)
    assert clock.set(2000) == 2000.0
    assert clock.now() == 2000.0
    assert clock.set(2000) == 2000.0


def test_set_backwards_rejected() -> None:
    clock = SimClock(start=1000.0)
    with pytest.raises(ClockError) as raised:
        clock.set(999.5)
    message = str(raised.value)
    assert "SimClock.set(999.5) is 0.5 s before the current time 1000.0" in message
    with pytest.raises(ClockError) as far:
        clock.set(0)
    assert "SimClock.set(0) is 1000 s before the current time 1000.0" in str(far.value)
    assert "create a new SimClock instead" in message
    assert clock.now() == 1000.0


@pytest.mark.parametrize("start", [-1.0, math.inf, "now"])
def test_invalid_start_rejected(start: object) -> None:
    with pytest.raises(ClockError) as raised:
        SimClock(start=start)  # type: ignore[arg-type]
    assert repr(start) in str(raised.value)


def test_sim_clock_repr_shows_time_and_date() -> None:
    assert repr(SimClock()) == "SimClock(now=1704067200.0, 2024-01-01T00:00:00+00:00)"


def test_system_clock_follows_time() -> None:
    clock = SystemClock()
    before = time.time()
    now = clock.now()
    after = time.time()
    assert before <= now <= after
    assert repr(clock) == "SystemClock()"


def test_clocks_satisfy_protocol() -> None:
    assert isinstance(SimClock(), Clock)
    assert isinstance(SystemClock(), Clock)
