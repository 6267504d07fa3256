"""The push path: `[outputs.postgresql]` of the real agent binary against a real PostgreSQL 15 (postgres_server.py).

The agent replays the captured fixture host. Every test reads the outbox (`<state>/outbox.db`, SQLite) and the
database and compares them row for row: every collection the outbox stored is in the database exactly once, in
collection order, through outages of the database and `kill -9` of the agent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from conftest import EXIT_TIMEOUT, REPO_ROOT, copy_host_tree, fixture_host_args, fixture_host_dir, free_port, run_cli, start_agent, wait_for
from docker_fixture import private_docker  # noqa: F401 (fixture)
from postgres_server import SPEC_COLUMNS, rows, table_columns

POLLER = REPO_ROOT / "examples/backend/poller.py"
EPOCH = datetime(1970, 1, 1)


def two_places(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def naive_utc_truncated(text: str) -> datetime:
    """An agent time (nine fractional digits) as PostgreSQL's TIMESTAMP keeps it: microseconds, truncated."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def push_env(postgres, database: str, **overrides: str) -> dict[str, str]:
    env = {
        "VIWORKS_OUTPUTS_POSTGRESQL_ENABLED": "true",
        "VIWORKS_OUTPUTS_POSTGRESQL_HOST": "127.0.0.1",
        "VIWORKS_OUTPUTS_POSTGRESQL_PORT": str(postgres.port),
        "VIWORKS_OUTPUTS_POSTGRESQL_DATABASE": database,
        "VIWORKS_OUTPUTS_POSTGRESQL_USER": "postgres",
        "VIWORKS_OUTPUTS_POSTGRESQL_INTERVAL": "500ms",
        "VIWORKS_OUTPUTS_POSTGRESQL_TIMEOUT": "10s",
        "VIWORKS_AGENT_INTERVAL": "1s",
    }
    env.update({f"VIWORKS_OUTPUTS_POSTGRESQL_{key.upper()}": value for key, value in overrides.items() if key != "agent_interval"})
    if "agent_interval" in overrides:
        env["VIWORKS_AGENT_INTERVAL"] = overrides["agent_interval"]
    return env


def start_pushing(workdir: Path, postgres, database: str, **overrides: str):
    root = workdir / "host"
    if not root.exists():
        copy_host_tree(fixture_host_dir(), root)
    return start_agent(workdir, *fixture_host_args(root), env=push_env(postgres, database, **overrides))


def output(agent) -> dict:
    outputs = agent.get_json("/api/v1/status")["outputs"]
    assert [o["name"] for o in outputs] == ["postgresql"]
    return outputs[0]


def wait_drained(agent, timeout: float = 120) -> dict:
    def drained():
        state = output(agent)
        return state if state["status"] == "ok" and state["backlog_rows"] == 0 and state["last_success_at"] else None
    return wait_for(drained, timeout, "the outbox drains")


def outbox(workdir: Path) -> dict[str, dict]:
    """The outbox's rows by table (agent_metrics as timestamps, service_status as (timestamp, name)), each split into
    delivered and waiting."""
    connection = sqlite3.connect(f"file:{workdir / 'state' / 'outbox.db'}?mode=ro", uri=True)
    try:
        result = {table: {"delivered": [], "waiting": []} for table in ("agent_metrics", "service_status")}
        for target, collected_at, name, delivered in connection.execute(
                "SELECT target, collected_at, service_name, delivered_at FROM outbox ORDER BY seq"):
            at = EPOCH + timedelta(microseconds=collected_at)
            result[target]["waiting" if delivered is None else "delivered"].append(at if target == "agent_metrics" else (at, name))
        return result
    finally:
        connection.close()


def metric(agent, name: str) -> float:
    text = agent.get("/metrics").body.decode()
    match = re.search(rf'^{name}\{{output="postgresql"\}} (\S+)$', text, re.MULTILINE)
    assert match, f"{name} is not on /metrics"
    return float(match.group(1))


def assert_database_equals_outbox(database: str, workdir: Path, agent_id: str) -> dict:
    """Every row the outbox delivered is in the database exactly once; the database holds nothing else but rows still
    waiting (at most the one collection the agent stored while it stopped, sent at its next start); ids grow with
    collection time."""
    box = outbox(workdir)
    metrics, services = box["agent_metrics"], box["service_status"]
    assert len(metrics["waiting"]) <= 1, metrics["waiting"]
    stored = [at for (at,) in rows(database, f"SELECT timestamp FROM agent_metrics WHERE agent_id = '{agent_id}' ORDER BY id")]
    assert len(stored) == len(set(stored)), "an agent_metrics row is stored twice"
    assert stored == sorted(stored), "ids do not follow collection time"
    assert set(metrics["delivered"]) <= set(stored), "a delivered agent_metrics row is missing"
    assert set(stored) <= set(metrics["delivered"] + metrics["waiting"]), "agent_metrics has a row the outbox never had"
    stored_services = rows(database, f"SELECT timestamp, service_name FROM service_status WHERE agent_id = '{agent_id}' ORDER BY id")
    assert len(stored_services) == len(set(stored_services)), "a service_status row is stored twice"
    assert set(services["delivered"]) <= set(stored_services), "a delivered service_status row is missing"
    assert set(stored_services) <= set(services["delivered"] + services["waiting"]), "service_status has a row the outbox never had"
    return box


@pytest.fixture
def workdir(tmp_path):
    return tmp_path / "agent"


def test_rows_equal_the_status_of_the_same_collection_and_the_pollers(postgres, workdir):
    database = postgres.fresh_database("push_equal")
    # One collection (and the priming one 1 s later), then nothing new for an hour: status stays put while we compare.
    agent = start_pushing(workdir, postgres, database.rsplit("/", 1)[1], agent_interval="3600", agent_id="")
    try:
        agent.wait_collections(2)
        status = agent.get_json("/api/v1/status")
        at = naive_utc_truncated(status["timestamp"])
        # The collection is complete once the bus was quiet for the settle time (1 s here); then it is pushed.
        wait_for(lambda: rows(database, f"SELECT 1 FROM agent_metrics WHERE timestamp = '{at.isoformat()}'"), 60, "the collection is pushed")
        wait_drained(agent)
        assert agent.get_json("/api/v1/status")["timestamp"] == status["timestamp"]

        # The id: derived from the fixture's /etc/machine-id, shown in /api/v1/system.
        machine_id = (fixture_host_dir() / "etc/machine-id").read_text().strip()
        agent_id = hmac.new(machine_id.encode(), b"viworks-agent", hashlib.sha256).hexdigest()[:32]
        assert agent.get_json("/api/v1/system")["system"]["agent_id"] == agent_id
        assert status["system_info"]["system"]["agent_id"] == agent_id

        for table, columns in SPEC_COLUMNS.items():
            assert table_columns(database, table) == columns, table

        health = status["system_health"]
        load = health["load_average"]
        assert rows(database, "SELECT agent_id, cpu_usage, memory_usage, load_average_1m, load_average_5m, load_average_15m, uptime_seconds"
                              f" FROM agent_metrics WHERE timestamp = '{at.isoformat()}'") == [
            (agent_id, two_places(health["cpu_usage_percent"]), two_places(health["memory_usage_percent"]),
             two_places(load["one_minute"]), two_places(load["five_minutes"]), two_places(load["fifteen_minutes"]), health["uptime_seconds"]),
        ]
        # Hand-checked against the fixture host: /proc/loadavg "0.45 0.71 0.33 1/81 8628"; memory 1.6415 % -> 1.64.
        assert rows(database, f"SELECT load_average_1m, load_average_5m, load_average_15m, memory_usage FROM agent_metrics"
                              f" WHERE timestamp = '{at.isoformat()}'") == [(Decimal("0.45"), Decimal("0.71"), Decimal("0.33"), Decimal("1.64"))]
        services = sorted((s["name"], s["status"], s["pid"]) for s in status["services"])
        assert services, "the fixture host tracks the default services"
        assert rows(database, f"SELECT service_name, status, pid FROM service_status WHERE timestamp = '{at.isoformat()}'"
                              " ORDER BY service_name") == services

        # Everything the outbox holds is in the database once; /metrics counted what was sent.
        box = assert_database_equals_outbox(database, workdir, agent_id)
        assert box["agent_metrics"]["waiting"] == [] and len(box["agent_metrics"]["delivered"]) == 2
        assert metric(agent, "viworks_output_rows_sent_total") == 2 + len(box["service_status"]["delivered"])
        assert metric(agent, "viworks_output_backlog_rows") == 0
        assert metric(agent, "viworks_output_up") == 1
        assert agent.get_json("/api/v1/status-simple")["reasons"] == [] or all(
            "output" not in reason for reason in agent.get_json("/api/v1/status-simple")["reasons"])

        # The example poller, pulling the same collection into another database, writes the same rows.
        pulled = postgres.fresh_database("pull_equal")
        result = subprocess.run([sys.executable, str(POLLER), "--database", pulled, "--agent", f"{agent_id}=http://127.0.0.1:{agent.port}",
                                 "--once"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        metrics_columns = "agent_id, timestamp, cpu_usage, memory_usage, load_average_1m, load_average_5m, load_average_15m, uptime_seconds"
        assert rows(pulled, f"SELECT {metrics_columns} FROM agent_metrics") == rows(
            database, f"SELECT {metrics_columns} FROM agent_metrics WHERE timestamp = '{at.isoformat()}'")
        service_columns = "agent_id, timestamp, service_name, status, pid"
        assert rows(pulled, f"SELECT {service_columns} FROM service_status ORDER BY service_name") == rows(
            database, f"SELECT {service_columns} FROM service_status WHERE timestamp = '{at.isoformat()}' ORDER BY service_name")
    finally:
        agent.stop()


OUTAGE_SECONDS = 120


def test_an_outage_of_the_database_loses_nothing_and_doubles_nothing(postgres, workdir):
    """PostgreSQL stopped for 2 minutes at a 1 s interval (several failed attempts with backoff up to its 30 s cap and a
    new pool each time): every row of the outage arrives once, in order."""
    database = postgres.fresh_database("push_outage")
    agent = start_pushing(workdir, postgres, "push_outage", agent_id="outage-1")
    try:
        wait_drained(agent)
        postgres.stop()
        stopped = datetime.utcnow()
        try:
            failing = wait_for(lambda: (s := output(agent))["status"] == "failing" and s, 60, "the output is failing")
            assert failing["backlog_rows"] > 0 and failing["oldest_backlog_at"]
            assert failing["last_error"], failing
            simple = agent.get_json("/api/v1/status-simple")
            assert simple["status"] == "degraded", simple
            assert any(reason.startswith("output postgresql failing: ") for reason in simple["reasons"]), simple
            assert agent.get("/api/v1/health").status == 200
            time.sleep(max(0.0, OUTAGE_SECONDS - (datetime.utcnow() - stopped).total_seconds()))
        finally:
            postgres.start()
        restarted = datetime.utcnow()
        wait_drained(agent)
        assert metric(agent, "viworks_output_retries_total") >= 3
    finally:
        agent.stop()
    box = assert_database_equals_outbox(database, workdir, "outage-1")
    during = [at for at in box["agent_metrics"]["delivered"] if stopped < at < restarted]
    assert len(during) >= OUTAGE_SECONDS - 10, f"only {len(during)} collections during the {OUTAGE_SECONDS} s outage"


def test_kill_9_in_the_middle_of_pushes_loses_and_doubles_nothing(postgres, workdir):
    """20 times: start the agent (collecting every 250 ms, pushing batches of 3 rows every 100 ms) and kill -9 it at a
    random moment; then let one agent drain and compare the outbox with the database."""
    database = postgres.fresh_database("push_kill")
    random.seed(16)
    settings = {"agent_id": "kill-1", "agent_interval": "250ms", "interval": "100ms", "batch_size": "3"}
    for _ in range(20):
        agent = start_pushing(workdir, postgres, "push_kill", **settings)
        time.sleep(random.uniform(0.3, 1.5))
        agent.process.kill()
        agent.process.wait(timeout=EXIT_TIMEOUT)
    agent = start_pushing(workdir, postgres, "push_kill", **settings)
    try:
        time.sleep(1)
        wait_drained(agent)
        agent.process.terminate()
        agent.process.wait(timeout=EXIT_TIMEOUT)
    finally:
        agent.stop()
    box = assert_database_equals_outbox(database, workdir, "kill-1")
    assert len(box["agent_metrics"]["delivered"]) >= 30


def test_a_wrong_password_is_a_clear_error_that_is_retried_without_harm(postgres, workdir, tmp_path):
    postgres.require_password("pusher", "right-password")
    database = postgres.fresh_database("push_auth")
    password = tmp_path / "password"
    password.write_text("wrong-password\n")
    agent = start_pushing(workdir, postgres, "push_auth", user="pusher", password_file=str(password), agent_id="auth-1")
    try:
        failing = wait_for(lambda: (s := output(agent))["status"] == "failing" and s, 60, "the output is failing")
        assert 'password authentication failed for user "pusher"' in failing["last_error"], failing
        assert "SQLSTATE 28P01" in failing["last_error"], failing
        assert agent.get("/api/v1/health").status == 200
        simple = agent.get_json("/api/v1/status-simple")
        assert f"output postgresql failing: {failing['last_error']}" in simple["reasons"], simple
        assert metric(agent, "viworks_output_up") == 0
        assert metric(agent, "viworks_output_retries_total") >= 3
        log = agent.log()
        assert "outputs.postgresql: push failed, retrying" in log and "password authentication failed" in log, log[-2000:]
        assert agent.process.poll() is None

        # The password file is read at each new connection: fixing it is enough.
        password.write_text("right-password\n")
        wait_drained(agent)
        assert rows(database, "SELECT count(*) FROM agent_metrics WHERE agent_id = 'auth-1'")[0][0] >= 3
    finally:
        agent.stop()
    assert_database_equals_outbox(database, workdir, "auth-1")


def test_tables_made_by_hand_are_kept_and_a_missing_key_is_named_with_its_statement(postgres, workdir):
    database = postgres.fresh_database("push_byhand")
    import psycopg
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("""CREATE TABLE agent_metrics (id SERIAL PRIMARY KEY, agent_id VARCHAR(50), timestamp TIMESTAMP,
            cpu_usage DECIMAL(5,2), memory_usage DECIMAL(5,2), load_average_1m DECIMAL(5,2), load_average_5m DECIMAL(5,2),
            load_average_15m DECIMAL(5,2), uptime_seconds BIGINT, region TEXT DEFAULT 'eu-west')""")
        # Rows already doubled: the unique key cannot be added, the agent must say so (and still push).
        connection.execute("""CREATE TABLE service_status (id SERIAL PRIMARY KEY, agent_id VARCHAR(50), timestamp TIMESTAMP,
            service_name VARCHAR(100), status VARCHAR(20), pid INTEGER)""")
        connection.execute("INSERT INTO service_status (agent_id, timestamp, service_name) VALUES ('old', '2020-01-01', 'x'), ('old', '2020-01-01', 'x')")
    agent = start_pushing(workdir, postgres, "push_byhand", agent_id="byhand-1")
    try:
        wait_drained(agent)
        time.sleep(1.5)
        wait_drained(agent)
        log = agent.log()
        assert ("table service_status has no unique key on the agent's columns: a retried push can store a row twice."
                " Its owner adds the key with: CREATE UNIQUE INDEX service_status_agent_id_timestamp_service_name_key"
                " ON service_status (agent_id, timestamp, service_name);") in log, log[-3000:]
        assert "table agent_metrics has no unique key" not in log
    finally:
        agent.stop()
    assert rows(database, "SELECT DISTINCT region FROM agent_metrics") == [("eu-west",)]
    assert_database_equals_outbox(database, workdir, "byhand-1")


def test_the_backlog_limit_drops_the_oldest_rows_and_counts_them(workdir):
    """No database at all: the outbox keeps the newest 20 rows, drops the rest oldest first, counts and logs once."""

    class Nowhere:
        port = free_port()

    agent = start_pushing(workdir, Nowhere, "nowhere", agent_id="full-1", agent_interval="200ms", max_backlog_rows="20", timeout="1s")
    try:
        wait_for(lambda: metric(agent, "viworks_output_dropped_rows_total") >= 100, 120, "rows are dropped")
        state = output(agent)
        newest = datetime.fromisoformat(agent.get_json("/api/v1/status")["timestamp"]).astimezone(timezone.utc).replace(tzinfo=None)
        started = datetime.utcnow() - timedelta(seconds=agent.get_json("/api/v1/health")["agent_uptime_seconds"])
        assert state["backlog_rows"] == 20, state
        assert state["status"] in ("retrying", "failing") and state["last_success_at"] is None, state
        assert "Connection refused" in state["last_error"] or "connection refused" in state["last_error"].lower(), state
        box = outbox(workdir)
        assert box["agent_metrics"]["delivered"] == [] and box["service_status"]["delivered"] == []
        assert len(box["agent_metrics"]["waiting"]) + len(box["service_status"]["waiting"]) == 20
        # The newest rows are kept: the oldest waiting collection is recent, counted in the agent's own collections
        # (the 20 kept rows are a fraction of the 120 and more made since the start; had the first rows been kept, it
        # would be as old as the agent).
        oldest = datetime.fromisoformat(state["oldest_backlog_at"]).astimezone(timezone.utc).replace(tzinfo=None)
        assert (newest - oldest) < (newest - started) / 2, (state, newest, started)
        dropped = metric(agent, "viworks_output_dropped_rows_total")
        assert agent.log().count("the outbox is full, the oldest rows are dropped") == 1
        assert agent.get("/api/v1/health").status == 200
    finally:
        agent.stop()
    assert dropped >= 100


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_verify_full_against_a_test_ca_and_refused_with_a_wrong_one(postgres, workdir, tmp_path):
    ca, ca_key = make_ca(tmp_path, "test-ca")
    wrong_ca, _ = make_ca(tmp_path, "wrong-ca")
    key, request, cert = tmp_path / "server.key", tmp_path / "server.csr", tmp_path / "server.pem"
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request), "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
                    "-days", "2", "-extfile", str(tmp_path / "san.ext")], check=True, capture_output=True, timeout=60)
    postgres.enable_tls(cert, key)
    database = postgres.fresh_database("push_tls")

    agent = start_pushing(workdir, postgres, "push_tls", host="localhost", tls="verify-full", ca_file=str(ca), agent_id="tls-1",
                          application_name="viworks-tls-test")
    try:
        wait_drained(agent)
        # The pool's connection is still open: the server says it is encrypted.
        assert rows(database, "SELECT DISTINCT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
                              " WHERE a.application_name = 'viworks-tls-test'") == [(True,)]
    finally:
        agent.stop()
    assert_database_equals_outbox(database, workdir, "tls-1")

    refused = start_pushing(tmp_path / "refused", postgres, "push_tls", host="localhost", tls="verify-full", ca_file=str(wrong_ca),
                            agent_id="tls-2")
    try:
        failing = wait_for(lambda: (s := output(refused))["status"] == "failing" and s, 60, "the output is failing")
        assert "CERTIFICATE_VERIFY_FAILED" in failing["last_error"], failing
        assert refused.get("/api/v1/health").status == 200
    finally:
        refused.stop()
    assert rows(database, "SELECT count(*) FROM agent_metrics WHERE agent_id = 'tls-2'") == [(0,)]


def test_extended_pushes_filesystems_and_network_totals_as_the_status_reports_them(postgres, workdir):
    database = postgres.fresh_database("push_extended")
    agent = start_pushing(workdir, postgres, "push_extended", agent_interval="3600", agent_id="ext-1", extended="true")
    try:
        agent.wait_collections(2)
        status = agent.get_json("/api/v1/status")
        at = naive_utc_truncated(status["timestamp"])
        wait_for(lambda: rows(database, f"SELECT 1 FROM agent_network WHERE timestamp = '{at.isoformat()}'"), 60, "the collection is pushed")
        wait_drained(agent)
    finally:
        agent.stop()
    disks = sorted((d["mount_point"], d["fs_type"], d["total_bytes"], d["used_bytes"], d["available_bytes"], two_places(d["usage_percent"]))
                   for d in status["system_info"]["disks"] if not d["stale"])
    assert disks, "the fixture host reports filesystems"
    assert rows(database, "SELECT mount_point, fs_type, total_bytes, used_bytes, available_bytes, usage_percent FROM agent_filesystems"
                          f" WHERE agent_id = 'ext-1' AND timestamp = '{at.isoformat()}' ORDER BY mount_point") == disks
    network = status["system_info"]["network"]
    assert rows(database, f"SELECT bytes_sent, bytes_received FROM agent_network WHERE agent_id = 'ext-1' AND timestamp = '{at.isoformat()}'") == [
        (network["bytes_sent"], network["bytes_received"])]
    # Two collections (start and the priming one 1 s later), each once.
    assert rows(database, "SELECT count(*), count(DISTINCT timestamp) FROM agent_network") == [(2, 2)]


def test_every_change_of_a_container_session_upserts_its_row(postgres, private_docker, tmp_path):  # noqa: F811
    """A session created, stopped and deleted through the API on a private dockerd: one container_sessions row, updated
    at each change (status, stopped_at), as the session API reports it."""
    from test_sessions import free_port_range, write_config

    database = postgres.fresh_database("push_sessions")
    keys = tmp_path / "api-keys"
    created = run_cli("keys", "create", "--role", "operator", "--name", "e2e-operator", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    operator = {"X-API-Key": created.stdout.strip(), "Content-Type": "application/json"}
    workdir = tmp_path / "agent"
    workdir.mkdir()
    config = write_config(workdir / "agent.toml", private_docker.socket, f"e2e-{secrets.token_hex(4)}", free_port_range(4))
    env = {**push_env(postgres, "push_sessions", agent_id="sessions-1"), "VIWORKS_AUTH_API_KEY_FILE": str(keys),
           "VIWORKS_SERVICES_SYSTEMD": "off"}
    agent = start_agent(workdir, "--config", str(config), env=env)
    try:
        wait_for(lambda: json.loads(agent.get("/api/v1/status", operator).body)["engine"]["status"] == "available", 60, "the engine is available")
        response = agent.request("POST", "/api/v1/sessions", headers=operator, body=json.dumps({"username": "alice", "template": "web"}).encode())
        assert response.status == 201, response.body
        session = json.loads(response.body)
        sid = session["session_id"]

        def row():
            found = rows(database, "SELECT agent_id, container_id, username, port, status, created_at, stopped_at FROM container_sessions"
                                   f" WHERE session_id = '{sid}'")
            return found[0] if found else None

        running = wait_for(lambda: (r := row()) and r[4] == "running" and r, 60, "the running session is pushed")
        assert running[:5] == ("sessions-1", session["container_id"], "alice", session["port"], "running")
        assert running[5] == naive_utc_truncated(session["created_at"]) and running[6] is None

        response = agent.request("POST", f"/api/v1/sessions/{sid}/stop", headers=operator)
        assert response.status == 200, response.body
        stopped_session = json.loads(response.body)
        stopped = wait_for(lambda: (r := row()) and r[4] == "stopped" and r, 60, "the stop is pushed")
        assert stopped[6] == naive_utc_truncated(stopped_session["stopped_at"])

        response = agent.request("DELETE", f"/api/v1/sessions/{sid}", headers=operator)
        assert response.status == 200, response.body
        wait_for(lambda: (r := row()) and r[4] == "removed", 60, "the removal is pushed")
        assert rows(database, "SELECT count(*) FROM container_sessions") == [(1,)]
    finally:
        agent.stop()
        for container in private_docker.containers("io.viworks.agent"):
            private_docker.api("DELETE", f"/containers/{container['Id']}?force=1")
