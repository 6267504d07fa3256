"""Costs of the dashboard and its stream, against the real binary (debug or release: VIWORKS_AGENT_BIN).

    python3 Benchmarks/dashboard/measure.py [--interval 1s] [--seconds 60] [--clients 100] [--dashboards 5]

Prints: the bytes of a first load (compressed, as Chromium counts them), the agent's CPU time per second of wall time
with no client, with N raw SSE clients of GET /api/v1/stream (and how many status events each received), and with M
headless Chromium pages on the overview, and its RSS after each phase. Bounded: every phase ends by itself."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/e2e"))
from conftest import start_agent  # noqa: E402
import test_dashboard as dashboard  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def phase(pid: int, seconds: float) -> float:
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def sse_client(port: int, stop: threading.Event, counts: list[int], index: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        s.settimeout(1)
        buffer = b""
        while not stop.is_set():
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            buffer += chunk
            counts[index] += buffer.count(b"event: status\n")
            buffer = buffer[buffer.rfind(b"\n") + 1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--dashboards", type=int, default=5)
    args = parser.parse_args()
    import tempfile
    workdir = Path(tempfile.mkdtemp(prefix="dashboard-measure-"))
    agent = start_agent(workdir, env={"VIWORKS_AGENT_INTERVAL": args.interval, "VIWORKS_PLUGINS_DIRECTORY": str(workdir),
                                      "VIWORKS_STREAM_MAX_CLIENTS": str(max(32, args.clients + args.dashboards + 4))})
    pid = agent.process.pid
    agent.base = f"http://127.0.0.1:{agent.port}"
    agent.credentials = {}
    try:
        time.sleep(5)
        idle = phase(pid, args.seconds)
        print(f"no client: {idle * 100:.2f} % of a core, RSS {rss_mib(pid):.1f} MiB")

        browser = dashboard.new_browser()
        browser.get(f"{agent.base}/#/overview")
        time.sleep(3)
        sizes = browser.execute_script(
            "return [performance.getEntriesByType('navigation')[0].transferSize,"
            " ...performance.getEntriesByType('resource').filter(e => !e.name.includes('/api/v1/stream')).map(e => e.transferSize)]")
        browser.quit()
        print(f"first load: {sum(sizes)} bytes transferred in {len(sizes)} responses")

        stop = threading.Event()
        counts = [0] * args.clients
        threads = [threading.Thread(target=sse_client, args=(agent.port, stop, counts, i), daemon=True) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        base_counts = list(counts)
        streams = phase(pid, args.seconds)
        received = [c - b for c, b in zip(counts, base_counts)]
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        print(f"{args.clients} SSE clients: {streams * 100:.2f} % of a core, RSS {rss_mib(pid):.1f} MiB, "
              f"status events per client in {args.seconds:.0f} s: min {min(received)}, max {max(received)}")

        time.sleep(3)
        pages = [dashboard.new_browser() for _ in range(args.dashboards)]
        try:
            for page in pages:
                page.get(f"{agent.base}/#/overview")
            time.sleep(5)
            with_pages = phase(pid, args.seconds)
            print(f"{args.dashboards} dashboards on the overview: {with_pages * 100:.2f} % of a core, RSS {rss_mib(pid):.1f} MiB "
                  f"(+{(with_pages - idle) * 100:.2f} points over none)")
        finally:
            for page in pages:
                page.quit()
    finally:
        agent.stop()


if __name__ == "__main__":
    main()
