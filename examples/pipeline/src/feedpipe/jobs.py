"""The pipeline's job classes. qless runs `<Class>.<queue name>(job)` for each job."""

from __future__ import annotations

from typing import Any

from . import feeds

# Seconds before the first retry of a feed that is down; each retry doubles it.
FETCH_BACKOFF = 60


class Fetch:
    @staticmethod
    def fetch(job: Any) -> None:
        """Read the feed into the job's data; retry with backoff while it is down."""
        try:
            text = feeds.SOURCE.read(job["feed"])
        except feeds.FeedUnavailable as error:
            used = job.original_retries - job.retries_left
            # With no retries left, qless fails the job in this group instead.
            job.retry(delay=FETCH_BACKOFF * 2**used, group="fetch-unavailable",
                      message=str(error))
            return
        job["text"] = text
        job.complete()


class Parse:
    @staticmethod
    def parse(job: Any) -> None:
        """Split the fetched text into items, one a line; a line starting with '!' is invalid."""
        fetched = job.client.jobs[job["fetch"]]
        items = [line.strip() for line in fetched["text"].splitlines() if line.strip()]
        for item in items:
            if item.startswith("!"):
                raise ValueError(f"feed {job['feed']!r} has an invalid item {item!r}")
        job["items"] = items
        job.complete()


class Publish:
    @staticmethod
    def publish(job: Any) -> None:
        """Gather the items of every parsed feed, sorted, into the job's data."""
        items: list[str] = []
        for jid in job["parses"]:
            items.extend(job.client.jobs[jid]["items"])
        job["items"] = sorted(items)
        job.complete()


class Refresh:
    @staticmethod
    def schedule(job: Any) -> None:
        """Submit the pipeline for the recurring job's feeds."""
        from . import submit

        submit(job.client, job["feeds"])
        job.complete()
