"""Remote operations through the real binary: allowlisted commands, the audit log, journal access, service control
without systemd. (Under a real systemd, service control, auto-recovery and the journal are tested in tests/systemd.)

Every command request here goes through HTTP exactly as a backend would send it. A canary file that a shell would
create if any parameter ever reached one must never appear.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import EXIT_TIMEOUT, REQUEST_TIMEOUT, agent_binary, clean_environment, run_cli, start_agent, wait_for

# Credentials for privileged routes, added in one place (commands need the admin role): an admin key made
# by `keys create` (the admin_key fixture) and sent as X-API-Key; its key file is in AUTH_ENV.
AUTH_HEADERS: dict[str, str] = {}
AUTH_ENV: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def admin_key(tmp_path_factory) -> None:
    keys = tmp_path_factory.mktemp("ops-keys") / "api-keys"
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-ops", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    AUTH_HEADERS["X-API-Key"] = created.stdout.strip()
    AUTH_ENV["VIWORKS_AUTH_API_KEY_FILE"] = str(keys)
    viewer = run_cli("keys", "create", "--role", "viewer", "--name", "e2e-viewer", "--file", str(keys))
    assert viewer.returncode == 0, viewer.stderr
    VIEWER_HEADERS["X-API-Key"] = viewer.stdout.strip()


VIEWER_HEADERS: dict[str, str] = {}


def curl_auth() -> list[str]:
    """AUTH_HEADERS as curl arguments."""
    return [argument for name, value in AUTH_HEADERS.items() for argument in ("-H", f"{name}: {value}")]


def post(agent, path: str, body) -> tuple[int, dict]:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    response = agent.request("POST", path, headers={"Content-Type": "application/json", **AUTH_HEADERS}, body=data)
    return response.status, (json.loads(response.body) if response.body else {})


def get(agent, path: str) -> tuple[int, dict]:
    response = agent.request("GET", path, headers=AUTH_HEADERS)
    return response.status, (json.loads(response.body) if response.body and response.header("content-type", ).startswith("application/json") else {})


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ops-state")


@pytest.fixture(scope="module")
def agent(state, tmp_path_factory):
    config = tmp_path_factory.mktemp("ops-config") / "agent.toml"
    config.write_text(
        """
[commands.sleep]
summary = "sleeps, for tests"
executable = "/bin/sleep"
arguments = ["{seconds}"]
parameters.seconds = "integer:0..600"
timeout = "1s"

[commands.echo]
executable = "/bin/echo"
arguments = ["{text}"]
parameters.text = "text:200"

[commands.closer]
executable = "/bin/sh"
arguments = ["-c", "exec >&- 2>&-; sleep 300"]
timeout = "1s"

[commands.hold]
summary = "sleeps, for the test of the bound on running commands"
executable = "/bin/sleep"
arguments = ["{seconds}"]
parameters.seconds = "integer:0..60"
timeout = "60s"

[commands.flood]
executable = "/usr/bin/head"
arguments = ["-c", "{bytes}", "/dev/zero"]
parameters.bytes = "integer:1..10000000"
max_output_bytes = 4096
"""
    )
    env = {"VIWORKS_AGENT_STATE_DIRECTORY": str(state), "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_COMMANDS_MAX_RUNNING": "3", **AUTH_ENV}
    agent = start_agent(tmp_path_factory.mktemp("ops"), "--config", str(config), env=env)
    yield agent
    agent.stop()


def test_builtin_command_runs_and_is_audited_before_and_after(agent, state) -> None:
    status, body = post(agent, "/api/v1/command", {"command": "df"})
    assert status == 200, body
    assert body["status"] == "completed" and body["exit_code"] == 0 and body["signal"] is None
    assert body["argv"] == ["/usr/bin/df", "-h", "-P"]
    assert body["stdout"].startswith("Filesystem") and body["stdout_truncated"] is False
    status, audit = get(agent, "/api/v1/audit?verify=true")
    assert status == 200
    by_id = {r["id"]: r for r in audit["records"]}
    start, end = by_id[body["audit_id"]], by_id[body["end_audit_id"]]
    assert start["event"] == "command.start" and start["argv"] == ["/usr/bin/df", "-h", "-P"] and start["action"] == "df"
    assert end["event"] == "command.end" and end["start_id"] == start["id"] and end["outcome"] == "ok" and len(end["output_sha256"]) == 64
    assert start["id"] < end["id"] and end["previous_hash"] == by_id[end["id"] - 1]["hash"]
    assert audit["verification"]["intact"] is True


INJECTIONS = [
    "; touch {canary}", "&& touch {canary}", "| touch {canary}", "$(touch {canary})", "`touch {canary}`", "a\ntouch {canary}",
    "-n", "--help", "--", "a\u0000b", "x" * 100_000, "../../../etc/passwd",
]


@pytest.mark.parametrize("template", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injection_attempts_never_reach_a_shell(agent, tmp_path, template) -> None:
    canary = tmp_path / "canary"
    value = template.format(canary=canary)
    for body in (
        {"command": "echo", "parameters": {"text": value}},
        {"command": "service-status", "parameters": {"service": value}},
        {"command": "journal-tail", "parameters": {"service": "nginx", "lines": value}},
        {"command": "sleep", "parameters": {"seconds": value}},
        {"command": value},
    ):
        status, answer = post(agent, "/api/v1/command", body)
        assert status in (400, 404, 413), (body, status, answer)
        # payload_too_large: [limits] max_body_bytes refuses it before the controller's own limit.
        assert answer["error"]["code"] in ("invalid_parameter", "unknown_command", "bad_request", "body_too_large", "payload_too_large"), answer
    assert not canary.exists()


def test_shell_syntax_in_an_allowed_value_stays_a_literal_argument(agent, tmp_path) -> None:
    status, body = post(agent, "/api/v1/command", {"command": "echo", "parameters": {"text": "a,b=c:d@e/f+g"}})
    assert status == 200 and body["stdout"] == "a,b=c:d@e/f+g\n"


def test_unknown_command_and_bad_bodies(agent) -> None:
    status, body = post(agent, "/api/v1/command", {"command": "rm", "parameters": {"path": "/"}})
    assert status == 404 and body["error"]["code"] == "unknown_command"
    status, body = post(agent, "/api/v1/command", b"{not json")
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = post(agent, "/api/v1/command", {"command": "df", "parameters": {"x": {"nested": 1}}})
    assert status == 400
    status, body = post(agent, "/api/v1/command", {"command": "df", "parameters": {"path": "/"}})
    assert status == 400 and "takes none" in body["error"]["message"]
    status, listing = get(agent, "/api/v1/commands")
    assert status == 200
    assert {c["id"] for c in listing["commands"]} >= {"df", "uptime", "service-status", "service-restart", "journal-tail", "sleep", "echo", "flood"}


def test_timeout_kills_and_output_is_capped(agent) -> None:
    status, body = post(agent, "/api/v1/command", {"command": "sleep", "parameters": {"seconds": 300}})
    assert status == 200
    # Killed at its 1 s timeout: well before the 300 s it would sleep.
    assert body["status"] == "timed_out" and body["signal"] == 9 and body["duration_seconds"] < 30
    status, body = post(agent, "/api/v1/command", {"command": "flood", "parameters": {"bytes": 5_000_000}})
    assert status == 200
    assert body["stdout_truncated"] is True and len(body["stdout"]) == 4096 and body["exit_code"] == 0


def test_async_job_answers_202_then_the_result(agent) -> None:
    status, body = post(agent, "/api/v1/command", {"command": "sleep", "parameters": {"seconds": "0"}, "async": True})
    assert status == 202 and body["status"] == "running"
    job = body["job_id"]

    def finished():
        status, result = get(agent, f"/api/v1/command/{job}")
        assert status in (200, 202), (status, result)
        return result if status == 200 else None

    result = wait_for(finished, what=f"job {job} finished")
    assert result["status"] == "completed" and result["exit_code"] == 0 and result["end_audit_id"] > result["audit_id"]
    status, body = get(agent, "/api/v1/command/ffffffffffffffffffffffff")
    assert status == 404


def test_service_control_without_systemd_is_409(agent) -> None:
    for action in ("start", "stop", "restart"):
        status, body = post(agent, f"/api/v1/services/nginx/{action}", {})
        assert status == 409 and body["error"]["code"] == "no_systemd", body


@pytest.mark.parametrize(
    "query,status,code",
    [
        ("unit=../../etc/passwd", 400, "invalid_parameter"),
        ("unit=%2e%2e%2fetc%2fshadow", 400, "invalid_parameter"),
        ("unit=/etc/shadow", 400, "invalid_parameter"),
        ("unit=nginx%00.service", 400, "invalid_parameter"),
        ("unit=cron.service", 403, "unit_not_allowed"),
        # systemd's escapes are a unit name's own characters; a backslash that starts none is not.
        ("unit=systemd-fsck@dev-disk-by%5Cx2duuid-1.service", 403, "unit_not_allowed"),
        ("unit=a%5Cy00.service", 400, "invalid_parameter"),
        ("unit=nginx.", 400, "invalid_parameter"),
        ("unit=" + "u" * 256, 400, "invalid_parameter"),
        ("file=/etc/passwd", 400, "invalid_parameter"),
        ("unit=nginx.service&priority=loud", 400, "invalid_parameter"),
        ("unit=nginx.service&lines=0", 400, "invalid_parameter"),
        ("unit=nginx.service&since=yesterday", 400, "invalid_parameter"),
    ],
)
def test_logs_refuse_anything_that_is_not_an_allowlisted_unit(agent, query, status, code) -> None:
    response = agent.request("GET", f"/api/v1/logs?{query}", headers=AUTH_HEADERS)
    assert response.status == status, (query, response.status, response.body[:300])
    assert json.loads(response.body)["error"]["code"] == code


def test_an_agent_killed_mid_command_leaves_the_start_record(state, tmp_path) -> None:
    """kill -9 the agent while a command runs: the start record was written before the command started."""
    config = tmp_path / "agent.toml"
    config.write_text('[commands.sleep]\nexecutable = "/bin/sleep"\narguments = ["{seconds}"]\nparameters.seconds = "integer:0..600"\ntimeout = "60s"\n')
    own_state = tmp_path / "state"
    agent = start_agent(tmp_path / "agent", "--config", str(config), env={"VIWORKS_AGENT_STATE_DIRECTORY": str(own_state), "VIWORKS_SERVICES_SYSTEMD": "off", **AUTH_ENV})
    try:
        status, body = post(agent, "/api/v1/command", {"command": "sleep", "parameters": {"seconds": 30}, "async": True})
        assert status == 202
        wait_for(lambda: running("/bin/sleep 30"), what="the command running")
        agent.process.send_signal(signal.SIGKILL)
        agent.process.wait(timeout=EXIT_TIMEOUT)
    finally:
        agent.stop()
        # The command runs in its own session: it outlives the killed agent, as designed; end it here.
        subprocess.run(["pkill", "-x", "-f", "/bin/sleep 30"], check=False)
    database = own_state / "audit.sqlite"
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT id, event, action, argv FROM audit_log ORDER BY id").fetchall()
    assert rows == [(1, "command.start", "sleep", '["/bin/sleep","30"]')]
    verify = subprocess.run([str(agent_binary()), "audit", "verify", "--file", str(database)], capture_output=True, text=True, env=clean_environment())
    assert verify.returncode == 0 and "intact: 1 records" in verify.stdout, verify.stdout + verify.stderr
    # Tampering with the kept record is named by the verifier.
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER audit_log_no_update")
        connection.execute("""UPDATE audit_log SET argv = '["/bin/sleep","1"]' WHERE id = 1""")
    verify = subprocess.run([str(agent_binary()), "audit", "verify", "--file", str(database)], capture_output=True, text=True, env=clean_environment())
    assert verify.returncode == 1 and "BROKEN at record 1" in verify.stdout, verify.stdout


def running(command_line: str) -> str:
    """The pids of processes whose whole command line is `command_line` (pgrep), empty when there is none."""
    return subprocess.run(["pgrep", "-x", "-f", command_line], capture_output=True, text=True).stdout


def test_shutdown_cancels_a_running_background_command(state, tmp_path) -> None:
    """SIGTERM while an async command runs: the agent kills it, records its end as cancelled and exits at once."""
    config = tmp_path / "agent.toml"
    config.write_text('[commands.sleep]\nexecutable = "/bin/sleep"\narguments = ["{seconds}"]\nparameters.seconds = "integer:0..600"\ntimeout = "600s"\n')
    own_state = tmp_path / "state"
    agent = start_agent(tmp_path / "agent", "--config", str(config), env={"VIWORKS_AGENT_STATE_DIRECTORY": str(own_state), "VIWORKS_SERVICES_SYSTEMD": "off", **AUTH_ENV})
    try:
        status, body = post(agent, "/api/v1/command", {"command": "sleep", "parameters": {"seconds": 337}, "async": True})
        assert status == 202 and body["status"] == "running"
        wait_for(lambda: running("/bin/sleep 337"), what="the command running")
        started = time.monotonic()
        agent.process.send_signal(signal.SIGTERM)
        assert agent.process.wait(timeout=60) == 0, agent.log()
        assert time.monotonic() - started < 30, "the agent waited for the 337 s command"
    finally:
        agent.stop()
    still_running = running("/bin/sleep 337")
    if still_running:
        subprocess.run(["pkill", "-x", "-f", "/bin/sleep 337"], check=False)
    assert still_running == "", f"the command outlived the agent: {still_running}"
    with sqlite3.connect(own_state / "audit.sqlite") as connection:
        rows = connection.execute("SELECT id, event, action, outcome, start_id FROM audit_log ORDER BY id").fetchall()
    assert rows == [(1, "command.start", "sleep", None, None), (2, "command.end", "sleep", "cancelled", 1)]


def test_the_deadline_holds_when_a_command_closes_its_output(agent) -> None:
    started = time.monotonic()
    status, body = post(agent, "/api/v1/command", {"command": "closer"})
    assert status == 200 and body["status"] == "timed_out" and body["signal"] == 9, body
    # Its 1 s timeout, not the end of its 300 s sleep.
    assert time.monotonic() - started < 30


def test_running_commands_are_bounded(agent) -> None:
    # Each holds its slot for 10 s: the five requests are all in by then, however slow the machine.
    answers = [post(agent, "/api/v1/command", {"command": "hold", "parameters": {"seconds": 10}, "async": True}) for _ in range(5)]
    statuses = [status for status, _ in answers]
    assert statuses.count(202) == 3 and statuses.count(429) == 2, statuses
    refused = next(body for status, body in answers if status == 429)
    assert refused["error"]["code"] == "too_many_commands"
    # The three end: slots are free again.
    for job in [body["job_id"] for status, body in answers if status == 202]:
        wait_for(lambda: get(agent, f"/api/v1/command/{job}")[0] == 200, what=f"job {job} ended")
    status, _ = post(agent, "/api/v1/command", {"command": "uptime"})
    assert status == 200


def test_only_json_bodies_run_commands(agent, tmp_path) -> None:
    """A browser's cross-site "simple" POST (text/plain) must not run anything."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        headers = {**AUTH_HEADERS, **({"Content-Type": content_type} if content_type else {})}
        response = agent.request("POST", "/api/v1/command", headers=headers, body=json.dumps({"command": "uptime"}).encode())
        assert response.status == 415, (content_type, response.status)
        assert json.loads(response.body)["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "query",
    ["from=1e10", "from=9.3e9", "from=-1", "from=nan", "from=0x10", "to=2262-04-12T00:00:00Z", "to=0000-01-01T00:00:00Z", "from=2026-02-31T00:00:00Z",
     "from=2026-01-01T00:00:00+99:99", "limit=-5", "limit=100000", "colour=red"],
)
def test_audit_parameters_out_of_range_are_400_not_a_crash(agent, query) -> None:
    status, body = get(agent, f"/api/v1/audit?{query}")
    assert status == 400 and body["error"]["code"] == "invalid_parameter", (query, status, body)
    assert agent.get("/api/v1/health").status == 200


@pytest.mark.parametrize("query", ["since=1e10", "until=9999-01-01T00:00:00Z", "since=9.3e9"])
def test_log_times_out_of_range_are_400(agent, query) -> None:
    response = agent.request("GET", f"/api/v1/logs?unit=nginx.service&{query}", headers=AUTH_HEADERS)
    assert response.status == 400, (query, response.status)


def open_follower(agent, query: str) -> tuple[socket.socket, int]:
    """A `logs?follow=true` request whose answer's head has arrived: (the open connection, the status)."""
    client = socket.create_connection(("127.0.0.1", agent.port), timeout=REQUEST_TIMEOUT)
    headers = "".join(f"{name}: {value}\r\n" for name, value in AUTH_HEADERS.items())
    client.sendall(f"GET /api/v1/logs?{query} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(65536)
        assert chunk, f"the connection ended after {received!r}"
        received += chunk
    return client, int(received.split(b" ", 2)[1])


def test_log_followers_are_capped_and_released_when_clients_leave(agent) -> None:
    """Followers that disconnect are noticed at the next keep-alive (every 5 s) and free their thread and slot."""
    def fds() -> int:
        return len(os.listdir(f"/proc/{agent.process.pid}/fd"))

    before = fds()
    # Ten followers at once, all open until each has its answer: eight are served, two refused.
    followers = [open_follower(agent, "follow=true&unit=nginx.service") for _ in range(10)]
    codes = [code for _, code in followers]
    for client, _ in followers:
        client.close()
    assert codes == [200] * 8 + [429] * 2, codes
    wait_for(lambda: fds() <= before + 1, what=f"the followers' descriptors released ({before} before)")
    # Every slot is free again.
    client, code = open_follower(agent, "follow=true")
    client.close()
    assert code == 200


def test_refused_privileged_requests_are_audited(agent, tmp_path) -> None:
    canary = tmp_path / "canary"
    body = json.dumps({"command": "echo", "parameters": {"text": "x"}}).encode()
    no_key = agent.request("POST", "/api/v1/command", headers={"Content-Type": "application/json"}, body=body)
    assert no_key.status == 401 and no_key.header("www-authenticate")
    bad_key = agent.request("POST", "/api/v1/command", headers={"Content-Type": "application/json", "X-API-Key": "vwk_nope_nope"}, body=body)
    assert bad_key.status == 401
    viewer = agent.request("POST", "/api/v1/command", headers={"Content-Type": "application/json", **VIEWER_HEADERS}, body=body)
    assert viewer.status == 403 and json.loads(viewer.body)["error"]["code"] == "forbidden"
    restart = agent.request("POST", "/api/v1/services/nginx/restart", headers=VIEWER_HEADERS)
    assert restart.status == 403
    status, audit = get(agent, "/api/v1/audit?limit=20&verify=true")
    failures = [r for r in audit["records"] if r["event"] == "auth.failure"][:4]
    assert [r["outcome"] for r in reversed(failures)] == [
        "401 credentials required", "401 unknown API key", "403 needs the admin role", "403 needs the operator role"]
    assert {r["action"] for r in failures} == {"POST /api/v1/command", "POST /api/v1/services/nginx/restart"}
    assert failures[0]["principal"] == "key:e2e-viewer" and failures[0]["role"] == "viewer" and failures[0]["client_address"]
    assert all(r["request_id"] for r in failures)
    assert audit["verification"]["intact"] is True
    # A refused read of a viewer route is not a privileged failure: nothing is written.
    assert not canary.exists()


def test_sigterm_ends_open_log_streams_at_once_and_flushes_history(tmp_path) -> None:
    """A client holding `logs?follow=true` open must not hold the shutdown: the stream ends at SIGTERM, the agent exits
    within a couple of seconds, and the final history flush (the only one: flush_interval is 1 h) is on disk."""
    state = tmp_path / "state"
    env = {"VIWORKS_AGENT_STATE_DIRECTORY": str(state), "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AGENT_INTERVAL": "1s",
           "VIWORKS_HISTORY_FLUSH_INTERVAL": "1h", **AUTH_ENV}
    agent = start_agent(tmp_path / "run", env=env)
    try:
        def collected_twice():
            status, body = get(agent, "/api/v1/status")
            return status == 200 and body["collectors"] and all(c["collections"] >= 2 for c in body["collectors"])

        wait_for(collected_twice, timeout=60, what="two collections of every collector")
        client = socket.create_connection(("127.0.0.1", agent.port), timeout=REQUEST_TIMEOUT)
        headers = "".join(f"{name}: {value}\r\n" for name, value in AUTH_HEADERS.items())
        client.sendall(f"GET /api/v1/logs?follow=true&unit=nginx.service HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        received = client.recv(65536)
        assert received.startswith(b"HTTP/1.1 200"), received[:200]
        while b": following" not in received:
            received += client.recv(65536)
        started = time.monotonic()
        agent.process.send_signal(signal.SIGTERM)
        agent.process.wait(timeout=60)
        elapsed = time.monotonic() - started
        # The server ended the response itself: a last comment, the terminating chunk, then the connection closed.
        client.settimeout(REQUEST_TIMEOUT)
        rest = b""
        while chunk := client.recv(65536):
            rest += chunk
        client.close()
    finally:
        agent.stop()
    assert agent.process.returncode == 0, agent.log()
    # A stream that held the shutdown would hold it as long as the client stays (the whole minute waited above).
    assert elapsed < 30, f"exit took {elapsed:.1f} s with a log stream open\n{agent.log()}"
    assert b"the agent is shutting down" in rest and rest.endswith(b"0\r\n\r\n"), rest[-200:]
    connection = sqlite3.connect(str(state / "history.db"))
    try:
        blocks, series = connection.execute("SELECT count(*), count(DISTINCT series) FROM blocks").fetchone()
    finally:
        connection.close()
    assert blocks > 0 and series > 0, "the final history flush did not happen"
