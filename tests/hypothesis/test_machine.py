"""JobLifecycleMachine on the simulator, at CI size and (opt-in) at 10,000 examples."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from qless_sim.hypothesis.stateful import JobLifecycleMachine

LONG_RUN_ENV_VAR = "QLESS_SIM_HYPOTHESIS_EXAMPLES"

# The machine as a downstream suite runs it, with its default settings.
TestJobLifecycle = JobLifecycleMachine.TestCase


def test_machine_long_run() -> None:
    """Run the machine for QLESS_SIM_HYPOTHESIS_EXAMPLES examples (skipped when unset).

    QLESS_SIM_HYPOTHESIS_EXAMPLES=10000 python -m pytest tests/hypothesis -k long_run
    """
    examples = os.environ.get(LONG_RUN_ENV_VAR)
    if not examples:
        pytest.skip(f"a long run; set {LONG_RUN_ENV_VAR}=10000 to run it")
    run_state_machine_as_test(
        JobLifecycleMachine,
        settings=settings(
            JobLifecycleMachine.TestCase.settings,
            max_examples=int(examples),
            database=None,
        ),
    )


def test_machine_skips_explain_phase() -> None:
    from hypothesis import Phase

    phases = JobLifecycleMachine.TestCase.settings.phases
    assert Phase.explain not in phases
    assert Phase.shrink in phases
