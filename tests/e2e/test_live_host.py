"""Invariants of the agent's answers about this machine, checked against /proc read by the test."""

from __future__ import annotations

from pathlib import Path

from conftest import JSON_TYPE, assert_valid, component_validator, read_meminfo, read_net_dev

PROC = Path("/proc")
SYS = Path("/sys")


def percentages(node, where="$"):
    """Every (path, value) whose key ends in `_percent`, anywhere in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_percent") and not isinstance(value, (dict, list)):
                yield f"{where}.{key}", value
            else:
                yield from percentages(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from percentages(value, f"{where}[{index}]")


def test_every_percentage_is_within_0_and_100(live_agent):
    status = live_agent.get_json("/api/v1/status")
    simple = live_agent.get_json("/api/v1/status-simple")
    found = list(percentages(status)) + [(f"simple.{k}", v) for k, v in simple.items() if k.endswith("_percent") and k != "load_percent"]
    assert len(found) >= 10
    bad = [(where, value) for where, value in found if value is not None and not (0 <= value <= 100)]
    assert not bad, bad
    # After the priming collection every headline figure is known on a Linux host.
    health = status["system_health"]
    for key in ("cpu_usage_percent", "memory_usage_percent", "disk_usage_percent"):
        assert isinstance(health[key], (int, float)), (key, health[key])
    assert status["system_info"]["cpu"]["usage_percent"] == health["cpu_usage_percent"]
    assert simple["load_percent"] is None or simple["load_percent"] >= 0


def test_memory_total_is_memtotal(live_agent):
    memory = live_agent.get_json("/api/v1/system")["memory"]
    meminfo = read_meminfo(PROC / "meminfo")
    assert memory["total_bytes"] == meminfo["MemTotal"] * 1024
    assert memory["used_bytes"] + memory["available_bytes"] == memory["total_bytes"]
    assert memory["total_gb"] == round(memory["total_bytes"] / 2**30, 2)
    assert memory["available_estimated"] is ("MemAvailable" not in meminfo)


def test_every_non_loopback_interface_is_reported(live_agent):
    network = live_agent.get_json("/api/v1/system")["network"]
    reported = set(network["interfaces"])
    assert reported == {d["name"] for d in network["details"]}
    expected = set()
    for name in read_net_dev(PROC / "net/dev"):
        type_file = SYS / "class/net" / name / "type"
        if name == "lo" or (type_file.exists() and type_file.read_text().strip() == "772"):
            continue
        expected.add(name)
    assert expected, "this host has no non-loopback interface"
    assert expected <= reported, f"missing: {expected - reported}"
    # Totals count each packet once: over the interfaces backed by a device (not veths, bridges, ifb…), when there is one.
    non_loopback = [d for d in network["details"] if not d["loopback"]]
    devices = [d for d in non_loopback if (SYS / "class/net" / d["name"] / "device").exists()] or non_loopback
    assert network["bytes_received"] == sum(d["receive_bytes"] for d in devices)
    assert network["bytes_sent"] == sum(d["transmit_bytes"] for d in devices)


def test_root_filesystem_is_reported(live_agent):
    status = live_agent.get_json("/api/v1/status")
    roots = [d for d in status["system_info"]["disks"] if d["mount_point"] == "/"]
    assert len(roots) == 1, status["system_info"]["disks"]
    root = roots[0]
    assert root["total_bytes"] > 0 and not root["stale"]
    assert status["system_health"]["disk_usage_percent"] == root["usage_percent"]
    used, avail = root["used_bytes"], root["available_bytes"]
    assert root["usage_percent"] == round(used / (used + avail) * 100, 2) or abs(root["usage_percent"] - used / (used + avail) * 100) < 0.01
    keys = {(d["device"], d["mount_point"]) for d in status["system_info"]["disks"]}
    assert len(keys) == len(status["system_info"]["disks"]), "a filesystem is reported twice"


def test_load_average_is_proc_loadavg(live_agent):
    load = live_agent.get_json("/api/v1/status")["system_health"]["load_average"]
    fields = (PROC / "loadavg").read_text().split()
    for key, value in zip(("one_minute", "five_minutes", "fifteen_minutes"), fields[:3]):
        # The agent's figure is up to one interval (30 s) old: on a busy machine the 1-minute average moves that much.
        assert abs(load[key] - float(value)) <= max(1.0, 0.3 * float(value)), (key, load[key], value)


def test_cores_and_uptime(live_agent):
    status = live_agent.get_json("/api/v1/status")
    cpu = status["system_info"]["cpu"]
    online = [l for l in (PROC / "stat").read_text().splitlines() if l.startswith("cpu") and not l.startswith("cpu ")]
    assert cpu["cores"] == len(online) == len(cpu["per_core"])
    uptime = float((PROC / "uptime").read_text().split()[0])
    assert 0 <= uptime - status["system_health"]["uptime_seconds"] <= 60
    assert status["system_info"]["system"]["hostname"] == (PROC / "sys/kernel/hostname").read_text().strip()


def test_health_is_healthy(live_agent, openapi_doc):
    response = live_agent.get("/api/v1/health")
    assert response.status == 200
    assert response.header("content-type") == JSON_TYPE
    assert response.header("cache-control") == "no-store"
    body = response.json()
    assert_valid(component_validator(openapi_doc, "Health"), body, "health")
    assert body["status"] == "healthy"
    assert body["version"] and isinstance(body["version"], str)
    assert isinstance(body["uptime"], int) and not isinstance(body["uptime"], bool)
    uptime = float((PROC / "uptime").read_text().split()[0])
    # `uptime` is the system uptime as of the last uptime collection (default interval 30 s, later on a loaded machine).
    assert 0 <= uptime - body["uptime"] <= 60
    assert body["failed_collectors"] == []
    assert body["agent_uptime_seconds"] > 0
