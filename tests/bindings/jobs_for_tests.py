"""Job classes that `Job.process()` imports by dotted name in the bindings tests."""

from __future__ import annotations

from typing import Any

calls: list[tuple[str, str]] = []


class Resize:
    @staticmethod
    def testing(job: Any) -> None:
        calls.append(("testing", job.jid))
        job.complete()

    @staticmethod
    def process(job: Any) -> None:
        calls.append(("process", job.jid))
        job.complete()


class Broken:
    @staticmethod
    def process(job: Any) -> None:
        raise ValueError("widget is missing")


class NoMethod:
    pass


class Bound:
    @classmethod
    def process(cls, job: Any) -> None:
        job.complete()
