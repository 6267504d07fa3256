#!/usr/bin/env python3
"""One table of the agent against its peers, from a peerbench run (`peerbench.sh --tsv RESULTS`) and one more load
run of our own with access control on:

    python3 Benchmarks/bench_table.py --binary .build/release/viworks-agent --results results.tsv

The extra run starts the agent with an API key file and anonymous access off, waits `--settle` seconds (steady state,
as peerbench's `--settle` does for every peer: the agent releases its start-up pages 5 s after start and pages code
back in at its first history flushes), then `wrk -t1 -c16 -d10s --latency` sends `GET /api/v1/status` with the key
(`X-API-Key`), so every request pays for the credential check; the threads and RSS of the agent are read from /proc
after it. Each row: our figure, the peer's, the ratio and the target.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_results(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["peer"]: row for row in csv.DictReader(handle, delimiter="\t")}


def number(row: dict[str, str] | None, key: str) -> float | None:
    try:
        return float(row[key]) if row else None
    except (KeyError, ValueError):
        return None


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def keyed_run(binary: Path, seconds: int, settle: float) -> dict[str, float]:
    """`/api/v1/status` under wrk with an API key; req/s, p99 in ms, threads and RSS after the load."""
    work = Path(tempfile.mkdtemp(prefix="viworks-bench-keyed-"))
    try:
        keys = work / "api-keys"
        created = subprocess.run([str(binary), "keys", "create", "--role", "viewer", "--name", "bench", "--file", str(keys)],
                                 capture_output=True, text=True, check=True)
        key = created.stdout.strip().splitlines()[-1]
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE": "0",
            "VIWORKS_AGENT_STATE_DIRECTORY": str(work / "state"), "VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_AUTH_ANONYMOUS_ROLE": "none",
        }
        agent = subprocess.Popen([str(binary), "run", "--config", "/dev/null", "--listen", f"127.0.0.1:{port}"], env=env,
                                 stdout=open(work / "agent.log", "wb"), stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/api/v1/status"
            deadline = time.monotonic() + 30
            while True:
                try:
                    request = urllib.request.Request(url, headers={"X-API-Key": key})
                    if urllib.request.urlopen(request, timeout=2).status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or agent.poll() is not None:
                    raise RuntimeError("the agent did not answer: " + (work / "agent.log").read_text()[-2000:])
                time.sleep(0.1)
            time.sleep(settle)
            output = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-H", f"X-API-Key: {key}", url],
                                    capture_output=True, text=True, check=True).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
            p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", output)
            p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
            non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
            return {
                "rps": rps, "p99_ms": p99_ms, "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
                "threads": float(len(os.listdir(f"/proc/{agent.pid}/task"))), "rss_mb": status_kib(agent.pid, "VmRSS") / 1024,
            }
        finally:
            agent.terminate()
            agent.wait(timeout=10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stripped_mb(binary: Path) -> float:
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "stripped"
        subprocess.run(["strip", "-o", str(copy), str(binary)], check=True)
        return copy.stat().st_size / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, required=True, help="the release binary of the agent")
    parser.add_argument("--results", type=Path, required=True, help="results TSV of peerbench.sh (--tsv)")
    parser.add_argument("--ours", default="viworks", help="our row's name in the results (peerbench --ours-name)")
    parser.add_argument("--node-exporter", type=Path, default=Path("/usr/bin/prometheus-node-exporter"))
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration of the keyed run")
    parser.add_argument("--settle", type=float, default=90, help="seconds between the agent's first answer and the keyed run")
    arguments = parser.parse_args()

    results = read_results(arguments.results)
    ours = results.get(arguments.ours)
    node = results.get("node_exporter")
    netdata = results.get("netdata")
    collectd = results.get("collectd")
    keyed = keyed_run(arguments.binary, arguments.seconds, arguments.settle)
    node_binary = arguments.node_exporter.stat().st_size / 1e6 if arguments.node_exporter.exists() else None

    rows: list[tuple] = []

    def ratio_row(what: str, ours_value: float | None, peer_value: float | None, peer: str, unit: str, target: str, limit: float, above: bool = False):
        rows.append((what, ours_value, peer_value, peer, unit, target, limit, above))

    ratio_row("idle RSS", number(ours, "rss_idle_mb"), number(node, "rss_idle_mb"), "node_exporter", "MB", "<= 0.75x", 0.75)
    ratio_row("RSS after load (peerbench)", number(ours, "rss_load_mb"), number(node, "rss_load_mb"), "node_exporter", "MB", "<= 1x", 1.0)
    ratio_row("CPU per collected metric, 1 s interval", number(ours, "ns_cpu_per_metric"), number(netdata, "ns_cpu_per_metric"), "netdata", "ns",
              "<= 0.2x", 0.2)
    ratio_row("/api/v1/status req/s with an API key (wrk -c16)", keyed["rps"], number(collectd, "rps"), "collectd", "req/s", ">= 3x", 3.0, above=True)
    ratio_row("stripped binary", stripped_mb(arguments.binary), node_binary, "node_exporter", "MB", "<= 40 MB", 40.0)

    def show(value: float | None) -> str:
        return "-" if value is None else (f"{value:.0f}" if value >= 1000 else f"{value:.1f}")

    print(f"{'target':<50} {'ours':>10} {'peer':>10} {'ratio':>7}  {'vs':<14} {'goal':<9} verdict")
    for what, mine, theirs, peer, unit, target, limit, above in rows:
        ratio = mine / theirs if mine is not None and theirs else None
        if target.endswith("MB") and "x" not in target:
            met = mine is not None and mine <= limit
        elif ratio is None:
            met = None
        else:
            met = ratio >= limit if above else ratio <= limit
        print(f"{what + ' (' + unit + ')':<50} {show(mine):>10} {show(theirs):>10} {('-' if ratio is None else f'{ratio:.2f}x'):>7}  "
              f"{peer:<14} {target:<9} {'-' if met is None else ('met' if met else 'NOT met')}")
    p99 = keyed["p99_ms"]
    print(f"{'p99 of that run at 16 connections (ms)':<50} {p99:>10.2f} {'-':>10} {'-':>7}  {'-':<14} {'<= 10 ms':<9} {'met' if p99 <= 10 else 'NOT met'}")
    threads = keyed["threads"]
    print(f"{'threads after that run':<50} {threads:>10.0f} {show(number(node, 'threads')):>10} {'-':>7}  {'node_exporter':<14} {'<= 8':<9} "
          f"{'met' if threads <= 8 else 'NOT met'}")
    print(f"{'RSS after that run (MB)':<50} {keyed['rss_mb']:>10.1f}")
    if keyed["non2xx"]:
        print(f"warning: {keyed['non2xx']:.0f} responses of the keyed run were not 2xx", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
