"""A Debian 12 container booted with systemd as PID 1 (systemd-nspawn), with the agent installed as a systemd unit.

Shared by test_nspawn.py (the agent as a unit: notify, journal, reload, watchdog, stop) and test_services_systemd.py
(the services collector against real units: ssh, nginx, redis-server, failing units).

The container's root filesystem is made by debootstrap once and cached as a zstd tarball in $VIWORKS_CI_CACHE
(default /var/cache/viworks-ci), then unpacked fresh for every test module (about a second). The release binary
(`--static-swift-stdlib`, so no Swift runtime is needed inside) and examples/systemd/viworks-agent.service are
installed in it, with a drop-in that shortens the watchdog to 10 s. Debian's postinst scripts enable the daemons'
units (openssh-server, nginx-light, redis-server) in the chroot without starting them: they start at boot.

The container runs in a cgroup of its own; `booted_machine` stops nspawn, kills whatever is left in that cgroup and
removes it, also when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from systemd_helpers import REPO_ROOT, require_root_and_tools, skip_or_fail

CACHE_DIR = Path(os.environ.get("VIWORKS_CI_CACHE", "/var/cache/viworks-ci"))
MIRROR = os.environ.get("VIWORKS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# libsqlite3-0: the agent links SQLite dynamically (the audit log, through GRDB).
PACKAGES = "systemd,systemd-sysv,dbus,libsystemd0,libsqlite3-0,libstdc++6,procps,openssh-server,nginx-light,redis-server"
# Bump when PACKAGES or the way the tarball is made changes.
TARBALL = CACHE_DIR / "debian12-systemd-rootfs-v4.tar.zst"
UNIT = "viworks-agent.service"
CONFIG = "/etc/viworks-agent/agent.toml"
MACHINE = "viworksci"

DROP_IN = """\
# Test settings on top of examples/systemd/viworks-agent.service.
[Unit]
# The watchdog test restarts the agent; never hit the start limit.
StartLimitIntervalSec=0

[Service]
# Short, so that the watchdog test is, but with five seconds between pings: a loaded machine never misses one.
WatchdogSec=10s
RestartSec=500ms
"""

# Commands in the container get a clean environment: the agent rejects unknown VIWORKS_* variables such as the tests' own.
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def wait_for(what: str, condition: Callable[[], object], timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def messages(entries: list[dict]) -> list[str]:
    return [e["MESSAGE"] for e in entries if isinstance(e.get("MESSAGE"), str)]


# MARK: - Root filesystem


def rootfs_tarball(timings: dict[str, float]) -> Path:
    if TARBALL.exists():
        return TARBALL
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="viworks-debootstrap-", dir="/var/tmp"))
    try:
        started = time.monotonic()
        run = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(work / "rootfs"), MIRROR],
            capture_output=True, text=True, timeout=1200,
        )
        if run.returncode != 0:
            tail = "\n".join((run.stdout + run.stderr).splitlines()[-15:])
            skip_or_fail(f"debootstrap from {MIRROR} failed (no network?):\n{tail}")
        timings["debootstrap"] = time.monotonic() - started
        partial = TARBALL.with_name(TARBALL.name + f".{os.getpid()}.partial")
        subprocess.run(["tar", "--zstd", "-cf", str(partial), "-C", str(work / "rootfs"), "."], check=True)
        os.replace(partial, TARBALL)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TARBALL


# MARK: - The container


class Machine:
    def __init__(self, root: Path, log_path: Path, timings: dict[str, float]) -> None:
        self.root = root
        self.log_path = log_path
        self.timings = timings
        self.cgroups: list[Path] = []
        self.process: subprocess.Popen | None = None
        self.leader: int | None = None
        self.booted = False

    # Boot and teardown

    def boot(self) -> None:
        base = Path("/sys/fs/cgroup")
        name = f"viworks-ci-{os.getpid()}"
        if (base / "cgroup.controllers").exists():
            self.cgroups = [base / name]  # pure cgroup v2
        else:
            self.cgroups = [base / h / name for h in ("systemd", "unified") if (base / h).is_dir()]
        for cgroup in self.cgroups:
            cgroup.mkdir(exist_ok=True)
        script = 'for d in "$@"; do echo $$ > "$d/cgroup.procs"; done; exec systemd-nspawn -q -D "$ROOT" --boot ' \
                 '--register=no --keep-unit --console=pipe --private-network --machine=' + MACHINE
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", script, "boot", *map(str, self.cgroups)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "ROOT": str(self.root)},
            )
        started = time.monotonic()

        def leader() -> int | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited with {self.process.returncode}:\n{self.log_path.read_text(errors='replace')}")
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            # The container's init is the child in a PID namespace of its own. For a moment nspawn also has its
            # "outer child" (which sets up the mounts, forks init and exits): taking that one would leave every later
            # nsenter aimed at a process that is gone.
            ours = os.readlink("/proc/self/ns/pid")
            for pid in pids:
                try:
                    if os.readlink(f"/proc/{pid}/ns/pid") != ours:
                        return int(pid)
                except OSError:
                    pass
            return None

        self.leader = wait_for("the container's init", leader, 60)
        wait_for("/run/systemd/private in the container", lambda: self.run("test", "-S", "/run/systemd/private", check=False).returncode == 0, 60)
        self.booted = True
        state = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=120).stdout.strip()
        self.timings["boot"] = time.monotonic() - started
        assert state in ("running", "degraded"), f"system state {state!r}:\n{self.run('systemctl', '--failed', check=False).stdout}"

    def shutdown(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # Stopping nspawn before PID 1 set up its bus would orphan the container's init: kill that instead.
            self.process.send_signal(signal.SIGTERM if self.booted else signal.SIGKILL)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # Whatever is left in the container's cgroups, then the cgroups themselves, deepest first.
        for _ in range(50):
            pids = set()
            for cgroup in self.cgroups:
                for procs in cgroup.rglob("cgroup.procs") if cgroup.exists() else []:
                    try:
                        pids.update(int(p) for p in procs.read_text().split())
                    except OSError:
                        pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for cgroup in self.cgroups:
                if cgroup.exists():
                    for directory in sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                        try:
                            directory.rmdir()
                        except OSError:
                            pass
                    try:
                        cgroup.rmdir()
                    except OSError:
                        pass
            if not any(c.exists() for c in self.cgroups):
                return
            time.sleep(0.1)
        raise AssertionError(f"could not remove {self.cgroups}")

    # Commands in the container

    def run(self, *command: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        assert self.leader is not None
        result = subprocess.run(
            ["nsenter", "-t", str(self.leader), "-a", "--", *command], capture_output=True, text=True, timeout=timeout, env=CLEAN_ENV
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}\n{self.diagnostics()}")
        return result

    def show(self, unit: str = UNIT) -> dict[str, str]:
        out = self.run("systemctl", "show", unit, "--no-pager").stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, *arguments: str) -> list[dict]:
        out = self.run("journalctl", "-o", "json", "--no-pager", *arguments, check=False).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def cursor(self) -> str:
        self.run("journalctl", "--sync", check=False)
        entries = self.journal("-n", "1")
        return entries[-1]["__CURSOR"] if entries else ""

    def journal_after(self, cursor: str, *arguments: str) -> list[dict]:
        return self.journal(f"--after-cursor={cursor}", *arguments) if cursor else self.journal(*arguments)

    def http(self, path: str) -> tuple[int, str]:
        """GET on the agent from inside the container's network namespace (with the host's curl)."""
        assert self.leader is not None
        result = subprocess.run(
            ["nsenter", "-t", str(self.leader), "-n", "--", "curl", "-s", "-m", "30", "-w", "\n%{http_code}", f"http://127.0.0.1:9740{path}"],
            capture_output=True, text=True, timeout=60, env=CLEAN_ENV,
        )
        body, _, code = result.stdout.rpartition("\n")
        return int(code or 0), body

    def diagnostics(self) -> str:
        if self.leader is None:
            return ""
        status = subprocess.run(["nsenter", "-t", str(self.leader), "-a", "--", "systemctl", "status", UNIT, "--no-pager", "-n", "40"],
                                capture_output=True, text=True, timeout=30, env=CLEAN_ENV)
        return f"--- systemctl status {UNIT}\n{status.stdout}{status.stderr}"


@contextlib.contextmanager
def booted_machine(
    release_bin: Path, request: pytest.FixtureRequest, config_text: str, timings: dict[str, float], label: str = "nspawn",
    extra_files: dict[str, str] | None = None, install_agent: bool = True,
) -> Iterator[Machine]:
    """A fresh container with the agent's unit installed (not started) and `config_text` as its configuration;
    `extra_files` (path in the container → text) are written before boot. With `install_agent=False` the container
    has neither the agent nor its unit (the Debian package test installs them). Reports `timings` at the end."""
    require_root_and_tools("systemd-nspawn", "debootstrap", "nsenter", "curl", "zstd")
    libraries = subprocess.run(["ldd", str(release_bin)], capture_output=True, text=True).stdout
    if "libswiftCore" in libraries:
        pytest.fail(f"{release_bin} links the Swift runtime dynamically: build it with --static-swift-stdlib")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    started = time.monotonic()
    tarball = rootfs_tarball(timings)
    work = Path(tempfile.mkdtemp(prefix="viworks-nspawn-", dir="/var/tmp"))
    m = Machine(work / "rootfs", work / "nspawn.log", timings)
    failed_before = request.session.testsfailed
    try:
        root = m.root
        root.mkdir()
        unpacked = time.monotonic()
        subprocess.run(["tar", "--zstd", "-xf", str(tarball), "-C", str(root)], check=True)
        timings["unpack"] = time.monotonic() - unpacked
        for path, text in (extra_files or {}).items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        if not install_agent:
            m.boot()
            yield m
            return
        # The agent, its unit (as shipped) with the test drop-in, and a configuration.
        shutil.copy2(release_bin, root / "usr/local/bin/viworks-agent")
        shutil.copy2(REPO_ROOT / "examples/systemd/viworks-agent.service", root / "etc/systemd/system" / UNIT)
        (root / f"etc/systemd/system/{UNIT}.d").mkdir(parents=True, exist_ok=True)
        (root / f"etc/systemd/system/{UNIT}.d/test.conf").write_text(DROP_IN)
        (root / "etc/viworks-agent").mkdir(exist_ok=True)
        (root / CONFIG.lstrip("/")).write_text(config_text)
        # The static-stdlib binary must run with nothing but the container's libraries.
        # (With /proc mounted: the Swift runtime reads the arguments from /proc/self/cmdline.)
        version = subprocess.run(
            ["unshare", "--fork", f"--mount-proc={root}/proc", "chroot", str(root), "/usr/local/bin/viworks-agent", "version"],
            capture_output=True, text=True, env=CLEAN_ENV, timeout=30,
        )
        assert version.returncode == 0, f"the release binary does not run in a plain Debian root: {version.stderr}"
        m.boot()
        yield m
    finally:
        if request.session.testsfailed > failed_before and m.leader is not None:
            try:
                journal = m.run("journalctl", "-u", UNIT, "-n", "80", "--no-pager", check=False).stdout
                reporter.write_line(f"--- journalctl -u {UNIT} (last 80)\n{journal}")
            except Exception as error:  # diagnostics only
                reporter.write_line(f"(no journal: {error})")
        m.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        timings["total"] = time.monotonic() - started
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\n{label} timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
