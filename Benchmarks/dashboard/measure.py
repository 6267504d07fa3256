"""Costs of the dashboard and its stream, against the real binary (debug or release: VIWORKS_AGENT_BIN).

    python3 Benchmarks/dashboard/measure.py [--interval 1s] [--seconds 60] [--sse-seconds 60] [--clients 100]
                                            [--dashboards 5] [--loads 5]

Prints, in this order:
- the agent's CPU time per second of wall time and its RSS with no client (`--seconds`);
- the bytes of a first load (compressed, as Chromium counts them) and the time to first render: from navigation start
  to the overview's first chart drawn with data (the page's `viworks:first-chart` performance mark), median and
  maximum of `--loads` fresh loads on loopback;
- the same CPU figure with N raw SSE clients of GET /api/v1/stream (`--sse-seconds`) and how many status events each
  received;
- with `--control`: the same with M pages on the overview of a second agent process (the same load on the machine:
  Chromium drawing charts every second, another agent collecting), so that what the pages' rendering costs this
  agent through contention for the CPUs is told apart from the work they ask of it;
- the same with M headless Chromium pages on the overview (`--seconds`), the requests each page made meanwhile (other
  than its stream), and the bytes one page received meanwhile (Chromium's Network.dataReceived, encoded lengths),
  also per hour at the same rate.
Bounded: every phase ends by itself."""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import start_agent  # noqa: E402
from sse_reader import read_events  # noqa: E402
import test_dashboard as dashboard  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def event_loop_seconds(pid: int) -> float:
    """CPU time of the agent's NIO event-loop threads (`NIO-ELT-…`): sockets, HTTP parsing and writing."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if not (task / "comm").read_text().startswith("NIO-ELT"):
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


LOOP: dict[str, float] = {}


def phase(pid: int, seconds: float) -> float:
    """The agent's CPU time per second of wall time over `seconds`; its event loops' share goes to LOOP["last"]."""
    start_cpu, start_loop, start = cpu_seconds(pid), event_loop_seconds(pid), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    LOOP["last"] = (event_loop_seconds(pid) - start_loop) / elapsed
    return (cpu_seconds(pid) - start_cpu) / elapsed


def loop_text() -> str:
    return f"event loops {LOOP['last'] * 100:.2f} %"


def sse_client(port: int, stop: threading.Event, counts: list[int], index: int) -> None:
    def add(count: int) -> None:
        counts[index] += count

    read_events(port, "/api/v1/stream", b"event: status\n", stop, add)


def logging_browser():
    """A headless Chromium like the dashboard tests' whose network events can be read (the performance log)."""
    browser, driver = dashboard.chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def received_bytes(browser) -> int:
    """Bytes received since the last call (encoded lengths of every response's data, headers not included)."""
    total = 0
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.dataReceived":
            total += message["params"].get("encodedDataLength", 0)
    return total


FIRST_RENDER = ("const nav = performance.getEntriesByType('navigation')[0];"
                " const mark = performance.getEntriesByName('viworks:first-chart')[0];"
                " return mark ? [mark.startTime - nav.startTime, nav.transferSize,"
                " ...performance.getEntriesByType('resource').filter(e => !e.name.includes('/api/v1/stream')).map(e => e.transferSize)] : null")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--seconds", type=float, default=60, help="length of the no-client and the dashboards phases")
    parser.add_argument("--sse-seconds", type=float, default=60, help="length of the raw SSE clients phase")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--dashboards", type=int, default=5)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--control", action="store_true", help="also measure with the pages open on a second agent")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dashboard-measure-"))
    agent = start_agent(workdir, env={"VIWORKS_AGENT_INTERVAL": args.interval, "VIWORKS_PLUGINS_DIRECTORY": str(workdir),
                                      "VIWORKS_STREAM_MAX_CLIENTS": str(max(32, args.clients + args.dashboards + 4))})
    pid = agent.process.pid
    agent.base = f"http://127.0.0.1:{agent.port}"
    agent.credentials = {}
    print(f"binary {os.environ.get('VIWORKS_AGENT_BIN', '(default)')}, interval {args.interval}")
    try:
        time.sleep(5)
        idle = phase(pid, args.seconds)
        print(f"no client ({args.seconds:.0f} s): {idle * 100:.2f} % of a core ({loop_text()}), RSS {rss_mib(pid):.1f} MiB")

        renders, first_load = [], None
        for _ in range(args.loads):
            browser = dashboard.new_browser()
            try:
                browser.get(f"{agent.base}/#/overview")
                deadline = time.monotonic() + 20
                result = None
                while result is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    result = browser.execute_script(FIRST_RENDER)
            finally:
                browser.quit()
            if result is None:
                print("first render: no chart drawn within 20 s")
                continue
            renders.append(result[0])
            if first_load is None:
                first_load = result[1:]
        if first_load:
            print(f"first load: {sum(first_load)} bytes transferred in {len(first_load)} responses")
        if renders:
            print(f"time to first render (navigation start to the first chart drawn), {len(renders)} loads: "
                  f"median {statistics.median(renders):.0f} ms, max {max(renders):.0f} ms")

        stop = threading.Event()
        counts = [0] * args.clients
        threads = [threading.Thread(target=sse_client, args=(agent.port, stop, counts, i), daemon=True) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        base_counts = list(counts)
        streams = phase(pid, args.sse_seconds)
        received = [c - b for c, b in zip(counts, base_counts)]
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        print(f"{args.clients} SSE clients ({args.sse_seconds:.0f} s): {streams * 100:.2f} % of a core ({loop_text()}), RSS {rss_mib(pid):.1f} MiB, "
              f"status events per client: min {min(received)}, max {max(received)}")

        control = None
        if args.control:
            time.sleep(3)
            other = start_agent(Path(tempfile.mkdtemp(prefix="dashboard-control-")), env={
                "VIWORKS_AGENT_INTERVAL": args.interval, "VIWORKS_PLUGINS_DIRECTORY": str(workdir)})
            pages = [dashboard.new_browser() for _ in range(args.dashboards)]
            try:
                for page in pages:
                    page.get(f"http://127.0.0.1:{other.port}/#/overview")
                time.sleep(5)
                control = phase(pid, args.seconds)
                print(f"{args.dashboards} dashboards on another agent ({args.seconds:.0f} s): {control * 100:.2f} % of a core ({loop_text()}), "
                      f"RSS {rss_mib(pid):.1f} MiB (+{(control - idle) * 100:.2f} points over none)")
            finally:
                for page in pages:
                    page.quit()
                other.stop()

        time.sleep(3)
        pages = [logging_browser()] + [dashboard.new_browser() for _ in range(args.dashboards - 1)]
        try:
            for page in pages:
                page.get(f"{agent.base}/#/overview")
            time.sleep(5)
            for page in pages:
                page.execute_script("performance.clearResourceTimings(); performance.setResourceTimingBufferSize(100000)")
            received_bytes(pages[0])
            start = time.monotonic()
            with_pages = phase(pid, args.seconds)
            page_bytes = received_bytes(pages[0])
            elapsed = time.monotonic() - start
            requests = collections.Counter()
            for page in pages:
                for name in page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"):
                    requests[name.replace(agent.base, "").split("?")[0]] += 1
            print(f"{args.dashboards} dashboards on the overview ({args.seconds:.0f} s): {with_pages * 100:.2f} % of a core ({loop_text()}), "
                  f"RSS {rss_mib(pid):.1f} MiB (+{(with_pages - idle) * 100:.2f} points over none"
                  + (f", +{(with_pages - control) * 100:.2f} over the same pages on another agent)" if control is not None else ")"))
            print(f"  requests by the {args.dashboards} pages meanwhile, other than their streams: {dict(requests) or 'none'}")
            print(f"  one page received {page_bytes} bytes in {elapsed:.0f} s: {page_bytes / elapsed:.0f} B/s, "
                  f"{page_bytes / elapsed * 3600 / 1e6:.1f} MB per hour at this rate")
        finally:
            for page in pages:
                page.quit()
    finally:
        agent.stop()


if __name__ == "__main__":
    main()
