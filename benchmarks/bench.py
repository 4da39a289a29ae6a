"""Measure qless_sim against a real redis-server, side by side, in one run.

Both backends are driven through the same `qless_sim` bindings with the
reqless core, interleaved operation by operation so that machine noise hits
both alike. The script starts its own redis-server on a free 127.0.0.1 port
(Debian's `redis-server` must be on PATH) and writes a Markdown report.

    python benchmarks/bench.py            # full run, writes benchmarks/RESULTS.md
    python benchmarks/bench.py --quick    # a smoke run with small counts
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import redis as redis_py

import qless_sim
from qless_sim import SimClock
from qless_sim._plugin_backend import SimulatorPool
from qless_sim.bindings import Client
from qless_sim.core import load_core

HERE = Path(__file__).resolve().parent
QUEUE = "bench"
KLASS = "bench.jobs.Resize"


@dataclass
class Scale:
    rounds: int  # samples per operation
    depth: int  # jobs in the deep queue for the depth test
    memory_jobs: int
    suite_tests: int


FULL = Scale(rounds=400, depth=100_000, memory_jobs=100_000, suite_tests=500)
QUICK = Scale(rounds=40, depth=5_000, memory_jobs=5_000, suite_tests=50)


# -- the real server ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway redis-server on 127.0.0.1 and yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH; install Debian's redis-server package")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis_py.Redis.from_url(url)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis_py.exceptions.ConnectionError:
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


# -- measuring ------------------------------------------------------------------


@dataclass
class Pair:
    sim: Client
    real: Client

    def both(self) -> list[tuple[str, Client]]:
        return [("sim", self.sim), ("real", self.real)]


def timed(action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call `action` and return its result and the µs it took."""
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1e6


def fresh_pair(url: str) -> Pair:
    real_connection = redis_py.Redis.from_url(url)
    real_connection.flushdb()
    sim = qless_sim.client(clock=SimClock(), worker_name="bench-worker")
    real = qless_sim.client(url, clock=SimClock(), worker_name="bench-worker")
    return Pair(sim, real)


def operation_latencies(url: str, rounds: int) -> dict[str, dict[str, float]]:
    """Median µs per operation on each backend, sampled alternately."""
    pair = fresh_pair(url)
    samples: dict[str, dict[str, list[float]]] = {}

    def measure(name: str, backend: str, action: Callable[..., Any], *args: Any) -> Any:
        result, micros = timed(action, *args)
        samples.setdefault(name, {"sim": [], "real": []})[backend].append(micros)
        return result

    for _, client in pair.both():
        # A backlog for peek and stats, and the first call that loads the script.
        client.queue("backlog").put(KLASS, {"n": 0})
    for round_number in range(rounds):
        for backend, client in pair.both():
            queue = client.queue(QUEUE)
            data = {"n": round_number, "widget": "foo"}
            measure("put", backend, queue.put, KLASS, data)
            job = measure("pop", backend, queue.pop)
            measure("heartbeat", backend, queue.heartbeat, job)
            measure("complete", backend, queue.complete, job)

            queue.put(KLASS, data)
            failing = queue.pop()
            measure("fail", backend, failing.fail, "bench-group", "bench failure")
            queue.put(KLASS, data, retries=rounds + 5)
            retrying = queue.pop()
            measure("retry", backend, retrying.retry)
            queue.pop().complete()

            backlog = client.queue("backlog")
            measure("peek", backend, backlog.peek)
            measure("stats", backend, backlog.stats)

            if round_number % 4 == 0:
                batch = client.queue("batch")
                for n in range(20):
                    batch.put(KLASS, {"n": n})
                for popped in measure("pop(20)", backend, batch.pop, 20):
                    popped.complete()
    return {
        name: {backend: statistics.median(values) for backend, values in by_backend.items()}
        for name, by_backend in samples.items()
    }


def isolation_cost(url: str, rounds: int) -> dict[str, float]:
    """µs to give a test a clean qless: the plugin's per-test reset versus FLUSHDB.

    The simulator side is what the `qless_client` fixture does before a test:
    take the session's compiled server, empty it, give it a fresh clock and
    build a Client. The real side is the FLUSHDB round trip parity mode makes.
    """
    from qless_sim.core import SimTransport

    core = load_core("reqless")
    pool = SimulatorPool()
    pool.server(core, 7, SimClock())
    real_connection = redis_py.Redis.from_url(url)
    real_connection.ping()
    sim_times: list[float] = []
    real_times: list[float] = []
    for _ in range(rounds):

        def sim_reset() -> None:
            server = pool.server(core, 7, SimClock())
            Client(SimTransport(server), worker_name="bench-worker")

        sim_times.append(timed(sim_reset)[1])
        real_times.append(timed(real_connection.flushdb)[1])
    return {"sim": statistics.median(sim_times), "real": statistics.median(real_times)}


def fill(client: Client, queue_name: str, count: int) -> None:
    queue = client.queue(queue_name)
    for n in range(count):
        queue.put(KLASS, {"n": n})


def pop_latency(client: Client, queue_name: str, samples: int) -> float:
    queue = client.queue(queue_name)
    times = []
    for _ in range(samples):
        job, micros = timed(queue.pop)
        times.append(micros)
        job.complete()
    return statistics.median(times)


def depth_latencies(url: str, depth: int) -> dict[str, dict[str, float]]:
    """Median µs of pop at depth 100 and at `depth`, on each backend."""
    results: dict[str, dict[str, float]] = {}
    pair = fresh_pair(url)
    for backend, client in pair.both():
        fill(client, "shallow", 100 + 200)
        fill(client, "deep", depth + 200)
        results[backend] = {
            "shallow": pop_latency(client, "shallow", 200),
            "deep": pop_latency(client, "deep", 200),
        }
    return results


_MEMORY_PROBE = """
import gc, os, sys
import qless_sim
from qless_sim import SimClock

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

client = qless_sim.client(clock=SimClock(), worker_name="bench-worker")
queue = client.queue("memory")
queue.put("bench.jobs.Resize", {"n": -1})
gc.collect()
before = resident()
for n in range(int(sys.argv[1])):
    queue.put("bench.jobs.Resize", {"n": n})
gc.collect()
print(resident() - before)
"""


def memory_use(url: str, jobs: int) -> dict[str, float]:
    """Bytes of memory per waiting job: RSS growth of a fresh process versus Redis used_memory."""
    # A fresh process, so that memory freed by earlier measurements is not reused.
    probe = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(jobs)],
        capture_output=True,
        text=True,
        check=True,
    )
    sim_bytes = int(probe.stdout.strip())

    real_connection = redis_py.Redis.from_url(url)
    real_connection.flushdb()
    real = qless_sim.client(url, clock=SimClock(), worker_name="bench-worker")
    real.config["heartbeat"]
    used_before = int(real_connection.info("memory")["used_memory"])
    fill(real, "memory", jobs)
    used_after = int(real_connection.info("memory")["used_memory"])
    real_connection.flushdb()
    return {"sim": sim_bytes / jobs, "real": (used_after - used_before) / jobs}


SUITE_TEST = """
def test_lifecycle_{n}(qless_client, qless_clock):
    queue = qless_client.queue("suite")
    queue.put("suite.jobs.Step", {{"n": {n}}})
    job = queue.pop()
    qless_clock.advance(30)
    queue.heartbeat(job)
    job["step"] = "done"
    queue.complete(job)
    assert qless_client.jobs[job.jid].state == "complete"
"""


def suite_wall_time(url: str, tests: int) -> dict[str, float]:
    """Seconds for pytest to run a downstream-style suite of job lifecycles."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "test_suite.py"
        path.write_text("".join(SUITE_TEST.format(n=n) for n in range(tests)))
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
        results = {}
        for backend, extra in (("sim", []), ("real", [f"--qless-redis-url={url}"])):
            start = time.perf_counter()
            completed = subprocess.run(
                base + extra, cwd=directory, capture_output=True, text=True, check=False
            )
            results[backend] = time.perf_counter() - start
            if completed.returncode != 0:
                sys.exit(f"the {backend} suite failed:\n{completed.stdout}\n{completed.stderr}")
    return results


# -- reporting ------------------------------------------------------------------

# sim / real ratios the simulator aims to stay within.
TARGETS = {
    "put": 1.0,
    "pop": 1.5,
    "pop(20)": 2.0,
    "heartbeat": 1.0,
    "complete": 1.0,
}


def machine_details(url: str) -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    server = redis_py.Redis.from_url(url).info("server")
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; lupa {metadata.version('lupa')}; "
        f"fakeredis {metadata.version('fakeredis')}; redis-py {metadata.version('redis')}",
        f"- real Redis: redis-server {server['redis_version']} on 127.0.0.1 (loopback TCP)",
        f"- core: {load_core('reqless').describe()}",
    ]


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return "met" if ratio <= target else f"missed (target {target:g})"


def report(scale: Scale, url: str, quick: bool) -> str:
    lines = [
        "# qless_sim benchmarks",
        "",
        "Produced by `python benchmarks/bench.py"
        + (" --quick" if quick else "")
        + "` on "
        + time.strftime("%Y-%m-%d")
        + ". Numbers are medians; a ratio is sim / real, so "
        "below 1 means the simulator is faster.",
        "",
        *machine_details(url),
        "",
        f"## Operations (µs per call, median of {scale.rounds} samples each)",
        "",
        "| operation | simulator | real Redis | ratio | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    latencies = operation_latencies(url, scale.rounds)
    for name in [
        "put",
        "pop",
        "pop(20)",
        "heartbeat",
        "complete",
        "fail",
        "retry",
        "peek",
        "stats",
    ]:
        sim, real = latencies[name]["sim"], latencies[name]["real"]
        ratio = sim / real
        lines.append(
            f"| {name} | {sim:,.0f} | {real:,.0f} | {ratio:.2f} | "
            f"{verdict(ratio, TARGETS.get(name))} |"
        )

    isolation = isolation_cost(url, scale.rounds)
    ratio = isolation["sim"] / isolation["real"]
    lines += [
        "",
        "## Per-test isolation (µs)",
        "",
        "The simulator side is the `qless_client` fixture's reset (empty the session's "
        "compiled server, fresh clock, new Client); the real side is parity mode's FLUSHDB.",
        "",
        "| simulator (plugin reset) | real Redis (FLUSHDB) | ratio | target |",
        "| ---: | ---: | ---: | --- |",
        f"| {isolation['sim']:,.0f} | {isolation['real']:,.0f} | {ratio:.2f} | "
        f"{verdict(ratio, 0.25)} |",
    ]

    depth = depth_latencies(url, scale.depth)
    lines += [
        "",
        "## Pop latency by queue depth (µs, median of 200 pops)",
        "",
        f"| backend | depth 100 | depth {scale.depth:,} | deep / shallow |",
        "| --- | ---: | ---: | ---: |",
    ]
    for backend in ("sim", "real"):
        shallow, deep = depth[backend]["shallow"], depth[backend]["deep"]
        lines.append(f"| {backend} | {shallow:,.0f} | {deep:,.0f} | {deep / shallow:.2f} |")
    sim_growth = depth["sim"]["deep"] / depth["sim"]["shallow"]
    lines.append("")
    lines.append(f"Simulator deep / shallow: {sim_growth:.2f} ({verdict(sim_growth, 1.5)}).")

    memory = memory_use(url, scale.memory_jobs)
    lines += [
        "",
        f"## Memory for {scale.memory_jobs:,} waiting jobs (bytes per job)",
        "",
        "| simulator (RSS growth of a fresh process) | real Redis (used_memory growth) | ratio |",
        "| ---: | ---: | ---: |",
        f"| {memory['sim']:,.0f} | {memory['real']:,.0f} | {memory['sim'] / memory['real']:.2f} |",
    ]

    suite = suite_wall_time(url, scale.suite_tests)
    ratio = suite["sim"] / suite["real"]
    lines += [
        "",
        f"## A {scale.suite_tests}-test downstream suite (seconds of pytest wall time)",
        "",
        "Each test puts, pops, advances the clock, heartbeats and completes a job with the "
        "plugin's `qless_client` and `qless_clock` fixtures; the real side runs the same file "
        "in parity mode (`--qless-redis-url`).",
        "",
        "| simulator | parity mode (real Redis) | ratio | target |",
        "| ---: | ---: | ---: | --- |",
        f"| {suite['sim']:.2f} | {suite['real']:.2f} | {ratio:.2f} | {verdict(ratio, 1.0)} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the Markdown report (default: benchmarks/RESULTS.md, or "
        "benchmarks/RESULTS-quick.md with --quick)",
    )
    options = parser.parse_args()
    scale = QUICK if options.quick else FULL
    output = options.output or HERE / ("RESULTS-quick.md" if options.quick else "RESULTS.md")
    with redis_server() as url:
        text = report(scale, url, options.quick)
    output.write_text(text)
    print(text)
    print(f"written to {output}")


if __name__ == "__main__":
    main()
