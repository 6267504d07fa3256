"""The agent under a real systemd: Debian 12 booted with systemd as PID 1 in systemd-nspawn (see nspawn_machine.py
for the container: cached debootstrap root filesystem, the release binary and examples/systemd/viworks-agent.service
installed with a drop-in that shortens the watchdog to 10 s, teardown of the container's cgroup).

The tests drive the unit with systemctl inside the container, in order: start, journal fields, journald
auto-detection, reload, watchdog restart, stop.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from nspawn_machine import UNIT, CONFIG, Machine, booted_machine, messages, wait_for

CONFIG_TEXT = """\
[agent]
interval = "2s"

[log]
level = "debug"

# These tests poll the API many times a second from one address (100 requests per minute by default).
[rate_limit]
requests_per_minute = 0
"""

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def machine(release_bin, request: pytest.FixtureRequest):
    with booted_machine(release_bin, request, CONFIG_TEXT, TIMINGS, label="nspawn") as m:
        yield m


def start(m: Machine) -> dict[str, str]:
    m.run("systemctl", "start", UNIT, timeout=90)
    return m.show()


SUMMARY = re.compile(r"^\d+ collectors? ok")


# MARK: - Tests, in order


def test_start_reports_ready_only_once_serving(machine: Machine) -> None:
    started = time.monotonic()
    props = start(machine)  # Type=notify: returns once the agent sent READY=1
    TIMINGS["systemctl start"] = time.monotonic() - started
    assert props["ActiveState"] == "active", machine.diagnostics()
    assert props["SubState"] == "running"
    assert props["Type"] == "notify"
    assert props["NotifyAccess"] == "main"
    assert props["WatchdogUSec"] == "10s"
    assert SUMMARY.match(props["StatusText"]), props["StatusText"]
    # READY came after the first collection: health is already 200, never the 503 "starting".
    code, body = machine.http("/api/v1/health")
    assert code == 200, body
    assert json.loads(body)["status"] == "healthy"


def test_journal_has_native_fields(machine: Machine) -> None:
    start(machine)
    machine.run("journalctl", "--sync", check=False)
    entries = machine.journal("-u", UNIT)
    # Native entries (sd_journal_sendv) arrive over the journal transport; what goes to stderr arrives as "stdout".
    ours = [e for e in entries if e.get("_TRANSPORT") == "journal" and e.get("SYSLOG_IDENTIFIER") == "viworks-agent"]
    assert ours, "no native entries from the agent"
    for entry in ours:
        assert entry["CODE_FILE"].endswith(".swift") and entry["CODE_LINE"].isdigit() and entry["CODE_FUNC"], entry
        assert entry["PRIORITY"] in {"2", "3", "4", "5", "6", "7"}
        assert entry["LOGGER"] == "viworks-agent"
    # No logfmt text through the stderr stream: auto-detection picked journald under systemd.
    stream = [e for e in entries if e.get("_TRANSPORT") == "stdout"]
    assert not [m for m in messages(stream) if m.startswith("ts=")]
    ready = [e for e in ours if e["MESSAGE"] == "notified systemd: ready"]
    assert ready and SUMMARY.match(ready[-1]["STATUS"])
    assert any(e["MESSAGE"] == "listening" and "127.0.0.1" in e["ADDRESS"] for e in ours)
    assert any("cpu" in e.get("COLLECTORS", "") for e in ours)
    # Field matches work in journalctl queries.
    assert machine.journal("-u", UNIT, "LOGGER=viworks-agent", "PRIORITY=6")


def test_metadata_fields_are_queryable_for_a_systemd_unit(machine: Machine) -> None:
    # Any unit's stderr is the journal stream: the agent picks journald by itself (no --log-format).
    machine.run(
        "systemd-run", "--unit=viworks-log-test", "--wait", "--quiet", "-p", "Type=exec",
        "/usr/local/bin/viworks-agent", "debug", "log-test", "--tag", "nspawn", timeout=60,
    )
    machine.run("journalctl", "--sync", check=False)
    disk = machine.journal("-u", "viworks-log-test", "COLLECTOR=disk")
    assert [e["MESSAGE"] for e in disk] == ["nspawn collector record"]
    assert disk[0]["REQUEST_ID"] == "req-42" and disk[0]["PRIORITY"] == "6"
    nginx = machine.journal("-u", "viworks-log-test", "PLUGIN=nginx")
    assert [e["MESSAGE"] for e in nginx] == ["nspawn plugin record"]
    assert not [m for m in messages(machine.journal("-u", "viworks-log-test")) if m.startswith("ts=")]


def test_reload_applies_the_log_level_and_rejects_an_invalid_file(machine: Machine) -> None:
    start(machine)
    config = machine.root / CONFIG.lstrip("/")
    try:
        cursor = machine.cursor()
        config.write_text(CONFIG_TEXT.replace('level = "debug"', 'level = "info"'))
        machine.run("systemctl", "reload", UNIT, timeout=60)
        reloaded = wait_for(
            "configuration reloaded",
            lambda: [e for e in machine.journal_after(cursor, "-u", UNIT) if e.get("MESSAGE") == "configuration reloaded"], 60,
        )
        assert reloaded[-1]["APPLIED"] == "log.level"
        props = machine.show()
        assert (props["ActiveState"], props["SubState"]) == ("active", "running")
        assert SUMMARY.match(props["StatusText"]), props["StatusText"]

        cursor = machine.cursor()
        config.write_text('[agent]\ninterval = "fast"\n')
        machine.run("systemctl", "reload", UNIT, timeout=60)
        rejected = wait_for(
            "the rejected reload",
            lambda: [e for e in machine.journal_after(cursor, "-u", UNIT) if e.get("MESSAGE", "").startswith("invalid configuration")], 60,
        )
        assert (rejected[0]["FILE"], rejected[0]["LINE"], rejected[0]["KEY"]) == (CONFIG, "2", "agent.interval")
        assert rejected[0]["PRIORITY"] == "3"
        props = machine.show()
        assert (props["ActiveState"], props["SubState"]) == ("active", "running")
        assert SUMMARY.match(props["StatusText"]), props["StatusText"]
    finally:
        config.write_text(CONFIG_TEXT)


def test_watchdog_restarts_a_stopped_agent(machine: Machine) -> None:
    props = start(machine)
    pid, restarts = props["MainPID"], int(props["NRestarts"])
    cursor = machine.cursor()
    stopped = time.monotonic()
    machine.run("kill", "-STOP", pid)
    results: set[str] = set()

    def back() -> bool:
        now = machine.show()
        results.add(now["Result"])
        return (
            int(now["NRestarts"]) > restarts and now["MainPID"] not in ("0", pid)
            and (now["ActiveState"], now["SubState"]) == ("active", "running")
        )

    wait_for("the agent restarted by the watchdog", back, 90, interval=0.05)
    elapsed = time.monotonic() - stopped
    TIMINGS["SIGSTOP -> active again"] = elapsed
    def watchdog_lines() -> list[str]:
        machine.run("journalctl", "--sync", check=False)
        found = messages(machine.journal_after(cursor, "-u", UNIT))
        return found if any("Watchdog timeout (limit 10s)" in m for m in found) else []

    unit_messages = wait_for("PID 1's watchdog timeout in the journal", watchdog_lines, 60, interval=0.5)
    assert "watchdog" in results or any("Failed with result 'watchdog'" in m for m in unit_messages), (results, unit_messages)
    # 10 s after the last ping (one every 5 s, so at least 5 s after SIGSTOP), then RestartSec and the start; a
    # stopped agent is never restarted without the watchdog.
    assert 5.0 <= elapsed < 60, elapsed
    code, body = machine.http("/api/v1/health")
    assert code == 200, body


def test_stop_is_clean_and_sends_stopping(machine: Machine) -> None:
    props = start(machine)
    invocation = props["InvocationID"]
    machine.run("systemd-analyze", "log-level", "debug")
    cursor = machine.cursor()
    started = time.monotonic()
    machine.run("systemctl", "stop", UNIT, timeout=60)
    TIMINGS["systemctl stop"] = elapsed = time.monotonic() - started
    machine.run("systemd-analyze", "log-level", "info")
    # Well before TimeoutStopSec (20 s), after which PID 1 would kill it (Result would not be success either).
    assert elapsed < 10, elapsed
    props = machine.show()
    assert props["ActiveState"] == "inactive"
    assert props["Result"] == "success"
    assert props["ExecMainStatus"] == "0"
    entries = machine.journal_after(cursor, "-u", UNIT)
    ours = [e for e in entries if e.get("_SYSTEMD_INVOCATION_ID") == invocation]
    assert "notified systemd: stopping" in messages(ours)
    assert "stopped" in messages(ours)
    # PID 1's debug log shows what it received from the agent.
    received = [m for m in messages(entries) if "STOPPING=1" in m]
    assert received, messages(entries)
