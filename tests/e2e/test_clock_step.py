"""The wall clock stepped by minutes, forwards and back, under the real agent (libfaketime, only CLOCK_REALTIME).

libfaketime (Debian package `faketime`) is preloaded into the binary with a timestamp file the test rewrites
(`FAKETIME_NO_CACHE=1`: read at every call) and `FAKETIME_DONT_FAKE_MONOTONIC=1`, so that only the wall clock
moves, as when an administrator or NTP steps it; the machine's real clock is never touched.

What must stay right: rates and durations come from the monotonic clock (the loopback receive rate while the test
sends a steady 1 MB/s through it, CPU %, the agent's and the host's uptime, the probe of a server that answers 0.3 s
late), an alert's `for` is not shortened by a step forward,
history stays in time order, and the agent logs each step with what history did about it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import EXIT_TIMEOUT, free_port, start_agent, wait_for

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
CPU = "viworks_cpu_usage_percent"
STEP_LINE = re.compile(r"history: the wall clock stepped (forward|back) by (\d+(?:\.\d+)?) s")


class LoopbackTraffic:
    """About 1 MB/s through a TCP connection on 127.0.0.1 while it runs (64 KiB every 62.5 ms)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        server = socket.create_server(("127.0.0.1", 0))
        self.sender = socket.create_connection(server.getsockname())
        self.receiver, _ = server.accept()
        server.close()
        self.threads = [threading.Thread(target=self._send, daemon=True), threading.Thread(target=self._receive, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _send(self) -> None:
        chunk = b"\0" * 65536
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.sender.sendall(chunk)
            next_at += 0.0625
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _receive(self) -> None:
        while not self.stop.is_set():
            if not self.receiver.recv(1 << 20):
                return

    def close(self) -> None:
        self.stop.set()
        self.sender.close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.receiver.close()


# An HTTP server that answers every request 0.3 s late: the probe of the service that runs it takes that long.
SLOW_SERVER = """
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.3)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Slow).serve_forever()
"""


def loopback_receive_rate(status: dict) -> float | None:
    for interface in status["system_info"]["network"]["details"]:
        if interface["name"] == "lo":
            return interface["receive_bytes_per_second"]
    return None


def test_wall_clock_steps_leave_rates_durations_alerts_and_history_right(tmp_path: Path) -> None:
    if not LIBFAKETIME.exists():
        pytest.skip(f"{LIBFAKETIME} is missing: apt-get install faketime")
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    config = tmp_path / "agent.toml"
    # CPU use is always at or above a warning of 0: held for 5 minutes, it may only be raised after 5 real minutes,
    # never by a step of the wall clock.
    server_port = free_port()
    config.write_text(
        '[alerts.cpu]\nwarning = 0\ncritical = 100\nfor = "5m"\n'
        f'[services.slowweb]\ncommand_patterns = ["clockstep-slow-web"]\nprobe = "http://127.0.0.1:{server_port}/"\n'
    )
    server = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, "clockstep-slow-web", str(server_port)])
    env = {
        "VIWORKS_AGENT_INTERVAL": "1s",
        "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s",
        "VIWORKS_SERVICES_SYSTEMD": "off",
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    traffic = LoopbackTraffic()
    def probed() -> float | None:
        service = {s["name"]: s for s in agent.get_json("/api/v1/services")["services"]}.get("slowweb") or {}
        probe = service.get("probe") or {}
        return probe.get("duration_seconds") if probe.get("ok") else None

    # Started through env(1): libfaketime's constructor edits the environment of the process it is loaded into, which
    # makes the Swift runtime lose its arguments (it finds argv next to the environment); in env it does that harm
    # to env, and the agent then starts with the environment env left.
    agent = start_agent(tmp_path / "agent", "--config", str(config), env=env, launcher=("/usr/bin/env",))
    try:
        agent.wait_collections(minimum=3)
        wait_for(probed, timeout=60, what="the first answered probe of the slow server")

        def collected_after(timestamp: str, count: int = 3) -> dict | None:
            """The status once `count` more cpu collections have run since the one stamped `timestamp`."""
            status = agent.get_json("/api/v1/status")
            collections = {c["name"]: c["collections"] for c in status["collectors"]}
            return status if status["timestamp"] != timestamp and collections["cpu"] >= marks[timestamp] + count else None

        def step(to: str) -> dict:
            before = agent.get_json("/api/v1/status")
            uptime_before = agent.get_json("/api/v1/health")["agent_uptime_seconds"]
            host_uptime_before = before["system_info"]["system"]["uptime_seconds"]
            marks[before["timestamp"]] = {c["name"]: c["collections"] for c in before["collectors"]}["cpu"]
            # Replaced, not rewritten in place: libfaketime reads the file again by name, and a read between the
            # truncation and the write would see no offset, a step back and forward again.
            staged = offset.with_name("faketime.next")
            staged.write_text(to + "\n")
            staged.replace(offset)
            after = wait_for(lambda: collected_after(before["timestamp"]), timeout=60, what=f"three collections after the step to {to}")
            # Durations on the monotonic clock: the agent's and the host's uptime grew by real seconds (three 1 s
            # collections, up to the minute waited on a loaded machine), not by the step (180 s or 600 s).
            grown = agent.get_json("/api/v1/health")["agent_uptime_seconds"] - uptime_before
            assert 2 <= grown < 90, (to, grown)
            host_grown = after["system_info"]["system"]["uptime_seconds"] - host_uptime_before
            assert 1 <= host_grown < 90, (to, host_grown)
            return after

        marks: dict[str, int] = {}
        journal: list[tuple[str, str]] = []
        for to, wall_step in (("+600", 600), ("+0", -600), ("-180", -180), ("+0", 180)):
            status = step(to)
            # Rates on the monotonic clock: the loopback carries the test's 1 MB/s in every collection, including the
            # one across the step (on wall time it would be divided by 600 s, under 2 kB/s, or be negative); a tenth of
            # it allows a sender starved on a loaded machine.
            rate = loopback_receive_rate(status)
            assert rate is not None and rate > 100_000, (to, rate)
            cpu = status["system_info"]["cpu"]
            assert 0 <= cpu["usage_percent"] <= 100 and all(0 <= c["usage_percent"] <= 100 for c in cpu["per_core"]), cpu
            # The step is logged with its size and what history did with it.
            seen = len(journal)
            found = wait_for(
                lambda: STEP_LINE.findall(agent.log_path.read_text(errors="replace"))[seen:] or None, what=f"the log line of the step to {to}"
            )
            journal.extend(found)
            assert len(found) == 1, (to, found)
            direction, seconds = found[0]
            assert direction == ("forward" if wall_step > 0 else "back") and abs(float(seconds) - abs(wall_step)) < 2, (to, found)
            # Probe durations on the monotonic clock: 0.3 s and a little, never the step.
            duration = probed()
            assert duration is not None and 0.29 <= duration < 10, (to, duration)
            # An alert held for 5 minutes is not raised by a step of 10.
            assert status["alerts"]["warning"] == 0 and status["alerts"]["state"] == "ok", (to, status["alerts"])
            assert agent.get_json("/api/v1/alerts")["alerts"] == [], to

        log = agent.log_path.read_text(errors="replace")
        assert "samples older than their series' newest are dropped (counted as out_of_order)" in log
        assert "each series begins a new block" in log
        # History stays in time order across all four steps, and every point is a real CPU figure.
        now = int(time.time())
        history = agent.get_json(f"/api/v1/metrics/{CPU}/history?from={now - 3600}&to={now + 3600}")
        points = history["series"][0]["points"]
        times = [t for t, _ in points]
        assert len(points) >= 8 and times == sorted(times), times
        assert all(0 <= v <= 100 for _, v in points)
        metrics = agent.get("/metrics").body.decode()
        out_of_order = re.search(r'viworks_history_refused_samples_total\{reason="out_of_order"\} (\d+)', metrics)
        assert out_of_order and int(out_of_order.group(1)) > 0, metrics[-2000:]
    finally:
        agent.stop()
        traffic.close()
        server.terminate()
        server.wait(timeout=EXIT_TIMEOUT)
