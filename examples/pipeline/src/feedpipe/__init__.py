"""feedpipe: fetch feeds, parse their lines into items, publish the items.

Each feed gets a Fetch job in queue 'fetch' and a Parse job in queue 'parse'
that depends on it. One Publish job in queue 'publish' depends on every Parse
job. A recurring Refresh job in queue 'schedule' submits all of that again
every hour. Workers pop the queues in `QUEUES` order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import redis

from . import jobs

QUEUES = ["schedule", "fetch", "parse", "publish"]

# How often `submit` tries one put when the connection to Redis fails.
PUT_ATTEMPTS = 3

REFRESH_JID = "feedpipe-refresh"


def _put(client: Any, queue: str, klass: type, data: dict[str, Any], **options: Any) -> str:
    """Put a job, trying again on a lost connection or a time-out.

    The jid is chosen before the first try, so a put that reached Redis but
    lost its reply is repeated with the same jid and stores the job only once.
    """
    jid = options.pop("jid", None) or uuid.uuid4().hex
    for attempt in range(1, PUT_ATTEMPTS + 1):
        try:
            return str(client.queues[queue].put(klass, data, jid=jid, **options))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            if attempt == PUT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def submit(client: Any, feeds: Sequence[str], retries: int = 3) -> dict[str, Any]:
    """Put the jobs that fetch, parse and publish `feeds`; return their jids.

    Returns ``{'fetch': [jid, ...], 'parse': [jid, ...], 'publish': jid}``.
    Each Fetch job may be retried `retries` times while its feed is down.
    """
    fetches = [
        _put(client, "fetch", jobs.Fetch, {"feed": feed}, retries=retries) for feed in feeds
    ]
    parses = [
        _put(client, "parse", jobs.Parse, {"feed": feed, "fetch": fetch}, depends=[fetch])
        for feed, fetch in zip(feeds, fetches, strict=True)
    ]
    publish = _put(client, "publish", jobs.Publish, {"parses": parses}, depends=parses)
    return {"fetch": fetches, "parse": parses, "publish": publish}


def schedule_hourly(client: Any, feeds: Sequence[str]) -> str:
    """Add the recurring Refresh job that submits `feeds` every hour, first right away."""
    return str(
        client.queues["schedule"].recur(
            jobs.Refresh, {"feeds": list(feeds)}, interval=3600, jid=REFRESH_JID
        )
    )
