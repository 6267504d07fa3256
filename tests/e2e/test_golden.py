"""`/api/v1/status` of the agent run against a captured host tree, compared with a golden file.

Set UPDATE_GOLDEN=1 to rewrite tests/e2e/golden/status.json (then review the diff by hand: the explicit
assertions below recompute the important figures from the fixture's files).
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import (
    GOLDEN_DIR,
    assert_valid,
    component_validator,
    fixture_host_args,
    fixture_host_dir,
    read_meminfo,
    read_net_dev,
    read_os_release,
    round_half_up,
    start_agent,
)

GOLDEN = GOLDEN_DIR / "status.json"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}\+00:00$")


@pytest.fixture(scope="module")
def host_root() -> Path:
    root = fixture_host_dir()
    needed = ["proc/stat", "proc/meminfo", "proc/loadavg", "proc/uptime", "proc/net/dev", "proc/self/mountinfo", "etc/os-release"]
    missing = [n for n in needed if not (root / n).exists()]
    if missing:
        pytest.fail(f"fixture host {root} lacks {missing} (the collectors engineer's capture)")
    return root


@pytest.fixture(scope="module")
def fixture_status(host_root, tmp_path_factory):
    """`/api/v1/status` after the priming collection (every collector at 2 collections), default interval."""
    # Containers off: whether this machine has an engine socket must not change the golden file.
    agent = start_agent(tmp_path_factory.mktemp("fixture"), *fixture_host_args(host_root), env={"VIWORKS_CONTAINERS_ENABLED": "false"})
    try:
        status = agent.wait_collections(2)
        # Every collector exactly at its priming pair, so the golden's counts are deterministic.
        assert {c["collections"] for c in status["collectors"]} == {2}, status["collectors"]
        yield status
    finally:
        agent.stop()


def normalise(status: dict, host_root: Path) -> dict:
    """Replaces what legitimately varies between runs: timestamps of this run, durations, and the sizes of
    filesystems whose mount points resolve to real directories (statvfs then reads this machine's disk)."""
    out = copy.deepcopy(status)
    assert TIMESTAMP.match(out["timestamp"])
    out["timestamp"] = "<timestamp>"
    for collector in out["collectors"]:
        for key in ("last_collection_at", "started_at", "last_error_at", "next_restart_at"):
            if collector[key] is not None:
                assert TIMESTAMP.match(collector[key]), collector[key]
                collector[key] = f"<{key}>"
        if collector["last_duration_seconds"] is not None:
            assert collector["last_duration_seconds"] >= 0
            collector["last_duration_seconds"] = "<duration>"
    system = out["system_info"]["system"]
    # The capture's own proc/sys/kernel/arch (never uname(2) of the machine replaying it).
    assert system["architecture"] == (host_root / "proc/sys/kernel/arch").read_text().strip() == "x86_64"
    system["architecture"] = "<uname -m>"
    live_mounts = set()
    for fs in out["system_info"]["disks"] or []:
        if (host_root / fs["mount_point"].lstrip("/")).is_dir():
            live_mounts.add(fs["mount_point"])
            for key in ("total_bytes", "used_bytes", "available_bytes", "usage_percent", "inodes_total", "inodes_free"):
                fs[key] = f"<statvfs {key}>"
    if "/" in live_mounts and out["system_health"]["disk_usage_percent"] is not None:
        out["system_health"]["disk_usage_percent"] = "<statvfs usage_percent>"
    return out


def test_status_matches_golden(fixture_status, host_root):
    actual = normalise(fixture_status, host_root)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
        pytest.skip(f"rewrote {GOLDEN}")
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with UPDATE_GOLDEN=1"
    expected = json.loads(GOLDEN.read_text())
    assert actual == expected, "status differs from the golden file; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"


def test_golden_validates_against_the_openapi_schema(fixture_status, openapi_doc):
    assert_valid(component_validator(openapi_doc, "Status"), fixture_status, "fixture /api/v1/status")


def test_hand_checked_values(fixture_status, host_root):
    """The golden's figures recomputed from the fixture's own files."""
    health = fixture_status["system_health"]
    info = fixture_status["system_info"]

    # /proc/loadavg: "0.45 0.71 0.33 1/81 8628"
    one, five, fifteen, tasks, _ = (host_root / "proc/loadavg").read_text().split()
    runnable, total = tasks.split("/")
    expected_load = {
        "one_minute": float(one), "five_minutes": float(five), "fifteen_minutes": float(fifteen),
        "runnable_tasks": int(runnable), "total_tasks": int(total),
    }
    assert health["load_average"] == expected_load
    assert info["load"] == expected_load

    # /proc/meminfo: MemTotal 24684092 kB → 25276510208 B → 23.54 GiB; MemAvailable 24278908 kB.
    meminfo = read_meminfo(host_root / "proc/meminfo")
    total_bytes = meminfo["MemTotal"] * 1024
    available_bytes = meminfo["MemAvailable"] * 1024
    memory = info["memory"]
    assert memory["total_bytes"] == total_bytes
    assert memory["available_bytes"] == available_bytes
    assert memory["used_bytes"] == total_bytes - available_bytes
    assert memory["total_gb"] == round_half_up(total_bytes / 2**30)
    assert memory["available_gb"] == round_half_up(available_bytes / 2**30)
    assert memory["used_gb"] == round_half_up((total_bytes - available_bytes) / 2**30)
    usage = round_half_up((total_bytes - available_bytes) / total_bytes * 100)
    assert memory["usage_percent"] == usage == health["memory_usage_percent"]
    assert memory["available_estimated"] is False
    assert memory["swap_total_bytes"] == meminfo["SwapTotal"] * 1024
    assert memory["swap_free_bytes"] == meminfo["SwapFree"] * 1024
    if (host_root / "proc/meminfo").read_text().startswith("MemTotal:       24684092 kB"):
        assert memory["total_gb"] == 23.54 and memory["usage_percent"] == 1.64  # by hand

    # Host identity.
    system = info["system"]
    assert system["hostname"] == (host_root / "proc/sys/kernel/hostname").read_text().strip()
    assert system["kernel_version"] == (host_root / "proc/sys/kernel/osrelease").read_text().strip()
    os_release = read_os_release(host_root / "etc/os-release")
    assert system["os_name"] == os_release["NAME"]
    assert system["os_version"] == os_release.get("VERSION", os_release.get("VERSION_ID"))
    assert system["os_id"] == os_release["ID"]
    assert system["machine_id"] == (host_root / "etc/machine-id").read_text().strip()
    btime = next(int(line.split()[1]) for line in (host_root / "proc/stat").read_text().splitlines() if line.startswith("btime "))
    assert system["boot_time"] == datetime.fromtimestamp(btime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000000+00:00")

    # /proc/uptime: "344.93 416.93".
    uptime = float((host_root / "proc/uptime").read_text().split()[0])
    assert system["uptime_seconds"] == round_half_up(uptime)
    assert health["uptime_seconds"] == int(uptime)

    # CPU: the fixture's /proc/stat does not change between the two collections: 0 % busy, not null.
    stat_lines = (host_root / "proc/stat").read_text().splitlines()
    cores = [line.split()[0] for line in stat_lines if re.match(r"cpu\d+ ", line)]
    cpu = info["cpu"]
    assert cpu["cores"] == len(cores)
    assert [c["cpu"] for c in cpu["per_core"]] == cores
    assert cpu["usage_percent"] == 0 and health["cpu_usage_percent"] == 0
    assert all(c["usage_percent"] == 0 for c in cpu["per_core"])
    cpuinfo = (host_root / "proc/cpuinfo").read_text()
    brand = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M).group(1).strip()
    mhz = float(re.search(r"^cpu MHz\s*:\s*(.+)$", cpuinfo, re.M).group(1))
    assert cpu["brand"] == brand
    assert cpu["frequency"] == round_half_up(mhz, 0)  # no cpufreq in the fixture's sys tree

    # /proc/net/dev: totals over non-loopback interfaces; counters unchanged → rates 0.
    counters = read_net_dev(host_root / "proc/net/dev")
    network = info["network"]
    assert network["interfaces"] == list(counters)
    loopback = {name for name in counters if (host_root / f"sys/class/net/{name}/type").read_text().strip() == "772"}
    assert loopback == {"lo"}
    assert network["bytes_received"] == sum(c[0] for n, c in counters.items() if n not in loopback)
    assert network["bytes_sent"] == sum(c[8] for n, c in counters.items() if n not in loopback)
    for detail in network["details"]:
        c = counters[detail["name"]]
        assert detail["loopback"] == (detail["name"] in loopback)
        assert (detail["receive_bytes"], detail["receive_packets"], detail["receive_errors"], detail["receive_drops"]) == tuple(c[0:4])
        assert (detail["transmit_bytes"], detail["transmit_packets"], detail["transmit_errors"], detail["transmit_drops"]) == tuple(c[8:12])
        for key in ("receive_bytes_per_second", "transmit_bytes_per_second", "receive_packets_per_second", "transmit_packets_per_second"):
            assert detail[key] == 0, (detail["name"], key, detail[key])

    # Disks: the fixture's mountinfo has one real filesystem (ext4 /dev/vda on /); tmpfs, proc, sysfs,
    # devtmpfs, devpts and cgroup are pseudo filesystems and excluded.
    disks = info["disks"]
    assert [(d["device"], d["mount_point"], d["fs_type"], d["read_only"], d["stale"]) for d in disks] == [("/dev/vda", "/", "ext4", False, False)]
    root = disks[0]
    assert health["disk_usage_percent"] == root["usage_percent"]
    used, avail = root["used_bytes"], root["available_bytes"]
    assert root["usage_percent"] == pytest.approx(used / (used + avail) * 100, abs=0.01)  # as df computes it

    # No hwmon, an empty thermal directory: no sensors, temperature null (not 0).
    assert info["temperatures"] == [] and health["temperature"] is None
    # The capture has no process directories and no /run/systemd/system: every default service is found stopped
    # by the /proc scan (the spec's list, in its order, plus viworks-gateway-agent).
    services = fixture_status["services"]
    assert [(s["name"], s["status"], s["pid"], s["source"], s["critical"]) for s in services] == [
        ("docker", "stopped", None, "proc", False),
        ("sshd", "stopped", None, "proc", True),
        ("nginx", "stopped", None, "proc", True),
        ("postgres", "stopped", None, "proc", False),
        ("redis", "stopped", None, "proc", False),
        ("openvpn", "stopped", None, "proc", False),
        ("viworks-gateway-agent", "stopped", None, "proc", True),
    ]
    assert fixture_status["containers"] == []
    assert fixture_status["engine"] == {"status": "disabled", "version": None, "api_version": None, "reason": "[containers] enabled = false"}
    names = [c["name"] for c in fixture_status["collectors"]]
    assert names == ["cpu", "memory", "disk", "load", "uptime", "network", "temperature", "host", "services", "processes", "pressure"]
    assert all(c["status"] == "running" and c["last_success"] is True and c["failures"] == 0 for c in fixture_status["collectors"])
