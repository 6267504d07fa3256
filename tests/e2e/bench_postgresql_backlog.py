"""Measurement, not a test: the real agent with a 24 h backlog in its outbox (2,880 collections at 30 s, 1 agent_metrics
+ 8 service_status rows each = 25,920 rows) while PostgreSQL is away, then the time it takes to drain it once the
database answers, and the agent's RSS meanwhile.

    VIWORKS_AGENT_BIN=.build/debug/viworks-agent python3 tests/e2e/bench_postgresql_backlog.py
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import copy_host_tree, fixture_host_args, fixture_host_dir, start_agent  # noqa: E402
from postgres_server import PostgresServer, rows  # noqa: E402

COLLECTIONS = 2880
SERVICES = 8


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fill_outbox(state: Path) -> None:
    """Waiting rows of the last 24 h, written as the agent writes them (its migration runs first: the agent is started
    once against no database and stopped before this)."""
    connection = sqlite3.connect(state / "outbox.db")
    now_us = int(time.time() * 1_000_000)
    start = now_us - COLLECTIONS * 30_000_000
    with connection:
        connection.execute("DELETE FROM outbox")
        for index in range(COLLECTIONS):
            at = start + index * 30_000_000
            connection.execute("INSERT INTO outbox (target, collected_at, cpu_usage, memory_usage, load_average_1m, load_average_5m,"
                               " load_average_15m, uptime_seconds) VALUES ('agent_metrics', ?, '12.34', '45.67', '0.45', '0.71', '0.33', ?)",
                               (at, 86_400 + index * 30))
            connection.executemany("INSERT INTO outbox (target, collected_at, service_name, status, pid) VALUES ('service_status', ?, ?, 'running', ?)",
                                   [(at, f"service-{n}", 1000 + n) for n in range(SERVICES)])
    connection.close()


def main() -> None:
    postgres = PostgresServer()
    workdir = Path(tempfile.mkdtemp(prefix="viworks-backlog-"))
    root = copy_host_tree(fixture_host_dir(), workdir / "host")
    env = {"VIWORKS_OUTPUTS_POSTGRESQL_ENABLED": "true", "VIWORKS_OUTPUTS_POSTGRESQL_PORT": str(postgres.port),
           "VIWORKS_OUTPUTS_POSTGRESQL_DATABASE": "backlog", "VIWORKS_OUTPUTS_POSTGRESQL_AGENT_ID": "backlog-1",
           "VIWORKS_OUTPUTS_POSTGRESQL_INTERVAL": "1s", "VIWORKS_OUTPUTS_POSTGRESQL_TIMEOUT": "2s", "VIWORKS_AGENT_INTERVAL": "3600"}
    try:
        agent = start_agent(workdir, *fixture_host_args(root), env=env)
        agent.wait_collections(2)
        idle = rss_kib(agent.process.pid)
        agent.stop()
        fill_outbox(workdir / "state")
        agent = start_agent(workdir, *fixture_host_args(root), env=env)
        agent.wait_collections(2)
        time.sleep(3)
        backlog = agent.get_json("/api/v1/status")["outputs"][0]
        with_backlog = rss_kib(agent.process.pid)
        postgres.start()
        postgres.fresh_database("backlog")
        began = time.monotonic()
        cpu_before = sum(int(x) for x in Path(f"/proc/{agent.process.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
        while True:
            state = agent.get_json("/api/v1/status")["outputs"][0]
            if state["status"] == "ok" and state["backlog_rows"] == 0:
                break
            time.sleep(0.05)
        drained = time.monotonic() - began
        cpu_after = sum(int(x) for x in Path(f"/proc/{agent.process.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
        after = rss_kib(agent.process.pid)
        stored = rows(postgres.database_url("backlog"), "SELECT (SELECT count(*) FROM agent_metrics), (SELECT count(*) FROM service_status)")[0]
        agent.stop()
        print(f"backlog before the database came back: {backlog['backlog_rows']} rows, oldest {backlog['oldest_backlog_at']}")
        print(f"RSS: {idle} KiB idle (no backlog), {with_backlog} KiB with the 24 h backlog waiting, {after} KiB after draining it")
        print(f"drain: {drained:.1f} s from the database's start until backlog 0 (includes reconnect backoff); agent CPU {(cpu_after - cpu_before) / 100:.2f} s;"
              f" stored {stored[0]} agent_metrics + {stored[1]} service_status rows")
    finally:
        postgres.close()


if __name__ == "__main__":
    main()
