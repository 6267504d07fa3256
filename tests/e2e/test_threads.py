"""The agent's thread count stays small after load, whatever the host: Swift concurrency's default executor is NIO's
one event loop (not libdispatch's pool of one thread per CPU) and NIO's loops and blocking pool are pinned."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

from conftest import REQUEST_TIMEOUT, start_agent, wait_for

# main thread, NIO's event loop (every task and the HTTP server), NIO's two blocking threads, and a few Dispatch
# threads of serial queues (the SQLite databases of history and audit) that come and go.
MAX_THREADS = 8
PATHS = ["/api/v1/status", "/metrics", "/api/v1/health", "/api/v1/processes", "/api/v1/services", "/api/v1/metrics/viworks_cpu_usage_percent/history", "/api/v1/alerts"]


def thread_names(pid: int) -> list[str]:
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            continue  # the thread ended in between
    return names


def load(port: int, connections: int = 16, seconds: float = 3.0, minimum: int = 200, limit: float = 120.0) -> int:
    """Keep-alive GETs of the main endpoints on `connections` connections at once for `seconds`, and on until `minimum`
    requests are answered in all (a loaded machine answers fewer a second), for `limit` s at most."""
    done = []
    answered = [0]
    lock = threading.Lock()

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < limit and (time.monotonic() - started < seconds or answered[0] < minimum):
            connection.request("GET", PATHS[(index + count) % len(PATHS)])
            response = connection.getresponse()
            response.read()
            assert response.status in (200, 404), (PATHS[(index + count) % len(PATHS)], response.status)
            count += 1
            with lock:
                answered[0] += 1
        connection.close()
        done.append(count)

    workers = [threading.Thread(target=worker, args=(index,)) for index in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return sum(done)


def test_threads_bounded_after_load(tmp_path):
    # A 1 s interval: every collector (processes, services, history, alerts, audit…) runs during the load.
    agent = start_agent(tmp_path, env={"VIWORKS_AGENT_INTERVAL": "1s"})
    try:
        agent.wait_collections(2)
        requests = load(agent.port)
        assert requests > 100
        names = thread_names(agent.process.pid)
        # libdispatch names the workers of its global concurrent queue, which served Swift tasks before, after the
        # queue (`com.apple.root.default-qos`, cut to the last 15 bytes); no Swift task runs there any more.
        assert not [name for name in names if name == "oot.default-qos"], sorted(names)
        # The serial queues' workers (`-qos.overcommit`) come and go: libdispatch ends each after about 5 s idle, and a
        # 1 s interval starts some at every collection, up to ten threads at a moment. What stays is bounded.
        seen = {}

        def bounded() -> bool:
            seen["names"] = sorted(thread_names(agent.process.pid))
            return len(seen["names"]) <= MAX_THREADS

        try:
            wait_for(bounded, what=f"at most {MAX_THREADS} threads after {requests} requests")
        except AssertionError as error:
            raise AssertionError(f"{error}; threads: {seen['names']}") from None
    finally:
        agent.stop()
