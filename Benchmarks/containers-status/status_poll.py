"""Cost of a `/api/v1/status` poll with 0, 20 and 100 containers of the agent's label, against a private dockerd.

The containers are collected by the agent at the collection interval (5 s here) and status is served from memory, so
a poll should cost the same whatever the number of containers; the body grows with them. Prints, per count, the
median and p99 of 300 sequential polls on one keep-alive connection, the body size and the agent's RSS.

    VIWORKS_AGENT_BIN=.build/debug/viworks-agent python3 Benchmarks/containers-status/status_poll.py

Needs root, dockerd and busybox (as tests/e2e/docker_fixture.py).
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/e2e"))
from conftest import start_agent  # noqa: E402
from docker_fixture import IMAGE, PrivateDocker  # noqa: E402

COUNTS = (0, 20, 100)
POLLS = 300


def poll(port: int) -> tuple[float, float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times, size = [], 0
    for _ in range(POLLS):
        started = time.perf_counter()
        connection.request("GET", "/api/v1/status")
        body = connection.getresponse().read()
        times.append(time.perf_counter() - started)
        size = len(body)
    connection.close()
    times.sort()
    return statistics.median(times) * 1e3, times[-(-len(times) * 99 // 100) - 1] * 1e3, size


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def main() -> None:
    docker = PrivateDocker.start()
    agent_id = "bench-status"
    agent = start_agent(Path(tempfile.mkdtemp(prefix="vwbench-")), env={
        "VIWORKS_CONTAINERS_ENABLED": "true", "VIWORKS_CONTAINERS_SOCKET": docker.socket, "VIWORKS_CONTAINERS_AGENT_ID": agent_id,
        "VIWORKS_AGENT_INTERVAL": "5s",
    })
    try:
        created = 0
        for target in COUNTS:
            while created < target:
                code, body = docker.api("POST", f"/containers/create?name=bench-{created}", {
                    "Image": IMAGE, "Labels": {"io.viworks.agent": agent_id}, "HostConfig": {"Memory": 32 << 20, "CpuShares": 256, "Init": True}})
                assert code == 201, body
                assert docker.api("POST", f"/containers/{body['Id']}/start")[0] == 204
                created += 1
            deadline = time.monotonic() + 120
            while True:
                status = json.loads(agent.get("/api/v1/status").body)
                listed = status["containers"]
                if status["engine"]["status"] == "available" and len(listed) == target and all(c["cpu_percent"] is not None for c in listed):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{len(listed)} of {target} containers listed with a CPU figure after 120 s")
                time.sleep(0.5)
            time.sleep(6)  # one more collection: the first polls below encode a fresh body once, then hit the cache
            p50, p99, size = poll(agent.port)
            print(f"containers={target:3d}  status p50={p50:.2f} ms  p99={p99:.2f} ms  body={size} B  agent RSS={rss_kib(agent.process.pid)} KiB")
    finally:
        agent.stop()
        docker.stop()


if __name__ == "__main__":
    main()
