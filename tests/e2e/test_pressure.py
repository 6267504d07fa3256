"""The pressure collector (Linux PSI, /proc/pressure/{cpu,memory,io}) end to end: its /metrics families, its
`system_info.pressure` object against the OpenAPI schema, and a kernel without PSI (no data, no failure)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import assert_valid, component_validator, copy_host_tree, fixture_host_args, fixture_host_dir, run_cli, start_agent

COUNTERS = {
    ("cpu", "some"): "viworks_pressure_cpu_waiting_seconds_total",
    ("cpu", "full"): "viworks_pressure_cpu_stalled_seconds_total",
    ("memory", "some"): "viworks_pressure_memory_waiting_seconds_total",
    ("memory", "full"): "viworks_pressure_memory_stalled_seconds_total",
    ("io", "some"): "viworks_pressure_io_waiting_seconds_total",
    ("io", "full"): "viworks_pressure_io_stalled_seconds_total",
}


def exposition(text: str) -> tuple[dict, dict]:
    """({(name, sorted labels): value}, {family: type}) of a Prometheus text page."""
    values, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            values[(match.group(1), tuple(sorted(labels.items())))] = float(match.group(3))
    return values, types


def read_psi(path: Path) -> dict:
    """{kind: {avg10, avg60, avg300, total_seconds}} of one /proc/pressure file."""
    result = {}
    for line in path.read_text().splitlines():
        kind, *fields = line.split()
        values = dict(field.split("=") for field in fields)
        result[kind] = {
            "avg10": float(values["avg10"]), "avg60": float(values["avg60"]), "avg300": float(values["avg300"]),
            "total_seconds": int(values["total"]) / 1e6,
        }
    return result


def avg(resource: str, kind: str, window: str) -> tuple:
    return ("viworks_pressure_avg_percent", (("kind", kind), ("resource", resource), ("window", window)))


def test_fixture_host_with_psi_has_the_families_and_a_valid_status(tmp_path, openapi_doc):
    root = fixture_host_dir()
    agent = start_agent(tmp_path, *fixture_host_args(root))
    try:
        status = agent.wait_collections(2)
        values, types = exposition(agent.get("/metrics").body.decode())
    finally:
        agent.stop()
    assert_valid(component_validator(openapi_doc, "Status"), status, "fixture /api/v1/status")
    pressure = status["system_info"]["pressure"]
    expected = {resource: read_psi(root / "proc/pressure" / resource) for resource in ("cpu", "memory", "io")}
    assert pressure == {r: {"some": e["some"], "full": e.get("full")} for r, e in expected.items()}
    # By hand, from the captured files: cpu some total=1179179328 µs, io full total=34903275 µs, io full avg300=0.15.
    assert pressure["cpu"]["some"]["total_seconds"] == 1179.179328
    assert pressure["io"]["full"]["total_seconds"] == 34.903275
    for (resource, kind), name in COUNTERS.items():
        assert types.get(name) == "counter", name
        assert values[(name, ())] == expected[resource][kind]["total_seconds"], name
        for window in ("10s", "60s", "300s"):
            assert values[avg(resource, kind, window)] == expected[resource][kind][f"avg{window[:-1]}"]
    assert types.get("viworks_pressure_avg_percent") == "gauge"
    assert values[avg("io", "full", "300s")] == 0.15
    collector = next(c for c in status["collectors"] if c["name"] == "pressure")
    assert collector["status"] == "running" and collector["failures"] == 0


def test_kernel_without_psi_reports_nothing_and_fails_nothing(tmp_path, openapi_doc):
    root = copy_host_tree(fixture_host_dir(), tmp_path / "host")
    shutil.rmtree(root / "proc/pressure")
    agent = start_agent(tmp_path / "agent", *fixture_host_args(root))
    try:
        status = agent.wait_collections(2)
        metrics = agent.get("/metrics").body.decode()
        log = agent.log()
    finally:
        agent.stop()
    assert_valid(component_validator(openapi_doc, "Status"), status, "/api/v1/status without PSI")
    assert status["system_info"]["pressure"] is None
    assert "viworks_pressure_" not in metrics
    collector = next(c for c in status["collectors"] if c["name"] == "pressure")
    assert collector["status"] == "running" and collector["failures"] == 0 and collector["restarts"] == 0
    assert status["system_health"] is not None
    # Said once, not once per collection.
    assert log.count("pressure: not supported") == 1, log
    assert "error" not in [line.lower() for line in log.splitlines() if "pressure" in line]


def test_live_host(live_agent, openapi_doc):
    try:
        live = {resource: read_psi(Path("/proc/pressure") / resource) for resource in ("cpu", "memory", "io")}
    except OSError:
        pytest.skip("this kernel has no readable /proc/pressure")
    values, types = exposition(live_agent.get("/metrics").body.decode())
    status = live_agent.get_json("/api/v1/status")
    assert_valid(component_validator(openapi_doc, "Status"), status, "live /api/v1/status")
    pressure = status["system_info"]["pressure"]
    for resource, kinds in live.items():
        for kind in ("some", "full"):
            if kind not in kinds:
                assert pressure[resource][kind] is None
                continue
            name = COUNTERS[(resource, kind)]
            assert types.get(name) == "counter"
            # The agent's figure is from its last collection: not above what the kernel says now.
            assert 0 <= values[(name, ())] <= kinds[kind]["total_seconds"]
            assert 0 <= pressure[resource][kind]["total_seconds"] <= kinds[kind]["total_seconds"]
            assert 0 <= values[avg(resource, kind, "10s")] <= 100


def test_collectors_pressure_table_is_accepted_and_checked(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[collectors.pressure]\nenabled = false\ninterval = "5s"\n')
    result = run_cli("check-config", "--config", str(good))
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[collectors.pressure]\ninterval = "fast"\n')
    result = run_cli("check-config", "--config", str(bad))
    assert result.returncode != 0
    assert f"{bad}:2: collectors.pressure.interval" in result.stderr, result.stderr
