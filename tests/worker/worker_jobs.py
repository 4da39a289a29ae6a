"""Job classes the worker tests put by dotted name; `Job.process()` imports them."""

from __future__ import annotations

from typing import Any

import redis

calls: list[tuple[str, str]] = []


class Complete:
    @staticmethod
    def process(job: Any) -> None:
        calls.append(("process", job.jid))
        job.complete()


class PerQueue:
    """Records which queue method ran; `high` and `low` are queue names."""

    @staticmethod
    def high(job: Any) -> None:
        calls.append(("high", job.jid))
        job.complete()

    @staticmethod
    def low(job: Any) -> None:
        calls.append(("low", job.jid))
        job.complete()


class Raise:
    @staticmethod
    def process(job: Any) -> None:
        raise ValueError("widget is missing")


class RetryTwice:
    """Retries with a 30 s delay until two retries are used up, then completes."""

    @staticmethod
    def process(job: Any) -> None:
        if job.original_retries - job.retries_left < 2:
            job.retry(delay=30)
        else:
            job.complete()


class CompleteNext:
    @staticmethod
    def process(job: Any) -> None:
        job.complete(next="publish")


class PutBack:
    """Completes into its own queue, so a drain never runs out of it."""

    @staticmethod
    def process(job: Any) -> None:
        job.complete(next=job.queue_name)


class Move:
    @staticmethod
    def process(job: Any) -> None:
        job.move("elsewhere")


class Leave:
    """Returns without completing the job, as buggy job code does."""

    @staticmethod
    def process(job: Any) -> None:
        calls.append(("leave", job.jid))


class Cancel:
    @staticmethod
    def process(job: Any) -> None:
        job.cancel()


class Fail:
    @staticmethod
    def process(job: Any) -> None:
        job.fail("testing-invalid", "widget 7 is invalid")


class SlowButAlone:
    """Works past the end of its lease; with no rival pop, the lease is still its own."""

    @staticmethod
    def process(job: Any) -> None:
        job.client.clock.advance(100)
        job.complete()


class CompleteWithRetries:
    """Retries `complete()` up to three times on redis-py connection errors."""

    @staticmethod
    def process(job: Any) -> None:
        for _ in range(3):
            try:
                job.complete()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                calls.append(("complete-failed", job.jid))
                continue
            return
        raise RuntimeError("complete failed three times")
