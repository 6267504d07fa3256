"""The services collector under a real systemd: Debian 12 booted in systemd-nspawn (nspawn_machine.py) with
openssh-server, nginx-light and redis-server installed from Debian's packages and started at boot by their own units,
and the agent running as its systemd unit with `[agent] interval = "2s"`.

In order: the daemons are `running` with systemd's MainPID; postgres and docker, not installed, are `stopped` with
`load_state` "not-found"; the probes answer; `systemctl stop nginx` is seen within one interval and a start gives a new
PID; a unit that fails and a unit that crash-loops are `error`.
"""

from __future__ import annotations

import json
import time

import pytest

from nspawn_machine import UNIT, Machine, booted_machine, wait_for

# A collection started just before a change still reports the old state; the next one the new one. Waits allow a
# loaded machine (WAIT); a state change is checked in collections, not seconds.
WAIT = 60.0

CONFIG_TEXT = """\
[agent]
interval = "2s"

[log]
level = "debug"

[services.nginx]
probe = "http://127.0.0.1:80/"

[services.redis]
probe = "redis://127.0.0.1:6379"

[services.broken]
units = ["viworks-broken.service"]

[services.crashloop]
units = ["viworks-crashloop.service"]

# Configured by Debian's alias of ssh.service, which ListUnits does not list.
[services.sshalias]
units = ["sshd.service"]

# These tests poll the API many times a second from one address (100 requests per minute by default).
[rate_limit]
requests_per_minute = 0
"""

UNIT_FILES = {
    "/etc/systemd/system/viworks-broken.service": """\
[Unit]
Description=ViWorks test: a service that fails at once

[Service]
ExecStart=/bin/false
""",
    "/etc/systemd/system/viworks-crashloop.service": """\
[Unit]
Description=ViWorks test: a service that exits 3 and is restarted forever
StartLimitIntervalSec=0

[Service]
ExecStart=/bin/sh -c 'exit 3'
Restart=always
RestartSec=1
""",
}

# The spec's service names, and the units Debian's packages install for them.
DAEMONS = {"sshd": "ssh.service", "nginx": "nginx.service", "redis": "redis-server.service"}

TIMINGS: dict[str, float] = {}
OBSERVED: list[str] = []


@pytest.fixture(scope="module")
def machine(release_bin, request: pytest.FixtureRequest):
    with booted_machine(release_bin, request, CONFIG_TEXT, TIMINGS, label="services", extra_files=UNIT_FILES) as m:
        m.run("systemctl", "start", UNIT, timeout=90)
        yield m
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and OBSERVED:
        with capture.global_and_fixture_disabled():
            reporter.write_line("services observed: " + "; ".join(OBSERVED))


def services(m: Machine) -> dict:
    code, body = m.http("/api/v1/services")
    if code != 200:
        return {}
    return json.loads(body)


def by_name(m: Machine) -> dict[str, dict]:
    return {s["name"]: s for s in services(m).get("services", [])}


def main_pid(m: Machine, unit: str) -> int:
    return int(m.run("systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip())


def unit_pids(m: Machine, unit: str) -> list[int]:
    """The processes of a unit's cgroup, read in the container: in the cgroup v2 tree (the root on a pure v2 host,
    `unified/` on a hybrid one), else in v1's `systemd/` tree."""
    group = m.run("systemctl", "show", "-p", "ControlGroup", "--value", unit).stdout.strip()
    script = (
        'if [ -e /sys/fs/cgroup/cgroup.controllers ]; then t=/sys/fs/cgroup; '
        'elif [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then t=/sys/fs/cgroup/unified; else t=/sys/fs/cgroup/systemd; fi; '
        'cat "$t$1/cgroup.procs"'
    )
    return sorted(int(p) for p in m.run("sh", "-c", script, "sh", group).stdout.split())


def wait_service(m: Machine, name: str, what: str, predicate, timeout: float) -> dict:
    last: dict = {}

    def check():
        nonlocal last
        last = by_name(m).get(name, {})
        return last if last and predicate(last) else None

    try:
        return wait_for(f"{name} {what}", check, timeout, interval=0.1)
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen: {json.dumps(last)}\n{m.diagnostics()}") from None


# MARK: - Tests, in order


def test_daemons_are_running_with_systemds_main_pid(machine: Machine) -> None:
    started = time.monotonic()
    wait_for("services from systemd", lambda: services(machine).get("source") == "systemd" and all(n in by_name(machine) for n in DAEMONS), WAIT)
    TIMINGS["first services report"] = time.monotonic() - started
    report = services(machine)
    assert report["source"] == "systemd" and report.get("bus_error") is None, report
    for name, unit in DAEMONS.items():
        pid = main_pid(machine, unit)
        assert pid > 0, f"{unit} has no MainPID: {machine.run('systemctl', 'status', unit, '--no-pager', check=False).stdout}"
        # Memory comes from the second collection at the latest (CPU needs two).
        service = wait_service(machine, name, "running with memory", lambda s: s["status"] == "running" and (s.get("memory_bytes") or 0) > 0, WAIT)
        OBSERVED.append(
            f"{name} unit={service['unit']} pid={service['pid']} MainPID={pid} memory={service['memory_bytes']} pss={service.get('pss_bytes')} "
            f"processes={service['process_count']} cgroup={unit_pids(machine, unit)} cpu={service.get('cpu_percent')}"
        )
        assert service["unit"] == unit
        assert service["pid"] == pid, (service, pid)
        assert service["source"] == "systemd"
        assert (service["load_state"], service["active_state"], service["sub_state"]) == ("loaded", "active", "running"), service
        assert service["process_count"] >= 1
        # Every process of the unit's cgroup (nginx: the master and its workers), not only the main one.
        assert service["process_count"] == len(unit_pids(machine, unit)), (service, unit_pids(machine, unit))
        assert service["restarts"] == 0
        assert service["since"]
        assert service["discovered"] is False
    # The single-service route agrees.
    code, body = machine.http("/api/v1/services/nginx")
    assert code == 200, body
    assert json.loads(body)["pid"] == main_pid(machine, "nginx.service")


def test_a_service_configured_by_an_alias_is_the_unit_it_names(machine: Machine) -> None:
    service = wait_service(machine, "sshalias", "running", lambda s: s["status"] == "running", WAIT)
    assert service["unit"] == "ssh.service", service
    assert service["pid"] == main_pid(machine, "ssh.service")


def test_missing_services_are_stopped_and_not_found(machine: Machine) -> None:
    found = by_name(machine)
    for name in ("postgres", "docker"):
        service = found[name]
        OBSERVED.append(f"{name} unit={service.get('unit')} status={service['status']} load_state={service.get('load_state')}")
        assert service["status"] == "stopped", service
        assert service["load_state"] == "not-found", service
        assert service["source"] == "systemd"
        assert service.get("pid") is None
        assert "not installed" in (service.get("reason") or ""), service
    assert found["postgres"]["unit"] == "postgresql.service"
    assert found["docker"]["unit"] == "docker.service"
    code, body = machine.http("/metrics")
    assert code == 200
    assert 'viworks_service_up{service="nginx"} 1' in body
    assert 'viworks_service_up{service="docker"} 0' in body


def test_probes_answer(machine: Machine) -> None:
    expected = {"sshd": ("tcp", "127.0.0.1:22"), "nginx": ("http", "127.0.0.1:80/"), "redis": ("redis", "127.0.0.1:6379")}
    for name, (kind, target) in expected.items():
        service = wait_service(machine, name, "probed", lambda s: s.get("probe") is not None, WAIT)
        probe = service["probe"]
        OBSERVED.append(f"{name} probe={probe['kind']}://{probe['target']} ok={probe['ok']} {probe.get('duration_seconds')}s {probe.get('detail')!r}")
        assert probe["ok"] is True, service
        assert probe["kind"] == kind
        assert target in probe["target"] or probe["target"] in target, probe
        assert service["status"] == "running"


def test_cpu_comes_from_two_collections(machine: Machine) -> None:
    for name in DAEMONS:
        service = wait_service(machine, name, "with a CPU figure", lambda s: s.get("cpu_percent") is not None, WAIT)
        OBSERVED.append(f"{name} cpu_percent={service['cpu_percent']}")
        assert 0 <= service["cpu_percent"] < 100 * 64, service


def services_collections(m: Machine) -> int:
    """How many collections the services collector has completed."""
    code, body = m.http("/api/v1/collectors")
    assert code == 200, body
    return next(c["collections"] for c in json.loads(body)["collectors"] if c["name"] == "services")


def test_stopping_nginx_is_seen_within_one_interval(machine: Machine) -> None:
    """Counted in collections, not seconds: the collection in progress when the unit stopped may still see it running;
    the next one, which begins after, reports it stopped."""
    old = main_pid(machine, "nginx.service")
    machine.run("systemctl", "stop", "nginx.service")
    stopped = time.monotonic()
    at_stop = services_collections(machine)

    def seen_stopped() -> dict | None:
        # The count first: the report read after it is of that collection or a later one (its count may go up just
        # before the report is published, hence the third collection).
        completed = services_collections(machine) - at_stop
        service = by_name(machine).get("nginx", {})
        assert service.get("status") == "stopped" or completed < 3, f"nginx still {service.get('status')} {completed} collections after the stop"
        return service if service.get("status") == "stopped" else None

    service = wait_for("nginx stopped", seen_stopped, WAIT)
    TIMINGS["nginx stop -> stopped"] = time.monotonic() - stopped
    assert (service["load_state"], service["active_state"], service["sub_state"]) == ("loaded", "inactive", "dead"), service
    assert service.get("pid") is None
    assert service.get("probe") is None
    code, body = machine.http("/metrics")
    assert 'viworks_service_up{service="nginx"} 0' in body

    machine.run("systemctl", "start", "nginx.service")
    started = time.monotonic()
    new = main_pid(machine, "nginx.service")
    assert new > 0 and new != old
    service = wait_service(machine, "nginx", "running again", lambda s: s["status"] == "running" and s["pid"] == new, WAIT)
    TIMINGS["nginx start -> running"] = time.monotonic() - started
    OBSERVED.append(f"nginx restarted: pid {old} -> {new}")
    assert service["probe"]["ok"] is True


def test_a_failed_unit_is_error(machine: Machine) -> None:
    assert by_name(machine)["broken"]["status"] == "stopped"  # loaded, never started
    machine.run("systemctl", "start", "viworks-broken.service", check=False)
    started = time.monotonic()
    wait_for("viworks-broken failed", lambda: machine.show("viworks-broken.service")["ActiveState"] == "failed", WAIT)
    service = wait_service(machine, "broken", "error", lambda s: s["status"] == "error", WAIT)
    TIMINGS["failed unit -> error"] = time.monotonic() - started
    OBSERVED.append(f"broken: {service['active_state']}/{service['sub_state']} reason={service['reason']!r}")
    assert service["unit"] == "viworks-broken.service"
    assert service["active_state"] == "failed"
    assert "failed" in service["reason"], service
    assert service.get("pid") is None


def test_a_crash_looping_unit_is_error(machine: Machine) -> None:
    machine.run("systemctl", "start", "viworks-crashloop.service", check=False)
    started = time.monotonic()
    try:
        service = wait_service(
            machine, "crashloop", "crash-looping", lambda s: s["status"] == "error" and (s.get("restarts") or 0) > 0, WAIT
        )
        TIMINGS["crash loop -> error"] = time.monotonic() - started
        OBSERVED.append(f"crashloop: {service['active_state']}/{service['sub_state']} restarts={service['restarts']} reason={service['reason']!r}")
        assert service["sub_state"] == "auto-restart", service
        assert "restart" in service["reason"], service
        assert int(machine.show("viworks-crashloop.service")["NRestarts"]) >= service["restarts"]
    finally:
        machine.run("systemctl", "stop", "viworks-crashloop.service", check=False)
