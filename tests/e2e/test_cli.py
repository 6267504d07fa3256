"""The command line: check-config's located errors, and collect --json live and replayed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import (
    REPO_ROOT,
    assert_valid,
    copy_host_tree,
    fixture_host_dir,
    openapi_source_json,
    run_cli,
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
