"""Count what JobLifecycleMachine's steps did over N examples (a script, not a test).

    python tests/hypothesis/coverage_report.py --examples 300

Prints, for each rule, how many steps ran it and how many of those succeeded
(qless returned a reply rather than an error, and a pop leased at least one
job), then the lifecycle events the reference model saw: lease timeouts,
handovers, retries exhausted by a lapsed lease or by `retry`, dependents
released, recurring jobs spawned and scheduled jobs promoted. The counts come
from the model's predictions, which the machine checks against qless on every
step, so they are also what qless did. `--random` draws a new sample each run;
without it the sample is derandomized and the numbers repeat.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from qless_sim.clock import SimClock
from qless_sim.hypothesis._model import ExpectedError, QlessModel
from qless_sim.hypothesis.stateful import JobLifecycleMachine

COUNTS: Counter[str] = Counter()


class _CountingClock(SimClock):
    def advance(self, seconds: float) -> float:
        COUNTS["advance_clock ran"] += 1
        if seconds > 0:
            COUNTS["advance_clock ok"] += 1
        return super().advance(seconds)


class _CountingModel(QlessModel):
    """The reference model, counting the lifecycle events its commands cause."""

    def _invalidate_locks(self, now: float, queue: str, count: int) -> list[str]:
        before = {
            job.jid: job.grace
            for job in self.queue_jobs(queue)
            if job.lock is not None and job.lock <= now
        }
        handed_over = super()._invalidate_locks(now, queue, count)
        for jid, had_grace in before.items():
            job = self.jobs[jid]
            if job.state == "failed":
                COUNTS["event: retries exhausted by a lapsed lease"] += 1
            elif job.grace and not had_grace:
                COUNTS["event: lease timed out (grace period begins)"] += 1
        COUNTS["event: lapsed lease handed to another pop"] += len(handed_over)
        return handed_over

    def _release_dependents(self, now: float, job: Any) -> None:
        blocked = [jid for jid in job.dependents if self.jobs[jid].state == "depends"]
        super()._release_dependents(now, job)
        released = [jid for jid in blocked if self.jobs[jid].state != "depends"]
        COUNTS["event: dependent released by a complete"] += len(released)

    def _check_recurring(self, now: float, queue: str, count: int) -> None:
        spawned_before = sum(template.count for template in self.recurring.values())
        super()._check_recurring(now, queue, count)
        spawned = sum(template.count for template in self.recurring.values()) - spawned_before
        COUNTS["event: recurring job spawned"] += spawned

    def put(self, now: float, worker: str, queue: str, jid: str, *args: Any, **kw: Any) -> str:
        reply = super().put(now, worker, queue, jid, *args, **kw)
        if self.jobs[jid].state == "depends":
            COUNTS["event: job put (or moved) waiting on dependencies"] += 1
        return reply

    def retry(self, *args: Any, **kw: Any) -> int | ExpectedError:
        reply = super().retry(*args, **kw)
        if isinstance(reply, int) and reply < 0:
            COUNTS["event: retries exhausted by retry"] += 1
        return reply


class CountingMachine(JobLifecycleMachine):
    def __init__(self) -> None:
        super().__init__()
        COUNTS["examples"] += 1
        self.model = _CountingModel()

    def make_clock(self) -> SimClock:
        return _CountingClock()

    def run_command(
        self, step: str, expected: Any, act: Any, compare: bool = True
    ) -> list[Any]:
        rule = step.split("(", 1)[0]
        COUNTS[f"{rule} ran"] += 1
        succeeded = not isinstance(expected, ExpectedError)
        if rule in ("pop", "unfail"):
            succeeded = bool(expected)
        if succeeded:
            COUNTS[f"{rule} ok"] += 1
        return super().run_command(step, expected, act, compare)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="examples to run")
    parser.add_argument("--random", action="store_true", help="draw a new random sample")
    arguments = parser.parse_args(argv)

    run_state_machine_as_test(
        CountingMachine,
        settings=settings(
            JobLifecycleMachine.TestCase.settings,
            max_examples=arguments.examples,
            derandomize=not arguments.random,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        ),
    )

    steps = sum(value for key, value in COUNTS.items() if key.endswith(" ran"))
    print(f"{COUNTS['examples']} examples, {steps} steps")
    rules = sorted({key[: -len(" ran")] for key in COUNTS if key.endswith(" ran")})
    print(f"{'rule':<14} {'ran':>6} {'ok':>6}")
    for rule in rules:
        print(f"{rule:<14} {COUNTS[rule + ' ran']:>6} {COUNTS[rule + ' ok']:>6}")
    for key in sorted(key for key in COUNTS if key.startswith("event: ")):
        print(f"{key[len('event: '):]:<52} {COUNTS[key]:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
