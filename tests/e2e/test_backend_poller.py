"""The pull path: examples/backend/poller.py against the real agent binary and a real PostgreSQL 15.

A throw-away cluster (Debian's postgresql package, `make deps`) runs on a free loopback port for this module. The agent
runs on the captured fixture host with a one-hour interval, so its status stays the same collection while the test
compares: every row the poller writes must equal what /api/v1/status reports, in the specification's schema.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from conftest import EXIT_TIMEOUT, REPO_ROOT, copy_host_tree, fixture_host_args, fixture_host_dir, free_port, run_cli, start_agent, wait_for
from postgres_server import SPEC_COLUMNS, rows, table_columns

import psycopg  # noqa: E402  (make test-deps installs it from PyPI)

POLLER = REPO_ROOT / "examples/backend/poller.py"


def poll(database: str, agent_url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(POLLER), "--database", database, "--agent", agent_url, "--once", *extra],
                          capture_output=True, text=True, timeout=60)


def two_places(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def naive_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture(scope="module")
def fixture_agent(tmp_path_factory):
    """The agent on the fixture host behind a viewer API key; one collection, then nothing new for an hour."""
    workdir = tmp_path_factory.mktemp("poller-agent")
    root = copy_host_tree(fixture_host_dir(), workdir / "host")
    keys = workdir / "keys"
    result = run_cli("keys", "create", "--role", "viewer", "--name", "backend", "--file", str(keys))
    assert result.returncode == 0, result.stderr
    key_file = workdir / "backend.key"
    key_file.write_text(result.stdout)
    agent = start_agent(workdir, *fixture_host_args(root),
                        env={"VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_AGENT_INTERVAL": "3600"})
    try:
        key = result.stdout.strip()
        deadline = time.monotonic() + 60
        while True:
            status = agent.get("/api/v1/status", {"Authorization": f"Bearer {key}"}).json()
            if status["collectors"] and all(c["collections"] >= 2 for c in status["collectors"]):
                break
            assert time.monotonic() < deadline, status["collectors"]
            time.sleep(0.1)
        yield {"agent": agent, "key": key, "key_file": key_file, "url": f"http://127.0.0.1:{agent.port}"}
    finally:
        agent.stop()


def current_status(fixture_agent) -> dict:
    return fixture_agent["agent"].get("/api/v1/status", {"Authorization": f"Bearer {fixture_agent['key']}"}).json()


def test_the_poller_writes_what_the_status_reports_in_the_specifications_schema(postgres, fixture_agent, tmp_path):
    database = postgres.fresh_database("pull")
    result = poll(database, f"web-1={fixture_agent['url']}", "--api-key-file", str(fixture_agent["key_file"]), "--extended")
    assert result.returncode == 0, result.stderr
    status = current_status(fixture_agent)
    at = naive_utc(status["timestamp"])

    # The tables are the specification's, column for column.
    for table, columns in SPEC_COLUMNS.items():
        assert table_columns(database, table) == columns, table

    health = status["system_health"]
    load = health["load_average"]
    assert rows(database, "SELECT agent_id, timestamp, cpu_usage, memory_usage, load_average_1m, load_average_5m, load_average_15m,"
                          " uptime_seconds FROM agent_metrics") == [
        ("web-1", at, two_places(health["cpu_usage_percent"]), two_places(health["memory_usage_percent"]),
         two_places(load["one_minute"]), two_places(load["five_minutes"]), two_places(load["fifteen_minutes"]), health["uptime_seconds"]),
    ]
    # Hand-checked against the fixture host: /proc/loadavg "0.45 0.71 0.33 1/81 8628"; meminfo MemTotal 24684092 kB,
    # MemAvailable 24278908 kB: 1 - 24278908/24684092 = 1.6415 % -> 1.64.
    assert rows(database, "SELECT load_average_1m, load_average_5m, load_average_15m, memory_usage FROM agent_metrics") == [
        (Decimal("0.45"), Decimal("0.71"), Decimal("0.33"), Decimal("1.64"))]

    services = sorted((s["name"], s["status"], s["pid"]) for s in status["services"])
    assert services, "the fixture host tracks the default services"
    assert rows(database, "SELECT service_name, status, pid FROM service_status WHERE agent_id = 'web-1' AND timestamp = "
                          f"'{at.isoformat()}' ORDER BY service_name") == services
    assert rows(database, "SELECT count(*) FROM container_sessions") == [(0,)]
    inventory = rows(database, "SELECT agent_id, timestamp, system_info FROM agent_inventory")
    assert inventory == [("web-1", at, status["system_info"])]

    # The same collection polled again by a new poller: written again, stored once.
    again = poll(database, f"web-1={fixture_agent['url']}", "--api-key-file", str(fixture_agent["key_file"]), "--extended")
    assert again.returncode == 0, again.stderr
    for tier in ("metrics", "services", "inventory"):
        assert f"web-1 {tier}: collection of {status['timestamp']}, 0 new rows" in again.stderr, again.stderr
    assert rows(database, "SELECT count(*) FROM agent_metrics") == [(1,)]
    assert rows(database, "SELECT count(*) FROM service_status") == [(len(services),)]

    # A running poller sends the ETag of its last answer: an unchanged collection is a 304 and costs nothing.
    log = tmp_path / "poller.log"
    with open(log, "w") as stderr_file:
        running = subprocess.Popen(
            [sys.executable, str(POLLER), "--database", database, "--agent", f"web-1={fixture_agent['url']}",
             "--api-key-file", str(fixture_agent["key_file"]), "--metrics-every", "1", "--services-every", "1"],
            stdout=subprocess.DEVNULL, stderr=stderr_file, text=True)
    try:
        wait_for(lambda: log.read_text().count("web-1 metrics: not modified") >= 2 and log.read_text().count("web-1 services: not modified") >= 2,
                 timeout=60, what="two unchanged polls of each")
    finally:
        running.terminate()
        running.wait(timeout=EXIT_TIMEOUT)
    stderr = log.read_text()
    assert f"web-1 metrics: collection of {status['timestamp']}, 0 new rows" in stderr, stderr
    assert stderr.count("web-1 metrics: not modified") >= 2, stderr
    assert stderr.count("web-1 services: not modified") >= 2, stderr
    assert "Traceback" not in stderr
    assert rows(database, "SELECT count(*) FROM agent_metrics") == [(1,)]


def test_an_agent_without_an_id_is_named_by_its_hostname(postgres, fixture_agent):
    database = postgres.fresh_database("hostname")
    result = poll(database, fixture_agent["url"], "--api-key-file", str(fixture_agent["key_file"]))
    assert result.returncode == 0, result.stderr
    hostname = current_status(fixture_agent)["system_info"]["system"]["hostname"]
    assert rows(database, "SELECT DISTINCT agent_id FROM agent_metrics") == [(hostname,)]
    assert rows(database, "SELECT DISTINCT agent_id FROM service_status") == [(hostname,)]


def test_tables_made_by_hand_with_an_extra_column_are_kept_and_still_written_once(postgres, fixture_agent):
    database = postgres.fresh_database("byhand")
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("""CREATE TABLE agent_metrics (id SERIAL PRIMARY KEY, agent_id VARCHAR(50), timestamp TIMESTAMP,
            cpu_usage DECIMAL(5,2), memory_usage DECIMAL(5,2), load_average_1m DECIMAL(5,2), load_average_5m DECIMAL(5,2),
            load_average_15m DECIMAL(5,2), uptime_seconds BIGINT, region TEXT DEFAULT 'eu-west')""")
    for _ in range(2):
        result = poll(database, f"db-1={fixture_agent['url']}", "--api-key-file", str(fixture_agent["key_file"]))
        assert result.returncode == 0, result.stderr
    assert rows(database, "SELECT agent_id, region FROM agent_metrics") == [("db-1", "eu-west")]


def test_a_wrong_key_or_a_missing_database_is_a_clear_error_and_no_rows(postgres, fixture_agent, tmp_path):
    database = postgres.fresh_database("refused")
    wrong = tmp_path / "wrong.key"
    wrong.write_text("vwk_" + "0" * 32 + "_" + "0" * 64 + "\n")
    result = poll(database, f"web-2={fixture_agent['url']}", "--api-key-file", str(wrong))
    assert result.returncode == 1
    assert "web-2: GET /api/v1/status: 401" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert rows(database, "SELECT count(*) FROM agent_metrics") == [(0,)]

    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres?connect_timeout=2"
    result = poll(nowhere, f"web-2={fixture_agent['url']}", "--api-key-file", str(fixture_agent["key_file"]))
    assert result.returncode == 1
    assert "database:" in result.stderr and "Traceback" not in result.stderr, result.stderr
