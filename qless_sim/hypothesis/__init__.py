"""Hypothesis support for qless: job strategies and a job-lifecycle state machine.

Needs Hypothesis (``pip install 'qless_sim[test]'``). Importing this package
imports nothing from Hypothesis; the submodules do:

- `qless_sim.hypothesis.strategies`: job specs, job data, queue and worker
  names, priorities, tags, delays, retries and clock steps.
- `qless_sim.hypothesis.stateful`: `JobLifecycleMachine`, run as-is with
  ``JobLifecycleMachine.TestCase`` or subclassed, and
  `ParityJobLifecycleMachine`, which also drives a real Redis.
"""
