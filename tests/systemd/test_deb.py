"""`make deb`: the Debian package an operator installs, installed with apt-get into a booted Debian 12 (systemd as PID 1
in systemd-nspawn, no network), then removed, reinstalled and purged.

What a user of Debian's prometheus-node-exporter package expects: the unit enabled and started on install, the
configuration a conffile (an edit survives remove and reinstall), a system user, the state directory made on
install and kept until purge.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from nspawn_machine import UNIT, Machine, booted_machine, wait_for
from systemd_helpers import REPO_ROOT
from test_install import section_names

TIMINGS: dict[str, float] = {}
IN_CONTAINER = "/var/tmp"


@pytest.fixture(scope="module")
def package(release_bin: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deb")
    # `-o release -o deps`: the binary under test is already built; make must not rebuild or install packages.
    run = subprocess.run(
        ["make", "-C", str(REPO_ROOT), "-o", "release", "-o", "deps", "deb", f"RELEASE_BIN={release_bin}", f"DEB_DIR={out}"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    debs = list(out.glob("viworks-agent_*_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def machine(release_bin, request: pytest.FixtureRequest):
    with booted_machine(release_bin, request, "", TIMINGS, label="deb", install_agent=False) as m:
        yield m


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True, text=True).stdout.strip()


def apt(m: Machine, *arguments: str) -> subprocess.CompletedProcess:
    return m.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", *arguments, timeout=180)


def healthy_within(m: Machine, seconds: float) -> float:
    started = time.monotonic()
    wait_for("health 200 after install", lambda: m.http("/api/v1/health")[0] == 200, seconds, interval=0.2)
    return time.monotonic() - started


def test_the_package_holds_the_stripped_binary_the_unit_and_the_configuration(package: Path, release_bin: Path, tmp_path: Path) -> None:
    assert package.name == f"viworks-agent_{field(package, 'Version')}_{field(package, 'Architecture')}.deb"
    depends = field(package, "Depends")
    for library_package in ("libc6", "libsystemd0", "libsqlite3-0"):
        assert library_package in depends, depends
    contents = subprocess.run(["dpkg-deb", "-c", str(package)], check=True, capture_output=True, text=True).stdout
    for path in ("./usr/bin/viworks-agent", "./lib/systemd/system/viworks-agent.service", "./etc/viworks-agent/agent.toml"):
        assert path in contents, contents
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(package), str(control)], check=True)
    assert (control / "conffiles").read_text().split() == ["/etc/viworks-agent/agent.toml"]
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(package), str(tree)], check=True)
    binary = tree / "usr/bin/viworks-agent"
    assert ".symtab" not in section_names(binary)
    assert binary.stat().st_size < release_bin.stat().st_size * 0.8
    # Hardened like Debian's own packages: position-independent, full RELRO (bound at start, GOT read-only).
    dynamic = subprocess.run(["readelf", "-d", "-W", str(binary)], check=True, capture_output=True, text=True).stdout
    assert "BIND_NOW" in dynamic and "Flags: NOW PIE" in dynamic, dynamic
    assert "GNU_RELRO" in subprocess.run(["readelf", "-l", "-W", str(binary)], check=True, capture_output=True, text=True).stdout
    # ICU's data trimmed (packaging/icu-data/trim.py): the time zone rules and the IDNA mapping of host names are there,
    # the break dictionaries are not.
    data = binary.read_bytes()
    assert re.search(rb"icudt\d+l/zoneinfo64\.res", data) and re.search(rb"icudt\d+l/uts46\.nrm", data)
    assert not re.search(rb"icudt\d+l/brkitr/cjdict\.dict", data)
    unit = (tree / "lib/systemd/system/viworks-agent.service").read_text()
    assert "ExecStart=/usr/bin/viworks-agent run" in unit and "/usr/local/bin" not in unit
    assert (tree / "etc/viworks-agent/agent.toml").read_text() == (REPO_ROOT / "examples/agent.toml").read_text()
    print(f"\n{package.name}: {package.stat().st_size / 1e6:.1f} MB, installed {int(field(package, 'Installed-Size')) / 1e3:.1f} MB")


def test_apt_install_remove_reinstall_and_purge_in_a_booted_debian(package: Path, machine: Machine) -> None:
    m = machine
    shutil.copy2(package, m.root / IN_CONTAINER.lstrip("/") / package.name)
    apt(m, "install", f"{IN_CONTAINER}/{package.name}")
    took = healthy_within(m, 60)
    print(f"\nhealth 200 {took:.1f} s after apt-get install returned")
    assert m.run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
    assert m.run("systemctl", "is-active", UNIT).stdout.strip() == "active"
    assert m.run("getent", "passwd", "viworks-agent").stdout.split(":")[6].strip() == "/usr/sbin/nologin"
    assert m.run("stat", "-c", "%U:%G %a", "/var/lib/viworks-agent").stdout.strip() == "root:root 750"
    assert m.run("stat", "-c", "%U:%G %a", "/etc/viworks-agent/agent.toml").stdout.strip() == "root:viworks-agent 640"

    # An operator's edit of the conffile, and state worth keeping: history flushed every second.
    m.run("sed", "-i", "-e", '0,/# interval = "30s"/s//interval = "1s"/', "-e", 's/# flush_interval = "30s"/flush_interval = "1s"/',
          "/etc/viworks-agent/agent.toml")
    m.run("systemctl", "restart", UNIT, timeout=90)
    healthy_within(m, 60)

    def stored_points() -> int:
        code, body = m.http("/api/v1/metrics/viworks_load1/history")
        series = json.loads(body)["series"] if code == 200 else []
        return len(series[0]["points"]) if series else 0

    wait_for("history points on disk", lambda: stored_points() >= 3, 60, interval=0.5)
    m.run("systemctl", "stop", UNIT, timeout=60)
    before = m.run("sha256sum", "/var/lib/viworks-agent/history.db").stdout.split()[0]

    apt(m, "remove", "viworks-agent")
    assert m.run("test", "-e", "/usr/bin/viworks-agent", check=False).returncode == 1
    assert m.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"
    assert '\n  interval = "1s"' in m.run("cat", "/etc/viworks-agent/agent.toml").stdout
    assert m.run("sha256sum", "/var/lib/viworks-agent/history.db").stdout.split()[0] == before

    apt(m, "install", f"{IN_CONTAINER}/{package.name}")
    healthy_within(m, 60)
    assert m.run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
    assert '\n  interval = "1s"' in m.run("cat", "/etc/viworks-agent/agent.toml").stdout, "the edited conffile was replaced"
    # The history from before the removal is served again.
    assert stored_points() >= 3

    apt(m, "purge", "viworks-agent")
    for path in ("/var/lib/viworks-agent", "/etc/viworks-agent", "/usr/bin/viworks-agent"):
        assert m.run("test", "-e", path, check=False).returncode == 1, f"{path} left after purge"
    assert m.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() not in ("enabled", "masked")
