"""A private Docker engine for the end-to-end tests: its own dockerd with its own socket, data root, exec root, pidfile
and bridge, leaving the host's iptables alone, and the `agent-test/busybox` image imported from a busybox-static root filesystem (no registry), as
Tests/AgentContainersTests/TestDocker.swift does for the Swift tests.

    docker = PrivateDocker.start()        # or the `private_docker` fixture (one per test module)
    docker.api("GET", "/containers/json?all=1")
    docker.stop_daemon(); docker.start_daemon()   # the same engine, down and up again
    docker.stop()                          # removes every container, stops dockerd, deletes its directory

Needs root, /usr/sbin/dockerd and busybox. Without them the tests that use it are skipped, unless
VIWORKS_REQUIRE_DOCKER_TESTS=1, which makes them fail with the reason instead.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

DOCKERD = "/usr/sbin/dockerd"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
IMAGE = "agent-test/busybox"
IMAGE_CMD = '["/bin/httpd","-f","-p","8080","-h","/www"]'
API_VERSION = "v1.41"
REQUIRED = os.environ.get("VIWORKS_REQUIRE_DOCKER_TESTS") == "1"


def busybox() -> str | None:
    return next((path for path in BUSYBOX_CANDIDATES if os.access(path, os.X_OK)), None)


def missing() -> str | None:
    """Why a private engine cannot run here; None when it can."""
    if os.geteuid() != 0:
        return "the real-engine tests need root (dockerd)"
    if not os.access(DOCKERD, os.X_OK):
        return f"{DOCKERD} is missing (apt-get install docker.io)"
    if busybox() is None:
        return "busybox is missing (apt-get install busybox-static)"
    return None


def require_engine() -> None:
    """Skips the calling test when no engine can run here, or fails it when the engine is required."""
    reason = missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"VIWORKS_REQUIRE_DOCKER_TESTS=1 but {reason}")
        pytest.skip(reason)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class PrivateDocker:
    def __init__(self, root: Path):
        self.root = root
        self.socket = str(root / "docker.sock")
        self.process: subprocess.Popen | None = None
        self.bridge: str | None = None

    # MARK: - Life

    @classmethod
    def start(cls) -> "PrivateDocker":
        docker = cls(Path(tempfile.mkdtemp(prefix="vwe2e-", dir="/tmp")))
        try:
            docker.make_bridge()
            docker.start_daemon()
            docker.import_image()
        except BaseException:
            docker.stop()
            raise
        return docker

    def make_bridge(self) -> None:
        """A bridge of its own (`vwe2e<n>`, 172.29.<n>.0/24), so that this engine and another test run's engine on
        docker0 never hand out the same container address. Without `ip` the engine uses docker0."""
        if shutil.which("ip") is None:
            return
        n = os.getpid() % 250 + 1
        name = f"vwe2e{n}"
        subprocess.run(["ip", "link", "del", name], capture_output=True)
        steps = [["ip", "link", "add", name, "type", "bridge"], ["ip", "addr", "add", f"172.29.{n}.1/24", "dev", name], ["ip", "link", "set", name, "up"]]
        for step in steps:
            if subprocess.run(step, capture_output=True).returncode != 0:
                subprocess.run(["ip", "link", "del", name], capture_output=True)
                return
        self.bridge = name

    def start_daemon(self, timeout: float = 120.0) -> None:
        """Starts dockerd (again) on this root and waits until it answers /_ping."""
        assert self.process is None or self.process.poll() is not None, "dockerd is running already"
        arguments = [DOCKERD, "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                     "--pidfile", str(self.root / "dockerd.pid"), "-H", f"unix://{self.socket}"]
        if self.bridge:
            arguments += ["--bridge", self.bridge]
        # iptables rules are shared by every dockerd of the host: another test run's engine starting or stopping
        # rewrites the DOCKER chains under this one ("iptables: No chain/target/match by that name" on a port binding).
        # Without them a port published on 127.0.0.1 is still served, by docker-proxy.
        arguments.append("--iptables=false")
        log = open(self.root / "dockerd.log", "ab")
        self.process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited at start ({self.process.returncode}):\n{self.log()}")
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not answer /_ping within {timeout} s:\n{self.log()}")

    def stop_daemon(self) -> None:
        """SIGTERM (which also stops its containers), SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                for container in self.containers():
                    self.api("DELETE", f"/containers/{container['Id']}?force=1")
            except OSError:
                pass
        self.stop_daemon()
        if self.bridge:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        # Container mounts under the data root are gone with the daemon; what is left is plain files.
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.root / "dockerd.log").read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    # MARK: - The Engine API

    def ping(self) -> bool:
        try:
            return self.api("GET", "/_ping", timeout=2)[0] == 200
        except OSError:
            return False

    def api(self, method: str, path: str, body: bytes | dict | None = None, headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, object]:
        """(status, parsed JSON or raw bytes) of one Engine API request, `/v1.41` prefixed."""
        connection = UnixHTTPConnection(self.socket, timeout)
        try:
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            all_headers = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
            all_headers.update(headers or {})
            connection.request(method, f"/{API_VERSION}{path}" if path != "/_ping" else path, body=data, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return response.status, parsed
        finally:
            connection.close()

    def containers(self, label: str | None = None) -> list[dict]:
        """Every container (running or not), those carrying `label` (`key=value`) when given."""
        query = "all=1"
        if label:
            query += "&filters=" + urllib.parse.quote(json.dumps({"label": [label]}))
        status, listed = self.api("GET", f"/containers/json?{query}")
        assert status == 200, listed
        return listed

    def inspect(self, container_id: str) -> dict | None:
        status, body = self.api("GET", f"/containers/{container_id}/json")
        if status == 404:
            return None
        assert status == 200, body
        return body

    def import_image(self) -> None:
        """`agent-test/busybox:latest`: busybox with a few applets, /etc/passwd and /www/index.html (`hello`)."""
        tarball = io.BytesIO()
        with tarfile.open(fileobj=tarball, mode="w") as tar:
            def add(name: str, *, data: bytes | None = None, directory: bool = False, link: str | None = None, source: str | None = None, mode=0o644):
                if source:
                    info = tar.gettarinfo(source, arcname=name)
                    with open(source, "rb") as handle:
                        tar.addfile(info, handle)
                    return
                info = tarfile.TarInfo(name)
                if directory:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                elif link:
                    info.type, info.linkname = tarfile.SYMTYPE, link
                    tar.addfile(info)
                else:
                    info.size, info.mode = len(data or b""), mode
                    tar.addfile(info, io.BytesIO(data or b""))
            for directory in ("bin", "etc", "www", "tmp", "data"):
                add(directory, directory=True)
            add("bin/busybox", source=busybox())
            for applet in ("sh", "httpd", "sleep", "dd", "cat", "ls", "true", "head", "yes"):
                add(f"bin/{applet}", link="busybox")
            add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n")
            add("www/index.html", data=b"hello\n")
        query = urllib.parse.urlencode({"fromSrc": "-", "repo": IMAGE, "tag": "latest", "changes": f"CMD {IMAGE_CMD}"})
        status, body = self.api("POST", f"/images/create?{query}", body=tarball.getvalue(), headers={"Content-Type": "application/x-tar"}, timeout=120)
        assert status == 200, body
        status, body = self.api("GET", f"/images/{IMAGE}:latest/json")
        assert status == 200, f"the imported image is not there: {body}"


@pytest.fixture(scope="module")
def private_docker():
    """A private dockerd with the test image, for one test module; skipped (or failed when required) without one."""
    require_engine()
    docker = PrivateDocker.start()
    try:
        yield docker
    finally:
        docker.stop()


# MARK: - What the kernel holds for a container


def cgroup_limits(pid: int) -> dict[str, int | None]:
    """The memory limit (bytes), CPU shares and pids limit of a process's cgroup, read from the kernel's files: on cgroup
    v1 `/sys/fs/cgroup/<controller><path>/memory.limit_in_bytes`, `cpu.shares`, `pids.max`; on v2 `memory.max`,
    `cpu.weight` (converted back to shares as runc converts: weight = 1 + (shares - 2) × 9999 / 262142), `pids.max`."""
    paths = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path

    def read(path: str) -> int | None:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    if "memory" in paths:
        return {
            "memory": read(f"/sys/fs/cgroup/memory{paths['memory']}/memory.limit_in_bytes"),
            "cpu_shares": read(f"/sys/fs/cgroup/cpu{paths.get('cpu', paths.get('cpu,cpuacct', ''))}/cpu.shares"),
            "pids": read(f"/sys/fs/cgroup/pids{paths.get('pids', '')}/pids.max"),
            "path": paths["memory"],
        }
    unified = paths.get("", "/")
    weight = read(f"/sys/fs/cgroup{unified}/cpu.weight")
    return {
        "memory": read(f"/sys/fs/cgroup{unified}/memory.max"),
        "cpu_shares": None if weight is None else (weight - 1) * 262_142 // 9999 + 2,
        "pids": read(f"/sys/fs/cgroup{unified}/pids.max"),
        "path": unified,
    }


def port_is_free(port: int, address: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def http_get(port: int, path: str = "/", timeout: float = 3.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
