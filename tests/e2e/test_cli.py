"""The command line: check-config's located errors, and collect --json live and replayed."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (
    EXIT_TIMEOUT,
    REPO_ROOT,
    agent_binary,
    assert_valid,
    clean_environment,
    copy_host_tree,
    fixture_host_dir,
    free_port,
    openapi_source_json,
    raw_request,
    run_cli,
    start_agent,
    validator_for,
)

# `error: FILE:LINE: KEY: message` (a TOML syntax error has no key: `error: FILE:LINE: message`).
ISSUE = re.compile(r"^(?:error: )?(?P<file>[^:]+):(?P<line>\d+): (?:(?P<key>[A-Za-z0-9_.]+): )?(?P<message>.+)$")

BAD_CONFIGS = {
    "syntax": (
        '# agent\n[server]\nlisten = "127.0.0.1:9740"\n\n[collectors.cpu\ninterval = "5s"\n',
        5, None, "TOML syntax",
    ),
    "unknown-server-key": (
        '# agent\n[server]\nlisten = "127.0.0.1:9740"\nlisen = "127.0.0.1:1"\n',
        4, "server.lisen", "unknown key",
    ),
    "bad-interval": (
        '[agent]\ninterval = "30s"\n\n[collectors.cpu]\ninterval = "fast"\n',
        5, "collectors.cpu.interval", '"fast"',
    ),
    "unknown-collector": (
        '[agent]\ninterval = "30s"\n\n\n[collectors.gpu]\ninterval = "5s"\n',
        5, "collectors.gpu", "unknown collector 'gpu'",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_check_config_reports_file_line_and_key(tmp_path, name):
    text, line, key, message = BAD_CONFIGS[name]
    config = tmp_path / f"{name}.toml"
    config.write_text(text)
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode != 0
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert lines, "no diagnostics on stderr"
    parsed = [ISSUE.match(l) for l in lines]
    assert all(parsed), f"not FILE:LINE: KEY: message: {lines}"
    first = parsed[0]
    assert first["file"] == str(config)
    assert int(first["line"]) == line, lines
    assert first["key"] == key, lines
    assert message in first["message"], lines


def test_check_config_reports_every_problem_at_once(tmp_path):
    config = tmp_path / "two.toml"
    config.write_text('[server]\nlisen = "x"\n\n[collectors.cpu]\ninterval = "fast"\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode != 0
    found = {(m["line"], m["key"]) for m in map(ISSUE.match, result.stderr.splitlines()) if m}
    assert {("2", "server.lisen"), ("5", "collectors.cpu.interval")} <= found, result.stderr


def test_example_config_is_valid():
    example = REPO_ROOT / "examples/agent.toml"
    if not example.exists():
        pytest.skip("examples/agent.toml is not there yet")
    result = run_cli("check-config", "--config", str(example))
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def collect_validator():
    doc = openapi_source_json()
    schema = {
        "type": "object", "additionalProperties": False, "required": ["timestamp", "system_health", "system_info"],
        "properties": {
            "timestamp": doc["components"]["schemas"]["Status"]["properties"]["timestamp"],
            "system_health": {"$ref": "#/components/schemas/SystemHealth"},
            "system_info": {"$ref": "#/components/schemas/SystemInfo"},
        },
    }
    return validator_for(doc, schema)


def test_collect_json_live():
    result = run_cli("collect", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert_valid(collect_validator(), document, "collect --json")
    assert document["system_health"]["cpu_usage_percent"] is not None  # two readings over --window
    assert document["system_info"]["memory"]["total_bytes"] > 0


def test_collect_json_replays_successive_roots(tmp_path):
    """Two samples of the captured host 10 s apart (by their proc/uptime). CPU, by hand, with guest time:
    cpu 1000 0 500 8000 0 0 0 0 600 0 → cpu 1600 0 500 8400 0 0 0 0 1200 0: busy Δ = 600 (user, which
    already holds the 600 guest), total Δ = 600 + 400 idle = 1000 → 60 %, not 75 %.
    eth0 receive bytes 5904 → 15904 over 10 s → 1000 B/s; packets 41 → 141 → 10 /s."""
    source = fixture_host_dir()
    a = copy_host_tree(source, tmp_path / "a")
    b = copy_host_tree(source, tmp_path / "b")
    tail = "intr 1000 0 0\nctxt 5000\nbtime 1764446168\nprocesses 900\nprocs_running 1\nprocs_blocked 0\nsoftirq 10 0 0\n"
    (a / "proc/stat").write_text("cpu  1000 0 500 8000 0 0 0 0 600 0\ncpu0 1000 0 500 8000 0 0 0 0 600 0\n" + tail)
    (b / "proc/stat").write_text("cpu  1600 0 500 8400 0 0 0 0 1200 0\ncpu0 1600 0 500 8400 0 0 0 0 1200 0\n" + tail)
    (a / "proc/uptime").write_text("1000.00 100.00\n")
    (b / "proc/uptime").write_text("1010.00 100.00\n")
    dev = (a / "proc/net/dev").read_text()
    eth0 = next(l for l in dev.splitlines() if l.strip().startswith("eth0:"))
    assert eth0.split(":")[1].split()[:2] == ["5904", "41"], "the captured host's eth0 changed: update this test"
    (b / "proc/net/dev").write_text(dev.replace(eth0, eth0.replace("5904      41", "15904     141")))

    result = run_cli("collect", "--json", "--root", str(a), "--root", str(b))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    first, second = map(json.loads, lines)
    validator = collect_validator()
    assert_valid(validator, first, "collect line 1")
    assert_valid(validator, second, "collect line 2")

    assert first["system_health"]["cpu_usage_percent"] is None
    assert second["system_health"]["cpu_usage_percent"] == 60.0
    assert second["system_info"]["cpu"]["per_core"] == [{"cpu": "cpu0", "usage_percent": 60.0}]
    assert second["system_info"]["cpu"]["cores"] == 1
    assert second["system_info"]["cpu"]["iowait_percent"] == 0

    eth0_first = next(d for d in first["system_info"]["network"]["details"] if d["name"] == "eth0")
    eth0_second = next(d for d in second["system_info"]["network"]["details"] if d["name"] == "eth0")
    assert eth0_first["receive_bytes_per_second"] is None
    assert eth0_second["receive_bytes"] == 15904
    assert eth0_second["receive_bytes_per_second"] == 1000.0
    assert eth0_second["receive_packets_per_second"] == 10.0
    assert eth0_second["transmit_bytes_per_second"] == 0
    assert second["system_info"]["network"]["bytes_received"] == 15904
    assert second["system_health"]["uptime_seconds"] == 1010
    # The rest of the host is the capture's.
    assert second["system_info"]["system"]["hostname"] == (source / "proc/sys/kernel/hostname").read_text().strip()
    assert second["system_health"]["load_average"]["one_minute"] == float((source / "proc/loadavg").read_text().split()[0])


def test_collect_root_without_uptime_fails(tmp_path):
    root = copy_host_tree(fixture_host_dir(), tmp_path / "x")
    (root / "proc/uptime").unlink()
    result = run_cli("collect", "--json", "--root", str(root))
    assert result.returncode != 0
    assert "proc/uptime" in result.stderr


def test_collect_root_without_identity_files_is_not_this_host(tmp_path):
    """A capture without proc/sys/kernel/hostname and arch is another machine: `collect --root` must not report the
    replaying host's uname(2) name and architecture, but its etc/hostname when there is one, else "unknown", and a null
    architecture."""
    root = copy_host_tree(fixture_host_dir(), tmp_path / "x")
    (root / "proc/sys/kernel/hostname").unlink()
    (root / "proc/sys/kernel/arch").unlink()
    result = run_cli("collect", "--json", "--root", str(root))
    assert result.returncode == 0, result.stderr
    system = json.loads(result.stdout.splitlines()[0])["system_info"]["system"]
    assert system["hostname"] == "unknown"
    assert system["architecture"] is None
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/hostname").write_text("captured-box\n")
    result = run_cli("collect", "--json", "--root", str(root))
    assert json.loads(result.stdout.splitlines()[0])["system_info"]["system"]["hostname"] == "captured-box"


# MARK: - Configuration sources, ranges, lists and blame


def test_an_unknown_viworks_variable_is_a_warning_naming_the_closest_known_one(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    result = run_cli("check-config", "--config", str(config), env={"VIWORKS_AGENT_BIN": "/usr/bin/viworks-agent", "VIWORKS_LOG_LEVLE": "debug"})
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    warnings = result.stderr.splitlines()
    assert "warning: environment: VIWORKS_LOG_LEVLE: not a configuration variable, ignored (the closest is VIWORKS_LOG_LEVEL)" in warnings, result.stderr
    assert any(line.startswith("warning: environment: VIWORKS_AGENT_BIN: not a configuration variable, ignored (the closest is VIWORKS_") for line in warnings)
    assert len(warnings) == 2, result.stderr
    # The agent runs, and says it once.
    agent = start_agent(tmp_path / "run", env={"VIWORKS_LOG_LEVLE": "debug"})
    try:
        assert agent.get("/api/v1/health").status == 200
        log = agent.log()
        assert log.count("VIWORKS_LOG_LEVLE") == 1, log
        assert "the closest is VIWORKS_LOG_LEVEL" in log
    finally:
        agent.stop()


def test_bad_flags_are_blamed_on_the_flag_not_on_an_environment_variable(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    result = run_cli("run", "--config", str(config), "--log-level", "loud", "--listen", "bad")
    assert result.returncode == 78
    assert result.stderr.splitlines() == [
        'error: command line: --listen: expected host:port such as "127.0.0.1:9740" or "[::1]:9740", got "bad"',
        'error: command line: --log-level: expected one of trace, debug, info, notice, warning, error, critical, got "loud"',
    ]
    assert "VIWORKS_" not in result.stderr


def test_check_config_checks_ranges_every_list_element_and_cross_key_lines(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(
        "[alerts.cpu]\n"                     # 1
        "warning = -5\n"                     # 2
        "critical = 150\n"                   # 3
        "[alerts.load]\n"                    # 4
        "warning = -1\n"                     # 5
        "[alerts.disk]\n"                    # 6
        "warning = 95\n"                     # 7
        "critical = 90\n"                    # 8
        "[limits]\n"                         # 9
        "max_body_bytes = 0\n"               # 10
        "[plugins]\n"                        # 11
        'directory = "/etc/hostname"\n'      # 12
        "[access]\n"                         # 13
        "allow = [\n"                        # 14
        '  "10.0.0.0/33",\n'                 # 15
        '  "127.0.0.1",\n'                   # 16
        '  "nope",\n'                        # 17
        "]\n"                                # 18
        "[supervisor]\n"                     # 19
        'backoff_initial = "10s"\n'          # 20
        'backoff_max = "1s"\n'               # 21
    )
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 1
    found = [(int(m["line"]), m["key"]) for m in map(ISSUE.match, result.stderr.splitlines()) if m]
    assert found == [
        (2, "alerts.cpu.warning"), (3, "alerts.cpu.critical"), (5, "alerts.load.warning"), (8, "alerts.disk.critical"),
        (10, "limits.max_body_bytes"), (12, "plugins.directory"), (15, "access.allow"), (17, "access.allow"), (21, "supervisor.backoff_max"),
    ], result.stderr
    assert "/etc/hostname is not a directory" in result.stderr
    assert "a percentage must be between 0 and 100, got 150" in result.stderr


# MARK: - Logging without a journal


def test_log_format_journald_without_a_journal_falls_back_to_stderr_with_one_warning(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    port = free_port()
    command = [str(agent_binary()), "run", "--config", str(config), "--listen", f"127.0.0.1:{port}", "--log-format", "journald"]
    if Path("/run/systemd/journal/socket").exists():
        # A host with a journal: hide it in a private mount namespace.
        if os.geteuid() != 0 or not shutil.which("unshare"):
            pytest.skip("the journal socket exists and no private mount namespace can hide it")
        command = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /run/systemd/journal && exec "$@"', "sh", *command]
    env = clean_environment({"VIWORKS_AGENT_STATE_DIRECTORY": str(tmp_path / "state")})
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if raw_request(port, "GET", "/api/v1/health").status in (200, 503):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the agent did not answer")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=EXIT_TIMEOUT)
    lines = stderr.decode(errors="replace").splitlines()
    warnings = [line for line in lines if "the journal is not reachable" in line]
    assert len(warnings) == 1, lines
    assert "level=warning" in warnings[0] and "/run/systemd/journal/socket" in warnings[0], warnings
    assert any("msg=listening" in line or 'msg="listening"' in line for line in lines), lines
    assert any("starting viworks-agent" in line for line in lines), lines


# MARK: - Messages without library internals

INTERNALS = ("NSCocoaErrorDomain", "Error Domain", ".swift", "bind(descriptor", "SwiftASN1", "PEMDocument", "NIOSSL", "BoringSSL")


def assert_plain(text: str) -> None:
    for internal in INTERNALS:
        assert internal not in text, f"{internal!r} reached the user: {text}"


def test_unreadable_files_bad_pem_and_a_busy_port_are_told_in_plain_words(tmp_path):
    missing = tmp_path / "missing.toml"
    result = run_cli("check-config", "--config", str(missing))
    assert result.returncode == 1
    assert result.stderr == f"error: {missing}: cannot read {missing}: No such file or directory\n"
    result = run_cli("check-config", "--config", str(tmp_path))
    assert result.stderr == f"error: {tmp_path}: cannot read {tmp_path}: Is a directory\n"

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    config = tmp_path / "tls.toml"
    config.write_text(f'[tls]\ncert_file = "{garbage}"\nkey_file = "{garbage}"\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 1 and result.stderr == f"error: {garbage}: not a PEM certificate\n", result.stderr
    if shutil.which("openssl"):
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
        config.write_text(f'[tls]\ncert_file = "{cert}"\nkey_file = "{garbage}"\n')
        result = run_cli("check-config", "--config", str(config))
        assert result.stderr.startswith(f"error: {garbage}: not a PEM private key"), result.stderr
        config.write_text(f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"\nclient_ca_file = "{garbage}"\n')
        result = run_cli("check-config", "--config", str(config))
        assert result.stderr == f"error: {garbage}: not a PEM certificate\n", result.stderr
        assert_plain(result.stderr)

    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("run", "--config", str(empty), "--listen", f"127.0.0.1:{port}", env={"VIWORKS_AGENT_STATE_DIRECTORY": str(tmp_path / "state")})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"error: cannot listen on 127.0.0.1:{port}: address already in use", result.stderr
    assert_plain(result.stderr.splitlines()[-1])


def test_logs_without_journal_files_are_503_journal_unavailable_not_an_empty_list(tmp_path):
    journal = tmp_path / "journal"
    journal.mkdir()
    agent = start_agent(tmp_path, env={"VIWORKS_AUTH_ANONYMOUS_ROLE": "admin", "VIWORKS_LOGS_JOURNAL_DIRECTORY": str(journal)})
    try:
        response = agent.get("/api/v1/logs")
        assert response.status == 503, response.body
        error = response.json()["error"]
        assert error["code"] == "journal_unavailable"
        assert error["message"] == f"no journal files in {journal} (is systemd-journald running?): No such file or directory"
    finally:
        agent.stop()


def test_a_state_directory_that_cannot_be_made_is_told_in_plain_words(tmp_path):
    """A state directory that passes the configuration's check but cannot be made (here a name longer than the file
    system takes): the agent still serves (history and audit unavailable), and what it says about it names the
    directory and the system's reason, never a Foundation error."""
    too_long = tmp_path / ("x" * 300)
    agent = start_agent(tmp_path / "run", "--log-format", "logfmt", env={"VIWORKS_AGENT_STATE_DIRECTORY": str(too_long / "state")})
    try:
        status = agent.get_json("/api/v1/status")
        reasons = [status["storage"]["history"]["reason"] or "", status["storage"]["audit"]["reason"] or ""]
        log = agent.log_path.read_text(errors="replace")
    finally:
        agent.stop()
    expected = f"mkdir {too_long}: File name too long"
    assert any(expected in reason for reason in reasons), reasons
    assert expected in log, log[-2000:]
    for text in reasons + [log]:
        assert_plain(text)


def test_a_state_directory_below_a_regular_file_is_a_configuration_error(tmp_path):
    """Below a regular file no directory can ever be made: check-config and the start refuse it, naming the key."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nstate_directory = "{blocker}/state"\n')
    # check-config exits 1, run 78 (EX_CONFIG).
    for command, code in ((["check-config", "--config", str(config)], 1), (["run", "--config", str(config), "--listen", "127.0.0.1:0"], 78)):
        result = run_cli(*command)
        assert result.returncode == code, (command, result.stdout, result.stderr)
        assert f"{config}:2: agent.state_directory: {blocker} is not a directory" in result.stderr, result.stderr


def test_a_TZ_the_agent_cannot_read_is_a_warning_naming_it():
    """A POSIX TZ rule names no zone Foundation knows: check-config passes and warns that reports use UTC."""
    rule = "CET-1CEST,M3.5.0,M10.5.0/3"
    result = run_cli("check-config", env={"TZ": rule})
    assert result.returncode == 0, result.stderr
    assert f'warning: environment: TZ: "{rule}" names no time zone the agent knows' in result.stderr, result.stderr
    assert "reports use UTC; set [reports] time_zone" in result.stderr
    assert "warning" not in run_cli("check-config", env={"TZ": ":Europe/Berlin"}).stderr
