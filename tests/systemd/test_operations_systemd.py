"""Remote operations under a real systemd: Debian 12 booted in systemd-nspawn (nspawn_machine.py), the agent
running as its systemd unit with `[agent] interval = "2s"`.

In order: `POST /api/v1/services/nginx/restart` gives nginx a new MainPID (systemd's), audited as service.start/end,
and `viworks-agent audit verify` accepts the log; stop and start through the API; auto-recovery restarts redis-server
after a SIGKILL (its own Restart= is turned off by a drop-in) and gives up on a unit that cannot start after exactly
`recovery_attempts`, loudly and once; `GET /api/v1/logs` reads the journal of allowlisted units with priority and
grep filters, follows it as server-sent events, and refuses paths and units outside the allowlist. The broken unit's
"no further attempts" is checked last, so the ~10 s of observation overlap with the other tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import select
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from nspawn_machine import CLEAN_ENV, UNIT, Machine, booted_machine, wait_for

# Added to every request made by this module (the API's credentials): the only place to change. A fresh admin
# key per run, made the way `viworks-agent keys create` makes one: vwk_<salt>_<secret>, stored as HMAC-SHA256(salt, key).
_SALT, _SECRET = os.urandom(16), os.urandom(32)
API_KEY = f"vwk_{_SALT.hex()}_{_SECRET.hex()}"
API_KEY_HASH = f"hmac-sha256:{_SALT.hex()}:{hmac.new(_SALT, API_KEY.encode(), hashlib.sha256).hexdigest()}"
AUTH_HEADERS: dict[str, str] = {"X-API-Key": API_KEY}

AUDIT_DB = "/var/lib/viworks-agent/audit.sqlite"
TOKEN = uuid.uuid4().hex[:10]
# After giving up, auto-recovery must stay quiet at least this long.
QUIET_AFTER_GIVEUP = 10.0

CONFIG_TEXT = """\
[agent]
interval = "2s"

[services.nginx]
probe = "http://127.0.0.1:80/"

[services.redis]
probe = "redis://127.0.0.1:6379"
recovery = true
recovery_backoff = "1s"

[services.broken]
units = ["viworks-broken.service"]
recovery = true
recovery_attempts = 2
recovery_backoff = "1s"

[logs]
units = ["viworks-logtest.service", "viworks-logfollow.service"]

[[auth.api_keys]]
name = "systemd-tests"
role = "admin"
hash = "%s"

# These tests poll the API many times a second from one address (100 requests per minute by default).
[rate_limit]
requests_per_minute = 0
""" % API_KEY_HASH

UNIT_FILES = {
    "/etc/systemd/system/viworks-broken.service": """\
[Unit]
Description=ViWorks test: a service that cannot start

[Service]
ExecStart=/bin/false
""",
    # Debian's redis-server.service has Restart=always: systemd would bring it back before the agent could.
    "/etc/systemd/system/redis-server.service.d/no-restart.conf": """\
[Service]
Restart=no
""",
}

TIMINGS: dict[str, float] = {}
OBSERVED: list[str] = []
STATE: dict[str, float] = {}


@pytest.fixture(scope="module")
def machine(release_bin, request: pytest.FixtureRequest):
    with booted_machine(release_bin, request, CONFIG_TEXT, TIMINGS, label="operations", extra_files=UNIT_FILES) as m:
        m.run("systemctl", "start", UNIT, timeout=90)
        wait_for("nginx and redis in the services report", lambda: {"nginx", "redis"} <= set(statuses(m)), 60)
        yield m
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and OBSERVED:
        with capture.global_and_fixture_disabled():
            reporter.write_line("operations observed: " + "; ".join(OBSERVED))


# MARK: - Helpers


def api(m: Machine, method: str, path: str, body: object | None = None, timeout: float = 45) -> tuple[int, object]:
    """A request to the agent from inside the container's network namespace; JSON bodies are decoded."""
    assert m.leader is not None
    command = ["nsenter", "-t", str(m.leader), "-n", "--", "curl", "-s", "-m", str(timeout), "-X", method, "-w", "\n%{http_code}"]
    for name, value in AUTH_HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    if body is not None:
        command += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    command.append(f"http://127.0.0.1:9740{path}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 10, env=CLEAN_ENV)
    text, _, code = result.stdout.rpartition("\n")
    try:
        return int(code or 0), json.loads(text)
    except ValueError:
        return int(code or 0), text


def statuses(m: Machine) -> dict[str, str]:
    code, body = api(m, "GET", "/api/v1/services")
    return {s["name"]: s["status"] for s in body.get("services", [])} if code == 200 and isinstance(body, dict) else {}


def main_pid(m: Machine, unit: str) -> int:
    return int(m.run("systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip())


def audit_records(m: Machine, verify: bool = False) -> list[dict]:
    code, body = api(m, "GET", "/api/v1/audit?limit=10000" + ("&verify=true" if verify else ""))
    assert code == 200, body
    if verify:
        assert body["verification"]["intact"] is True, body["verification"]
    return body["records"]


def events(records: list[dict], event: str, action: str) -> list[dict]:
    return sorted((r for r in records if r["event"] == event and r.get("action") == action), key=lambda r: r["id"])


def audit_verify_cli(m: Machine) -> str:
    result = m.run("/usr/local/bin/viworks-agent", "audit", "verify", "--file", AUDIT_DB, check=False)
    assert result.returncode == 0, f"audit verify exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout.strip()


def is_active(m: Machine, unit: str) -> str:
    return m.run("systemctl", "is-active", unit, check=False).stdout.strip()


def logs(m: Machine, **parameters: str) -> tuple[int, object]:
    return api(m, "GET", "/api/v1/logs?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in parameters.items()))


def epoch(rfc3339: str) -> float:
    """Unix seconds of an RFC 3339 time with up to nanoseconds (2026-11-29T23:34:14.793002000+00:00)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", rfc3339)
    assert match, rfc3339
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(match[1] + zone).timestamp() + float("0" + (match[2] or ""))


def log_unit(m: Machine, unit: str, script: str) -> None:
    """Runs `script` as the transient service `unit`. Its stdout is the stream systemd opened for the unit, whose header
    names the unit, so every line carries _SYSTEMD_UNIT=unit even after the process exited (a short-lived
    `systemd-cat` or `logger` may lose it: journald looks the unit up from the process), and `<N>` prefixes set the
    priority (SyslogLevelPrefix=yes)."""
    m.run("systemd-run", f"--unit={unit}", "--description=ViWorks log test", "--collect", "--quiet", "--wait", "sh", "-c", script, timeout=30)


# Reads a server-sent event stream inside the container's network namespace (the host's python3 under nsenter -n) and
# prints one JSON line per event with the time it arrived: {"ready": ...} after the response head, then
# {"t": ..., "event": ..., "data": ..., "id": ...}. Stops at the first event whose data contains argv[3], or after argv[2] s.
SSE_READER = r"""
import json, socket, sys, time
path, headers, limit, want = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + limit
s = socket.create_connection(("127.0.0.1", 9740), timeout=5)
request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
request += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
s.sendall(request.encode())
s.settimeout(0.1)
raw = b""
while b"\r\n\r\n" not in raw:
    raw += s.recv(65536)
head, _, raw = raw.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
chunked = any(l.lower().replace(" ", "") == "transfer-encoding:chunked" for l in lines[1:])
print(json.dumps({"ready": lines[0], "headers": lines[1:]}), flush=True)
body = b""
first = True
def events():
    global body
    while b"\n\n" in body:
        block, _, body = body.partition(b"\n\n")
        fields = {}
        for line in block.decode().split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value[1:] if value.startswith(" ") else value
        yield fields
while time.monotonic() < deadline:
    if first:  # what arrived with the head
        first = False
    else:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        raw += data
    if chunked:
        while b"\r\n" in raw:
            size_line, _, rest = raw.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            body += rest[:size]
            raw = rest[size + 2:]
    else:
        body, raw = body + raw, b""
    now = time.time()
    for fields in events():
        print(json.dumps({"t": now, **fields}), flush=True)
        if want and want in fields.get("data", ""):
            sys.exit(0)
"""


class SSEReader:
    def __init__(self, m: Machine, path: str, want: str, limit: float = 90) -> None:
        assert m.leader is not None
        self.process = subprocess.Popen(
            ["nsenter", "-t", str(m.leader), "-n", "--", sys.executable, "-c", SSE_READER, path, json.dumps(AUTH_HEADERS), str(limit), want],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CLEAN_ENV,
        )
        self.lines: list[dict] = []
        self.buffer = b""

    def next(self, timeout: float) -> dict | None:
        """The next line of the reader, waiting at most `timeout` (reads the pipe itself: a buffered readline would
        keep lines select() cannot see)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            data = os.read(self.process.stdout.fileno(), 65536)
            if not data:
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        self.lines.append(json.loads(line))
        return self.lines[-1]

    def until(self, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.next(deadline - time.monotonic())
            if line is None and self.process.poll() is not None:
                break
            if line is not None and predicate(line):
                return line
        raise AssertionError(f"no matching event within {timeout}s; got {self.lines}; stderr: {self.stderr()}")

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


# MARK: - Service actions


def test_restart_nginx_gives_a_new_main_pid_and_is_audited(machine: Machine) -> None:
    old = main_pid(machine, "nginx.service")
    assert old > 0
    started = time.monotonic()
    code, body = api(machine, "POST", "/api/v1/services/nginx/restart")
    TIMINGS["nginx restart (API)"] = time.monotonic() - started
    assert code == 200, body
    new = main_pid(machine, "nginx.service")
    OBSERVED.append(f"nginx restart: MainPID {old} -> {new}, API pid {body.get('pid')}, {body.get('duration_seconds')}s")
    assert body["service"] == "nginx" and body["unit"] == "nginx.service" and body["action"] == "restart", body
    assert body["completed"] is True, body
    assert (body["active_state"], body["sub_state"]) == ("active", "running"), body
    assert body["job"].startswith("/org/freedesktop/systemd1/job/"), body
    assert body["pid"] == new and new != old, (body, old, new)
    assert isinstance(body["audit_id"], int)

    records = audit_records(machine, verify=True)
    start = [r for r in events(records, "service.start", "restart nginx") if r["id"] == body["audit_id"]]
    assert start, records
    assert start[0]["parameters"] == {"service": "nginx", "unit": "nginx.service"}, start
    end = [r for r in events(records, "service.end", "restart nginx") if r.get("start_id") == body["audit_id"]]
    assert len(end) == 1 and end[0]["outcome"] == "ok", end
    verified = audit_verify_cli(machine)
    OBSERVED.append(f"audit verify: {verified!r}")


def test_stop_and_start_nginx_through_the_api(machine: Machine) -> None:
    code, body = api(machine, "POST", "/api/v1/services/nginx/stop")
    assert code == 200, body
    assert body["completed"] is True and body["active_state"] == "inactive" and body.get("pid") is None, body
    assert is_active(machine, "nginx.service") == "inactive"

    code, body = api(machine, "POST", "/api/v1/services/nginx/start")
    assert code == 200, body
    assert body["completed"] is True and body["active_state"] == "active", body
    assert is_active(machine, "nginx.service") == "active"
    assert body["pid"] == main_pid(machine, "nginx.service"), body
    records = audit_records(machine)
    for action in ("stop nginx", "start nginx"):
        assert len(events(records, "service.start", action)) == 1 and len(events(records, "service.end", action)) == 1, action


def test_unknown_service_is_404(machine: Machine) -> None:
    code, body = api(machine, "POST", "/api/v1/services/nosuchservice/restart")
    assert code == 404, body
    assert body["error"]["code"] == "not_found", body


def test_service_status_command(machine: Machine) -> None:
    code, body = api(machine, "POST", "/api/v1/command", {"command": "service-status", "parameters": {"service": "nginx"}})
    assert code == 200, body
    assert body["exit_code"] == 0, body
    assert "nginx.service" in body["stdout"] and "active (running)" in body["stdout"], body


# MARK: - Auto-recovery


def test_auto_recovery_restarts_a_killed_redis(machine: Machine) -> None:
    assert machine.run("systemctl", "show", "-p", "Restart", "--value", "redis-server.service").stdout.strip() == "no"
    wait_for("redis running in the agent's report", lambda: statuses(machine).get("redis") == "running", 60)
    old = main_pid(machine, "redis-server.service")
    assert old > 0
    before = len(events(audit_records(machine), "recovery.start", "restart redis"))
    machine.run("systemctl", "kill", "-s", "KILL", "redis-server.service")
    killed = time.monotonic()
    wait_for("redis-server failed", lambda: machine.show("redis-server.service")["ActiveState"] in ("failed", "activating", "active"), 60)

    def recovered() -> int | None:
        state = machine.show("redis-server.service")
        pid = int(state["MainPID"])
        return pid if state["ActiveState"] == "active" and pid not in (0, old) else None

    new = wait_for("redis-server restarted by the agent", recovered, 60)
    TIMINGS["redis kill -> new MainPID"] = elapsed = time.monotonic() - killed
    OBSERVED.append(f"redis recovery: MainPID {old} -> {new} in {elapsed:.1f}s")
    # The first attempt needs no backoff: the next collection (one interval, 2 s) sees the failure; the bound allows
    # a loaded machine.
    assert elapsed <= 30, elapsed
    records = wait_for(
        "recovery.end for redis", lambda: r if len(events((r := audit_records(machine)), "recovery.end", "restart redis")) > before else None, 60
    )
    starts = events(records, "recovery.start", "restart redis")[before:]
    ends = events(records, "recovery.end", "restart redis")[before:]
    assert len(starts) == 1 and len(ends) == 1, (starts, ends)
    assert starts[0]["principal"] == "viworks-agent" and starts[0]["role"] == "agent", starts
    assert ends[0]["start_id"] == starts[0]["id"] and ends[0]["outcome"] == "ok", ends
    wait_for("redis running again in the report", lambda: statuses(machine).get("redis") == "running", 60)


def test_auto_recovery_gives_up_on_a_unit_that_cannot_start(machine: Machine) -> None:
    # The unit is stopped from the first collection on: recovery began when the agent started.
    records = wait_for(
        "recovery.giveup for broken",
        lambda: r if events((r := audit_records(machine)), "recovery.giveup", "restart broken") else None, 90,
    )
    STATE["giveup"] = time.monotonic()
    starts = events(records, "recovery.start", "restart broken")
    ends = events(records, "recovery.end", "restart broken")
    giveups = events(records, "recovery.giveup", "restart broken")
    OBSERVED.append(
        "broken recovery: " + ", ".join(f"{r['event']}@{r['time']}:{r.get('outcome') or ''}" for r in sorted(starts + ends + giveups, key=lambda r: r["id"]))
    )
    assert len(starts) == 2 and len(ends) == 2 and len(giveups) == 1, (starts, ends, giveups)
    assert all(e["outcome"] != "ok" for e in ends), ends  # the unit failed each time
    assert giveups[0]["id"] > ends[-1]["id"], giveups
    assert "2 attempts" in giveups[0]["outcome"], giveups
    assert machine.show("viworks-broken.service")["ActiveState"] == "failed"
    # Said loudly, once: a critical line in the agent's journal.
    machine.run("journalctl", "--sync", check=False)
    critical = [e for e in machine.journal("-u", UNIT, "-p", "crit") if "gave up" in str(e.get("MESSAGE", ""))]
    assert len(critical) == 1, critical
    assert critical[0]["PRIORITY"] == "2", critical
    OBSERVED.append(f"critical line: {critical[0]['MESSAGE']!r} " + " ".join(f"{k}={v}" for k, v in critical[0].items() if k in ("SERVICE", "ATTEMPTS")))


# MARK: - Logs


def test_logs_of_nginx(machine: Machine) -> None:
    code, body = logs(machine, unit="nginx.service", lines="5")
    assert code == 200, body
    assert body["units"] == ["nginx.service"], body
    entries = body["entries"]
    OBSERVED.append("nginx log: " + " | ".join(f"{e.get('unit')}:{e['message']}" for e in entries))
    assert len(entries) == 5, entries
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)
    assert any(e["message"].startswith("Started nginx.service") for e in entries), entries
    for entry in entries:
        assert entry["unit"] == "nginx.service", entry
        assert entry["cursor"] and entry["time"], entry
    # `unit=nginx` means nginx.service; text format.
    code, body = api(machine, "GET", "/api/v1/logs?unit=nginx&lines=2&format=text")
    assert code == 200 and len(body.strip().splitlines()) == 2, body


def test_logs_priority_and_grep_filters(machine: Machine) -> None:
    log_unit(
        machine, "viworks-logtest",
        f"printf '<6>info-{TOKEN}\\n<4>warning-{TOKEN}\\n<3>err-{TOKEN}\\n'",
    )
    machine.run("journalctl", "--sync", check=False)
    expected = {f"info-{TOKEN}", f"warning-{TOKEN}", f"err-{TOKEN}"}
    last: object = None

    def read() -> dict | None:
        nonlocal last
        code, last = logs(machine, unit="viworks-logtest.service", lines="100")
        assert code == 200, last
        ours = {e["message"]: e for e in last["entries"] if e["message"] in expected}
        return ours if set(ours) == expected else None

    try:
        ours = wait_for("the three lines through the API", read, 30)
    except AssertionError as error:
        raise AssertionError(f"{error}: {last}\n{machine.journal('-u', 'viworks-logtest.service')}") from None
    assert [ours[f"{p}-{TOKEN}"]["priority"] for p in ("info", "warning", "err")] == [6, 4, 3], ours
    assert all(e["unit"] == "viworks-logtest.service" for e in ours.values()), ours

    code, body = logs(machine, unit="viworks-logtest.service", priority="warning")
    assert code == 200, body
    assert [e["message"] for e in body["entries"]] == [f"warning-{TOKEN}", f"err-{TOKEN}"], body
    assert all(e["priority"] <= 4 for e in body["entries"])

    code, body = logs(machine, unit="viworks-logtest.service", grep=f"ERR-{TOKEN}")  # case-insensitive
    assert code == 200, body
    assert [e["message"] for e in body["entries"]] == [f"err-{TOKEN}"], body
    STATE_CURSOR["info"] = ours[f"info-{TOKEN}"]["cursor"]

    # The agent's own critical line, through the API.
    code, body = logs(machine, unit=UNIT, priority="crit", grep="gave up")
    assert code == 200, body
    assert len(body["entries"]) == 1 and body["entries"][0]["priority"] == 2, body


STATE_CURSOR: dict[str, str] = {}


def test_logs_follow_delivers_a_new_entry_within_a_second(machine: Machine) -> None:
    token = f"follow-{TOKEN}"
    # viworks-logfollow.service never logged before: the first new entry (systemd's "Started") must not be skipped.
    reader = SSEReader(machine, "/api/v1/logs?unit=viworks-logfollow.service&follow=true", "")
    try:
        head = reader.until(lambda line: "ready" in line, 30)
        assert " 200 " in head["ready"], head
        assert any(h.lower().startswith("content-type: text/event-stream") for h in head["headers"]), head
        reader.until(lambda line: "following" in line.get("comment", ""), 30)
        # The reader seeks to the journal's tail on its own queue once the response started: let it get there (the
        # agent says nothing when it has; 2 s is ample, also on a loaded machine).
        time.sleep(2)
        written = time.time()
        log_unit(machine, "viworks-logfollow", f"echo {token}")
        event = reader.until(lambda line: line.get("event") == "entry" and token in line.get("data", ""), 30)
        entry = json.loads(event["data"])
        assert entry["message"] == token and entry["unit"] == "viworks-logfollow.service", entry
        # journald may store the unit's own line before or after PID 1's "Started": both must come, nothing skipped.
        started = "Started viworks-logfollow.service - ViWorks log test."
        delivered = lambda: [json.loads(line["data"])["message"] for line in reader.lines if line.get("event") == "entry"]
        if started not in delivered():
            reader.until(lambda line: started in line.get("data", ""), 30)
        assert started in delivered() and delivered().count(token) == 1, delivered()
        assert set(delivered()) <= {started, token, "viworks-logfollow.service: Deactivated successfully."}, delivered()
        assert event.get("id") == entry["cursor"], event
        entry_time = epoch(entry["time"])
        TIMINGS["follow: written -> received"] = latency = event["t"] - entry_time
        TIMINGS["follow: systemd-run -> received"] = event["t"] - written
        OBSERVED.append(f"follow latency {latency * 1000:.0f} ms after the entry's time, {(event['t'] - written) * 1000:.0f} ms after systemd-run began")
        assert latency < 1.0, (latency, entry)
    finally:
        reader.close()

    # after=<cursor>: the entries after it, at once.
    cursor = STATE_CURSOR.get("info")
    if cursor:
        reader = SSEReader(machine, f"/api/v1/logs?unit=viworks-logtest.service&follow=true&after={quote(cursor, safe='')}", f"err-{TOKEN}")
        try:
            got = [json.loads(e["data"])["message"] for e in [reader.until(lambda line: f"err-{TOKEN}" in line.get("data", ""), 30)]]
            messages = [json.loads(line["data"])["message"] for line in reader.lines if line.get("event") == "entry"]
            assert f"info-{TOKEN}" not in messages and messages[-1] == got[-1], messages
            assert f"warning-{TOKEN}" in messages, messages
        finally:
            reader.close()


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("unit=../../etc/passwd", 400, "invalid_parameter"),
        ("unit=%2e%2e%2fetc", 400, "invalid_parameter"),
        ("unit=/etc/shadow", 400, "invalid_parameter"),
        ("unit=nginx.service%00", 400, "invalid_parameter"),
        ("unit=cron.service", 403, "unit_not_allowed"),
        ("unit=cron", 403, "unit_not_allowed"),
        ("file=/etc/passwd", 400, "invalid_parameter"),
        ("unit=ssh", 200, None),
        ("unit=viworks-agent.service&lines=1", 200, None),
    ],
)
def test_logs_refuse_paths_and_units_outside_the_allowlist(machine: Machine, query: str, status: int, code: str | None) -> None:
    got, body = api(machine, "GET", f"/api/v1/logs?{query}")
    assert got == status, (query, body)
    if code is None:
        assert isinstance(body, dict) and "entries" in body, body
    else:
        assert isinstance(body, dict) and body["error"]["code"] == code and body["error"]["message"], body


# MARK: - Last: after giving up, no more attempts


def test_no_recovery_attempts_after_giving_up(machine: Machine) -> None:
    assert "giveup" in STATE, "the give-up test did not run"
    remaining = STATE["giveup"] + QUIET_AFTER_GIVEUP - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    TIMINGS["observed after give-up"] = time.monotonic() - STATE["giveup"]
    records = audit_records(machine, verify=True)
    counts = {event: len(events(records, event, "restart broken")) for event in ("recovery.start", "recovery.end", "recovery.giveup")}
    assert counts == {"recovery.start": 2, "recovery.end": 2, "recovery.giveup": 1}, counts
    assert statuses(machine).get("broken") == "error"
    warnings = [e for e in machine.journal("-u", UNIT) if "auto-recovery: restarting" in str(e.get("MESSAGE", "")) and e.get("SERVICE") == "broken"]
    assert len(warnings) in (0, 2), warnings  # 0 only if metadata is not a journal field
    OBSERVED.append(f"after give-up ({TIMINGS['observed after give-up']:.0f}s): {counts}; audit records {len(records)}")
    audit_verify_cli(machine)
