"""Services against real daemons from Debian's packages, started on loopback for this module.

nginx-light, redis-server, PostgreSQL 15 and OpenSSH run as ordinary processes on free ports (no systemd here, so
the agent uses its /proc scan). Each service is located by a command-line pattern unique to this run, so a daemon
that happens to run on the machine already cannot be mistaken for ours; the comm-based defaults are covered by
the fixture tests in Swift. `make deps` installs the packages; without them the module is skipped (CI installs them).

Then: each daemon is `running` with its true PID and real memory and its protocol probe answers; a SIGSTOPped
redis becomes `unresponsive`, a killed one `stopped` within one interval; a hung D-Bus (a socket that accepts and
never answers) turns the agent to /proc without stalling anything.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import free_port, start_agent, wait_for

INTERVAL = 2.0
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def wait_port(port: int, timeout: float = 60.0) -> None:
    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_for(answers, timeout=timeout, what=f"port {port}")


class Daemons:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.processes: list[subprocess.Popen] = []
        self.ports: dict[str, int] = {}
        self.patterns: dict[str, str] = {}
        self.pids: dict[str, int] = {}

    def spawn(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        log.close()
        self.processes.append(process)
        return process

    def start_nginx(self) -> None:
        port = free_port()
        conf = self.base / "nginx.conf"
        temp = self.base / "nginx-temp"
        temp.mkdir()
        conf.write_text(
            f"""worker_processes 2;
pid {self.base}/nginx.pid;
error_log {self.base}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fcgi;
  uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
"""
        )
        self.spawn("nginx", ["nginx", "-c", str(conf), "-g", "daemon off;"])
        wait_port(port)
        self.ports["nginx"] = port
        self.patterns["nginx"] = str(conf)
        self.pids["nginx"] = int((self.base / "nginx.pid").read_text().strip())

    def start_redis(self) -> None:
        port = free_port()
        process = self.spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no", "--save", ""])
        wait_port(port)
        self.ports["redis"] = port
        self.patterns["redis"] = f"127.0.0.1:{port}"
        self.pids["redis"] = process.pid

    def start_postgres(self) -> None:
        port = free_port()
        data = self.base / "pgdata"
        # Run as the postgres user directly (not through su, which would stay as the parent with the same arguments).
        subprocess.run(
            [str(POSTGRES_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True, capture_output=True, timeout=120, user="postgres", cwd=self.base,
        )
        self.spawn(
            "postgres",
            [str(POSTGRES_BIN / "postgres"), "-D", str(data), "-k", str(self.base), "-c", "listen_addresses=127.0.0.1", "-p", str(port)],
            user="postgres", cwd=self.base,
        )
        wait_port(port)
        self.ports["postgres"] = port
        self.patterns["postgres"] = f"-D {data}"
        self.pids["postgres"] = int((data / "postmaster.pid").read_text().split("\n")[0])

    def start_sshd(self) -> None:
        port = free_port()
        key = self.base / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        config = self.base / "sshd_config"
        config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {self.base}/sshd.pid\nUsePAM no\n")
        process = self.spawn("sshd", ["/usr/sbin/sshd", "-D", "-f", str(config)])
        wait_port(port)
        self.ports["sshd"] = port
        self.patterns["sshd"] = str(config)
        self.pids["sshd"] = process.pid

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # nginx workers and postgres backends are in the same sessions.
        for name in ("nginx", "postgres"):
            pid = self.pids.get(name)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def require_daemons() -> None:
    missing = [tool for tool in ("nginx", "redis-server", "/usr/sbin/sshd", str(POSTGRES_BIN / "postgres"), "ssh-keygen") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("VIWORKS_REQUIRE_SYSTEMD_TESTS") == "1":
            pytest.fail(f"missing {', '.join(missing)}: `make deps` installs nginx-light, redis-server, postgresql, openssh-server")
        pytest.skip(f"missing {', '.join(missing)} (make deps installs them)")
    if os.geteuid() != 0:
        pytest.skip("PostgreSQL and sshd are started as root here")


@pytest.fixture(scope="module")
def daemons():
    require_daemons()
    base = Path(tempfile.mkdtemp(prefix="viworks-daemons-", dir="/tmp"))
    base.chmod(0o755)
    shutil.chown(base, "postgres")
    started = Daemons(base)
    try:
        started.start_nginx()
        started.start_redis()
        started.start_postgres()
        started.start_sshd()
        yield started
    finally:
        started.stop()
        shutil.rmtree(base, ignore_errors=True)


def service_environment(daemons: Daemons) -> dict[str, str]:
    env = {"VIWORKS_AGENT_INTERVAL": f"{INTERVAL}s", "VIWORKS_SERVICES_PROBE_TIMEOUT": "1s", "VIWORKS_SERVICES_SYSTEMD": "off"}
    probes = {"nginx": "http://127.0.0.1:{}/", "redis": "redis://127.0.0.1:{}", "postgres": "postgres://127.0.0.1:{}", "sshd": "tcp://127.0.0.1:{}"}
    for name, template in probes.items():
        key = f"VIWORKS_SERVICES_{name.upper()}"
        env[f"{key}_PROBE"] = template.format(daemons.ports[name])
        env[f"{key}_PROCESS_NAMES"] = ""
        env[f"{key}_COMMAND_PATTERNS"] = daemons.patterns[name]
    return env


@pytest.fixture(scope="module")
def agent(daemons, tmp_path_factory):
    agent = start_agent(tmp_path_factory.mktemp("services"), env=service_environment(daemons))
    yield agent
    agent.stop()


def services(agent) -> dict[str, dict]:
    return {s["name"]: s for s in agent.get_json("/api/v1/services")["services"]}


def test_each_daemon_is_running_with_its_true_pid_memory_and_an_answering_probe(agent, daemons) -> None:
    expected_probe = {"nginx": "HTTP 200", "redis": "+PONG", "postgres": "SSLRequest answered N", "sshd": "connected"}

    def all_probed():
        current = services(agent)
        return current if all(current.get(name, {}).get("probe") for name in expected_probe) else None

    current = wait_for(all_probed, timeout=60, what="probes of the four daemons")
    for name, detail in expected_probe.items():
        service = current[name]
        assert service["status"] == "running", (name, service)
        assert service["pid"] == daemons.pids[name], (name, service["pid"], daemons.pids[name])
        assert service["source"] == "proc"
        assert service["memory_bytes"] > 1_000_000, (name, service["memory_bytes"])
        assert service["process_count"] >= 1
        assert service["probe"]["ok"] is True and service["probe"]["detail"] == detail, (name, service["probe"])
        assert service["since"].endswith("+00:00")
    assert current["nginx"]["process_count"] == 3, "the master and its two workers"
    assert current["postgres"]["process_count"] >= 5, "the postmaster and its background workers"
    # The status document carries the same entries under the spec's `services`.
    status = agent.get_json("/api/v1/status")
    by_name = {s["name"]: s for s in status["services"]}
    assert by_name["redis"]["pid"] == daemons.pids["redis"]
    assert {"docker", "openvpn", "viworks-gateway-agent"} <= set(by_name)
    assert by_name["docker"]["status"] in ("stopped", "running")
    one = agent.get_json("/api/v1/services/nginx")
    assert one["pid"] == daemons.pids["nginx"]
    missing = agent.get("/api/v1/services/no-such-service")
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
    metrics = agent.get("/metrics").body.decode()
    assert 'viworks_service_up{service="nginx"} 1' in metrics
    assert 'viworks_service_state{service="redis",state="running"} 1' in metrics
    processes = agent.get_json("/api/v1/processes")
    assert processes["total"] > 10 and processes["top_memory"][0]["memory_bytes"] > 0


def test_a_stopped_redis_is_unresponsive_then_running_again(agent, daemons) -> None:
    pid = daemons.pids["redis"]
    os.kill(pid, signal.SIGSTOP)
    try:
        stuck = wait_for(lambda: services(agent)["redis"]["status"] == "unresponsive" and services(agent)["redis"], timeout=60, what="redis unresponsive")
        assert stuck["pid"] == pid
        assert stuck["probe"]["ok"] is False
        assert "no answer within 1.0 s" in stuck["probe"]["detail"]
        # The agent itself stays healthy and fast while a probe hangs.
        started = time.monotonic()
        assert agent.get("/api/v1/health").status == 200
        assert time.monotonic() - started < 0.5
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: services(agent)["redis"]["status"] == "running", timeout=60, what="redis running again")


def services_collections(agent) -> int:
    """How many collections the services collector has completed."""
    return next(c["collections"] for c in agent.get_json("/api/v1/collectors")["collectors"] if c["name"] == "services")


def test_a_killed_daemon_is_stopped_within_one_interval(agent, daemons) -> None:
    """Counted in collections, not seconds: the collection in progress at the kill may still see redis; the next one,
    which begins after the kill, reports it stopped."""
    pid = daemons.pids["redis"]
    wait_for(lambda: services(agent)["redis"]["status"] == "running", timeout=60, what="redis running")
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    at_kill = services_collections(agent)

    def stopped() -> bool:
        # The count first: the document read after it is of that collection or a later one (its count may go up
        # just before the document is published, hence the third collection).
        completed = services_collections(agent) - at_kill
        status = services(agent)["redis"]["status"]
        assert status == "stopped" or completed < 3, f"redis still {status} {completed} collections after SIGKILL"
        return status == "stopped"

    wait_for(stopped, timeout=60, what="redis stopped")
    elapsed = time.monotonic() - killed_at
    gone = services(agent)["redis"]
    assert gone["pid"] is None and gone["memory_bytes"] is None and gone["probe"] is None
    print(f"redis stopped {elapsed:.2f} s after SIGKILL (interval {INTERVAL} s)")


class HungBus:
    """A Unix socket that accepts D-Bus clients and never says a word (a wedged dbus-daemon)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(16)
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.clients.append(client)

    def close(self) -> None:
        self.server.close()
        for client in self.clients:
            client.close()


def test_a_hung_bus_falls_back_to_proc_without_stalling(daemons, tmp_path) -> None:
    bus = HungBus(tmp_path / "bus.sock")
    env = service_environment(daemons)
    env.update({"VIWORKS_SERVICES_SYSTEMD": "on", "VIWORKS_SERVICES_BUS_TIMEOUT": "500ms", "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={bus.path}"})
    agent = start_agent(tmp_path / "agent", env=env)
    try:
        def fell_back():
            document = agent.get_json("/api/v1/services")
            return document if document["bus_error"] else None

        document = wait_for(fell_back, timeout=60, what="the bus error")
        assert document["source"] == "proc"
        current = {s["name"]: s for s in document["services"]}
        # Found in /proc: running with its PID; not found: unknown (stopped cannot be told from unasked).
        assert current["nginx"]["status"] == "running" and current["nginx"]["pid"] == daemons.pids["nginx"]
        assert current["docker"]["status"] == "unknown"
        assert "systemd could not be asked" in current["docker"]["reason"]
        # Nothing else waited on the bus: health answers at once and the core collectors keep collecting.
        started = time.monotonic()
        assert agent.get("/api/v1/health").status == 200
        assert time.monotonic() - started < 0.5
        collectors = {c["name"]: c for c in agent.get_json("/api/v1/collectors")["collectors"]}
        assert collectors["cpu"]["status"] == "running"
        assert collectors["services"]["status"] == "running", collectors["services"]
        assert "D-Bus" in agent.log() or "systemd D-Bus failed" in agent.log()
    finally:
        agent.stop()
        bus.close()
