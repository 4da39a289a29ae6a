"""Hypothesis strategies for qless jobs, names and clock steps.

Needs Hypothesis (``pip install 'qless_sim[test]'`` or ``pip install hypothesis``).
Every strategy draws values the qless_sim bindings accept, so a drawn job can
be put as-is: ``queue.put(spec.klass, spec.data, **spec.options())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from ._model import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT

__all__ = [
    "JobSpec",
    "clock_steps",
    "delays",
    "failure_groups",
    "job_data",
    "job_specs",
    "klass_names",
    "priorities",
    "queue_names",
    "retries",
    "tag_lists",
    "tags",
    "worker_names",
]

def klass_names() -> st.SearchStrategy[str]:
    """Dotted class names such as ``app.jobs.Resize``."""
    pattern = r"[a-z][a-z_]{0,7}(\.[a-z][a-z_]{0,7}){0,2}\.[A-Z][a-z]{1,8}"
    return st.from_regex(pattern, fullmatch=True)


def job_data(max_leaves: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects with unicode text, nested lists and objects, and numbers.

    The top level is an object, as qless clients send it. Integers stay within
    +-10**12 and floats are finite, because qless-core re-encodes job data
    (on fail and heartbeat) with cjson, which prints 14 significant digits.
    """
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**12), max_value=10**12)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=12)
    )
    values = st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=max_leaves,
    )
    return st.dictionaries(st.text(max_size=8), values, max_size=4)


def priorities() -> st.SearchStrategy[int]:
    """Job priorities: small integers, negative ones included (higher pops first).

    qless-core scores waiting jobs `priority - now / 1e10`; beyond about
    +-10**5 a double can no longer tell two put times apart, so this stays small.
    """
    return st.integers(min_value=-10, max_value=10)


def tags() -> st.SearchStrategy[str]:
    """Tags: a few fixed names (so that jobs share tags) or unicode text."""
    return st.sampled_from(["urgent", "bulk", "ünïcode", "two words"]) | st.text(
        min_size=1, max_size=6
    )


def tag_lists(max_size: int = 3) -> st.SearchStrategy[list[str]]:
    """Lists of distinct tags."""
    return st.lists(tags(), max_size=max_size, unique=True)


def delays(heartbeat: int = DEFAULT_HEARTBEAT) -> st.SearchStrategy[int]:
    """Put delays in seconds: mostly none, some short, some past a lease."""
    return st.sampled_from([0, 0, 0, 0, 0, 1, heartbeat // 2, heartbeat + 1, heartbeat * 2])


def retries() -> st.SearchStrategy[int]:
    """Retry budgets from 0 to 5 (qless's default), mostly 0 to 2 so that runs exhaust them.

    With 0, the job fails on its first `retry` or on the second pop after its
    lease lapsed (the first starts a grace period).
    """
    return st.sampled_from([0, 1, 2, 5]) | st.integers(min_value=0, max_value=5)


def queue_names(names: Sequence[str] = ("q", "q2", "q3")) -> st.SearchStrategy[str]:
    """Queue names from a small pool, so that jobs meet in the same queue."""
    return st.sampled_from(list(names))


def worker_names(
    names: Sequence[str] = ("worker-a", "worker-b", "worker-c"),
) -> st.SearchStrategy[str]:
    """Worker names from a small pool, so that workers compete for jobs."""
    return st.sampled_from(list(names))


def failure_groups() -> st.SearchStrategy[str]:
    """Failure groups that workers fail jobs into."""
    return st.sampled_from(["boom", "network-error", "ünïcode-error"])


def clock_steps(
    heartbeat: int = DEFAULT_HEARTBEAT, grace_period: int = DEFAULT_GRACE_PERIOD
) -> st.SearchStrategy[int]:
    """Seconds to advance the clock by.

    Small steps, and steps that land just before and just past a lease
    (`heartbeat`) and a lapsed lease's grace period, where qless changes
    behaviour.
    """
    crossing = st.sampled_from(
        [
            heartbeat - 1,
            heartbeat,
            heartbeat + 1,
            grace_period,
            grace_period + 1,
            heartbeat + grace_period + 1,
        ]
    )
    return st.integers(min_value=1, max_value=5) | crossing | st.integers(1, heartbeat * 3)


@dataclass(frozen=True)
class JobSpec:
    """A job to put: the arguments of `Queue.put` apart from the queue."""

    klass: str
    data: dict[str, Any]
    priority: int = 0
    tags: list[str] = field(default_factory=list)
    delay: int = 0
    retries: int = 5
    depends: list[str] = field(default_factory=list)

    def options(self) -> dict[str, Any]:
        """Return the keyword arguments for `Queue.put` after klass and data."""
        return {
            "priority": self.priority,
            "tags": list(self.tags),
            "delay": self.delay,
            "retries": self.retries,
            "depends": list(self.depends),
        }


def job_specs(existing_jids: Sequence[str] = ()) -> st.SearchStrategy[JobSpec]:
    """Jobs to put; `depends` is drawn from `existing_jids`, jobs that already exist."""
    depends: st.SearchStrategy[list[str]] = (
        st.lists(st.sampled_from(list(existing_jids)), max_size=3, unique=True)
        if existing_jids
        else st.just([])
    )
    return st.builds(
        JobSpec,
        klass=klass_names(),
        data=job_data(),
        priority=priorities(),
        tags=tag_lists(),
        delay=delays(),
        retries=retries(),
        depends=depends,
    )
