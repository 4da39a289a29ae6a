"""feedpipe's jobs, run by qless_sim's synchronous worker on the plugin's fixtures."""

from __future__ import annotations

import feedpipe
import pytest
import redis
from feedpipe import feeds

from qless_sim import FaultyTransport, StalledWorker
from qless_sim.errors import LostLockError

START = 1704067200.0  # the plugin's default clock start, 2024-01-01T00:00:00Z


def test_pipeline_publishes_items(qless_client, qless_worker):
    source = feeds.reset()
    source.add("news", "a\nb\n")
    source.add("sport", "c\n")
    jids = feedpipe.submit(qless_client, ["news", "sport"])
    qless_worker.queues = feedpipe.QUEUES

    report = qless_worker.drain()

    assert report.stopped_by == "drained"
    # Jobs of one priority put in the same second pop in no set order.
    assert [run.queue for run in report.runs] == ["fetch", "fetch", "parse", "parse", "publish"]
    assert sorted(report.completed) == sorted([*jids["fetch"], *jids["parse"], jids["publish"]])
    assert qless_client.jobs[jids["publish"]]["items"] == ["a", "b", "c"]


def test_publish_waits_for_parses(qless_client, qless_worker):
    source = feeds.reset()
    source.add("news", "a\n")
    jids = feedpipe.submit(qless_client, ["news"])
    qless_worker.queues = ["publish", "parse"]

    report = qless_worker.drain()

    assert report.processed == []
    assert report.stopped_by == "idle"
    assert report.message == (
        "stopped with nothing ready in 'publish', 'parse' after 0 jobs; left: 2 depends"
    )
    assert qless_client.jobs[jids["publish"]].state == "depends"


def test_flaky_feed_retried_with_backoff(qless_client, qless_worker, qless_clock):
    source = feeds.reset()
    source.add("news", "a\n", outages=2)
    jids = feedpipe.submit(qless_client, ["news"])
    qless_worker.queues = feedpipe.QUEUES

    first = qless_worker.drain()
    assert first.retried == jids["fetch"]
    assert first.stopped_by == "idle"
    assert "pass advance_clock=True" in first.message

    report = qless_worker.drain(advance_clock=True)

    # Backoff of 60 s, then 120 s: the fetch succeeds at +180 s.
    assert [run.outcome for run in report.runs] == ["retried", "completed", "completed",
                                                    "completed"]
    assert [run.popped_at - START for run in report.runs] == [60, 180, 180, 180]
    assert qless_clock.now() == START + 180
    assert source.reads == ["news", "news", "news"]
    assert qless_client.jobs[jids["publish"]]["items"] == ["a"]


def test_feed_down_too_long_fails(qless_client, qless_worker):
    source = feeds.reset()
    source.add("news", "a\n", outages=10)
    jids = feedpipe.submit(qless_client, ["news"], retries=2)
    qless_worker.queues = feedpipe.QUEUES

    report = qless_worker.drain(advance_clock=True)

    assert report.retried == jids["fetch"] * 2
    assert report.failures == {"fetch-unavailable": jids["fetch"]}
    assert report.runs[-1].message == "feed 'news' is down (503)"
    assert report.stopped_by == "idle"
    assert report.message.endswith("left: 2 depends")


def test_invalid_item_fails_parse(qless_client, qless_worker):
    source = feeds.reset()
    source.add("news", "a\n!b\n")
    jids = feedpipe.submit(qless_client, ["news"])
    qless_worker.queues = feedpipe.QUEUES

    report = qless_worker.drain()

    assert report.failures == {"parse-ValueError": jids["parse"]}
    message = report.runs[1].message
    assert message.startswith("Traceback (most recent call last):\n")
    assert message.endswith("ValueError: feed 'news' has an invalid item '!b'\n")
    assert qless_client.jobs[jids["parse"][0]].failure["group"] == "parse-ValueError"


def test_hourly_refresh(qless_client, qless_worker, qless_clock):
    source = feeds.reset()
    source.add("news", "a\n")
    feedpipe.schedule_hourly(qless_client, ["news"])
    qless_worker.queues = feedpipe.QUEUES

    report = qless_worker.drain(advance_clock=True, max_seconds=2 * 3600)

    refreshes = [run for run in report.runs if run.queue == "schedule"]
    assert [run.popped_at - START for run in refreshes] == [0, 3600, 7200]
    assert len([run for run in report.runs if run.queue == "publish"]) == 3
    assert report.stopped_by == "max_seconds"
    assert report.hit_limit
    assert "the next job is due at 2024-01-01T03:00:00Z" in report.message
    assert qless_clock.now() == START + 7200


def test_crashed_fetcher_loses_lease(qless_client, qless_worker, qless_clock):
    source = feeds.reset()
    source.add("news", "a\n")
    jids = feedpipe.submit(qless_client, ["news"])
    crashed = StalledWorker(qless_client, "fetch", worker_name="fetcher-1")
    crashed.take()
    qless_worker.queues = feedpipe.QUEUES

    report = qless_worker.drain(advance_clock=True)

    # The 60 s lease lapses, and after qless's 10 s grace period the job moves.
    assert report.runs[0].jid == jids["fetch"][0]
    assert report.runs[0].popped_at == START + 70
    assert report.stopped_by == "drained"
    assert qless_client.jobs[jids["publish"]]["items"] == ["a"]

    runs = crashed.resume()
    assert [run.outcome for run in runs] == ["lost"]
    assert isinstance(runs[0].error, LostLockError)


def test_submit_retries_lost_connection(qless_client, qless_worker):
    source = feeds.reset()
    source.add("news", "a\n")
    faulty = FaultyTransport(qless_client.transport)
    faulty.fail("put", times=2)

    jids = feedpipe.submit(faulty.client(), ["news"])

    assert qless_client.jobs[jids["publish"]] is not None
    qless_worker.queues = feedpipe.QUEUES
    assert len(qless_worker.drain().completed) == 3


def test_submit_retries_lost_reply(qless_client, qless_worker):
    source = feeds.reset()
    source.add("news", "a\n")
    faulty = FaultyTransport(qless_client.transport)
    # The first try of each of the three puts reaches qless but loses its
    # reply, and the second try repeats the jid.
    for skip in (0, 2, 4):
        faulty.fail("put", error=redis.exceptions.TimeoutError, when="after", skip=skip)

    jids = feedpipe.submit(faulty.client(), ["news"])

    assert [call.error is not None for call in faulty.calls] == [True, False] * 3
    assert len(qless_client.queues["fetch"]) == 1
    qless_worker.queues = feedpipe.QUEUES
    report = qless_worker.drain()
    assert report.processed == [*jids["fetch"], *jids["parse"], jids["publish"]]


def test_submit_gives_up(qless_client):
    faulty = FaultyTransport(qless_client.transport)
    fault = faulty.fail("put", times=None)

    with pytest.raises(redis.exceptions.ConnectionError):
        feedpipe.submit(faulty.client(), ["news"])

    assert fault.raised == feedpipe.PUT_ATTEMPTS
    assert qless_client.queues.counts == []
