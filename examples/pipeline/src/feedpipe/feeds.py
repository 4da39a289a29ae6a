"""The feeds the pipeline reads: an in-memory stand-in for an HTTP source.

A feed can be down for its next few reads (`outages`), which is how the
tests make the Fetch step flaky.
"""

from __future__ import annotations


class FeedUnavailable(Exception):
    """The feed could not be read this time; a later read may succeed."""


class FeedSource:
    """Feeds by name, each with its text and the number of reads that fail first."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._outages: dict[str, int] = {}
        self.reads: list[str] = []

    def add(self, name: str, text: str, outages: int = 0) -> None:
        """Serve `text` as feed `name`, after failing its next `outages` reads."""
        self._texts[name] = text
        self._outages[name] = outages

    def read(self, name: str) -> str:
        """Return the feed's text; raise `FeedUnavailable` while it is down or unknown."""
        self.reads.append(name)
        if name not in self._texts:
            raise FeedUnavailable(f"feed {name!r} not found")
        if self._outages[name] > 0:
            self._outages[name] -= 1
            raise FeedUnavailable(f"feed {name!r} is down (503)")
        return self._texts[name]


SOURCE = FeedSource()


def reset() -> FeedSource:
    """Replace `SOURCE` with an empty source and return it."""
    global SOURCE
    SOURCE = FeedSource()
    return SOURCE
