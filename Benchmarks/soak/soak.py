"""Soak of the real binary: does RSS, the open descriptors or the thread count grow under a steady load?

    nice python3 Benchmarks/soak/soak.py [--minutes 10] [--clients 20] [--rate 50] [--followers 5] [--sample 10]

The agent (.build/release/viworks-agent when present and not older than the debug build, else the debug build;
VIWORKS_AGENT_BIN overrides), copied into a temporary directory so a rebuild meanwhile cannot touch it, runs at a
1 s interval with history writes on (flushed every second) and three plugins: the shipped shell example
(processes.sh, poll), the shipped Python example (tcp_states.py, stream) and the stream fixture of the plugin tests
(stream.sh). Load: `--clients` threads share `--rate` requests per second over keep-alive connections, cycling through
GET /api/v1/status, /metrics and /api/v1/metrics/viworks_cpu_usage_percent/history?from=(now - `--history-window`,
300 s); `--followers` clients follow
GET /api/v1/stream; and, when a standalone journald can run here (tests/e2e/journal.py: root, unshare, logger), one
client follows GET /api/v1/logs?follow=true while a line is written to that journal every second.

Every `--sample` seconds it reads the agent's VmRSS (and its RssAnon and RssFile parts) and Threads (/proc/PID/status)
and counts /proc/PID/fd. At the end it prints, for each, the first and last value and the least-squares slope per
minute over all samples and over the second half (after start-up caches have filled), the requests made and every
error a client saw.
A benchmark, not a test: nothing is asserted. Bounded by --minutes."""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/e2e"))
sys.path.insert(0, str(REPO / "Benchmarks"))


def newest_build() -> Path:
    """The release build when present and not older than the debug build (an older one may lack routes), else debug."""
    release, debug = REPO / ".build/release/viworks-agent", REPO / ".build/debug/viworks-agent"
    if release.exists() and (not debug.exists() or release.stat().st_mtime >= debug.stat().st_mtime):
        return release
    return debug


from conftest import start_agent  # noqa: E402
from journal import LiveJournal, unavailable  # noqa: E402
from sse_reader import read_events  # noqa: E402

UNIT = "soak.service"
PLUGINS = [
    ("shell-processes", REPO / "examples/plugins/shell/processes.sh", "poll"),
    ("python-tcp-states", REPO / "examples/plugins/python/tcp_states.py", "stream"),
    ("fixture-stream", REPO / "Tests/AgentPluginsTests/Fixtures/bin/stream.sh", "stream"),
]
PATHS = ["/api/v1/status", "/metrics", "/api/v1/metrics/viworks_cpu_usage_percent/history"]


class Errors:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1


def poller(
    port: int, period: float, offset: int, stop: threading.Event, errors: Errors, done: list[int], index: int, window: float
) -> None:
    """One client: a request every `period` s on a keep-alive connection (reopened after an error). History asks for the
    last `window` seconds: with the route's default hour, every answer of the first hour is longer than the one before,
    which is growth by design, not a leak."""
    connection: http.client.HTTPConnection | None = None
    n = offset
    next_at = time.monotonic() + (offset % 10) * period / 10
    while not stop.is_set():
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
            if stop.is_set():
                break
        next_at += period
        name = PATHS[n % len(PATHS)]
        path = name + (f"?from={time.time() - window:.0f}" if name.endswith("/history") else "")
        n += 1
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.add(f"GET {name}: HTTP {response.status}")
            done[index] += 1
        except (OSError, http.client.HTTPException) as error:
            errors.add(f"GET {name}: {type(error).__name__}: {error}")
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()


def follower(port: int, path: str, marker: bytes, stop: threading.Event, errors: Errors, events: list[int], index: int) -> None:
    """Reads a Server-Sent Events response until stopped, counting `marker` lines; reconnects if the agent ends it."""

    def add(count: int) -> None:
        events[index] += count

    while not stop.is_set():
        try:
            ended = read_events(port, path, marker, stop, add)
        except OSError as error:
            errors.add(f"GET {path}: {type(error).__name__}: {error}")
            stop.wait(1)
            continue
        if ended == "closed":
            errors.add(f"GET {path}: the agent closed the stream")
        elif ended is not None:
            errors.add(f"GET {path}: {ended}")
            stop.wait(1)


def sample(pid: int) -> tuple[float, int, int, float, float]:
    """(VmRSS in MiB, open descriptors, threads, RssAnon and RssFile in MiB: heap and stacks against mapped files)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "Threads", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0])
    return (fields.get("VmRSS", 0) / 1024, len(os.listdir(f"/proc/{pid}/fd")), fields.get("Threads", 0),
            fields.get("RssAnon", 0) / 1024, fields.get("RssFile", 0) / 1024)


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, in value units per minute."""
    n = len(points)
    if n < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return 60 * sxy / sxx if sxx else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50, help="requests per second, all polling clients together")
    parser.add_argument("--followers", type=int, default=5)
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples")
    parser.add_argument("--history-window", type=float, default=300, help="seconds of history each history request asks for")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="viworks-soak-"))
    source = Path(os.environ.get("VIWORKS_AGENT_BIN") or newest_build())
    binary = workdir / "viworks-agent"
    shutil.copy2(source, binary)
    os.environ["VIWORKS_AGENT_BIN"] = str(binary)
    plugins = workdir / "plugins.d"
    plugins.mkdir()
    for name, command, mode in PLUGINS:
        (plugins / f"{name}.toml").write_text(f'name = "{name}"\ncommand = ["{command}"]\nmode = "{mode}"\ninterval = "1s"\ntimeout = "5s"\n')
    no_journal = unavailable()
    journal = None if no_journal else LiveJournal(workdir / "journal", UNIT)
    config = workdir / "agent.toml"
    config.write_text("" if journal is None else f'[logs]\nunits = ["{UNIT}"]\njournal_directory = "{workdir / "journal"}"\n')
    env = {
        "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_PLUGINS_DIRECTORY": str(plugins), "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s",
        "VIWORKS_AUTH_ANONYMOUS_ROLE": "operator", "VIWORKS_SERVICES_SYSTEMD": "off",
    }
    print(f"binary: {source} (modified {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(source.stat().st_mtime))})  workdir: {workdir}")
    agent = start_agent(workdir, "--config", str(config), env=env)
    pid = agent.process.pid
    # The history route answers 404 until the first flush has stored the series.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and agent.get(PATHS[2]).status != 200:
        time.sleep(0.5)
    stop = threading.Event()
    errors = Errors()
    done = [0] * args.clients
    events = [0] * (args.followers + 1)
    threads = [
        threading.Thread(target=poller, args=(agent.port, args.clients / args.rate, i, stop, errors, done, i, args.history_window), daemon=True)
        for i in range(args.clients)
    ]
    threads += [
        threading.Thread(target=follower, args=(agent.port, "/api/v1/stream", b"event: status\n", stop, errors, events, i), daemon=True)
        for i in range(args.followers)
    ]
    if journal is not None:
        threads.append(threading.Thread(
            target=follower, args=(agent.port, f"/api/v1/logs?unit={UNIT}&follow=true", b"data:", stop, errors, events, args.followers),
            daemon=True))

        def write_lines() -> None:
            n = 0
            while not stop.wait(1):
                n += 1
                journal.write(f"soak line {n}")

        threads.append(threading.Thread(target=write_lines, daemon=True))
    print(f"load: {args.clients} polling clients at {args.rate:g} requests/s in all, {args.followers} stream followers, "
          f"log follower: {'yes' if journal else f'no ({no_journal})'}; {args.minutes:g} min, a sample every {args.sample:g} s")
    samples: list[tuple[float, float, int, int, float, float]] = []
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        end = started + args.minutes * 60
        while True:
            now = time.monotonic()
            if agent.process.poll() is not None:
                errors.add(f"the agent exited with {agent.process.returncode}")
                break
            rss, fds, count, anon, mapped = sample(pid)
            samples.append((now - started, rss, fds, count, anon, mapped))
            print(f"{now - started:7.1f} s  RSS {rss:8.2f} MiB  fds {fds:4d}  threads {count:3d}  requests {sum(done)}  "
                  f"(anon {anon:.2f} MiB, file {mapped:.2f} MiB)", flush=True)
            if now + args.sample > end + 0.5:
                break
            time.sleep(max(0.0, started + len(samples) * args.sample - time.monotonic()))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        agent.stop()
        if journal is not None:
            journal.close()
        binary.unlink()

    elapsed = samples[-1][0] if samples else 0
    print(f"\n{len(samples)} samples over {elapsed / 60:.1f} min; {sum(done)} polling requests ({sum(done) / max(elapsed, 1):.1f}/s); "
          f"status events per stream follower: {events[:args.followers]}; log events: {events[args.followers] if journal else 'n/a'}")
    half = samples[len(samples) // 2:]
    for column, name, unit in ((1, "RSS", "MiB"), (4, "  of which anon", "MiB"), (5, "  of which file", "MiB"), (2, "open descriptors", ""), (3, "threads", "")):
        series = [(s[0], float(s[column])) for s in samples]
        later = [(s[0], float(s[column])) for s in half]
        print(f"{name:17s} first {series[0][1]:.2f} last {series[-1][1]:.2f} {unit}; slope {slope_per_minute(series):+.4f} {unit}/min "
              f"(second half {slope_per_minute(later):+.4f} {unit}/min)")
    print(f"errors seen by clients: {sum(errors.counts.values())}")
    for what, count in errors.counts.most_common():
        print(f"  {count:5d}  {what}")


if __name__ == "__main__":
    main()
