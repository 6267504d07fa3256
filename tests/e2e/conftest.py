"""Shared helpers of the end-to-end suite: it runs the real, built `viworks-agent` binary.

The binary comes from $VIWORKS_AGENT_BIN, else `.build/debug/viworks-agent` under the repository root
(build it first: `swift build --product viworks-agent`).

    python3 -m pytest tests/e2e -q                   # the whole suite, a few seconds
    UPDATE_GOLDEN=1 python3 -m pytest tests/e2e -q   # rewrite golden/status.json, then review the diff

Each agent runs on a free port with an empty --config and without the caller's VIWORKS_* variables, and is
terminated by the fixture that started it.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
GOLDEN_DIR = E2E_DIR / "golden"
# The OpenAPI document, embedded in the binary as it is (SwiftPM resource) and served byte for byte.
OPENAPI_FILE = REPO_ROOT / "Sources/Server/Resources/openapi.json"
FIXTURE_HOSTS = REPO_ROOT / "Tests/AgentCollectorsTests/Fixtures/hosts"
# The collectors engineer's capture of the development VM: a full proc/sys/etc tree.
FIXTURE_HOST = os.environ.get("VIWORKS_E2E_FIXTURE_HOST", "debian12-amd-epyc-vm")

JSON_TYPE = "application/json; charset=utf-8"
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Routes that are encoded once per collection and carry an ETag.
CACHED_ROUTES = {"/api/v1/status", "/api/v1/status-simple", "/api/v1/system", "/api/v1/collectors", "/api/v1/services", "/api/v1/processes", "/metrics"}
OPENAPI_URI = "urn:viworks:openapi"

# Waits: generous, for a loaded two-core CI machine running a debug build (a wait costs nothing when the test passes).
STARTUP_TIMEOUT = 60.0
COLLECTION_TIMEOUT = 60.0
WAIT_TIMEOUT = 30.0
# How long one request may take to answer before the suite gives up on it.
REQUEST_TIMEOUT = 60.0
# How long a terminated process may take to exit.
EXIT_TIMEOUT = 30.0


def agent_binary() -> Path:
    configured = os.environ.get("VIWORKS_AGENT_BIN")
    path = Path(configured) if configured else REPO_ROOT / ".build/debug/viworks-agent"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = WAIT_TIMEOUT, what: str = "condition", interval: float = 0.1):
    """Calls `predicate` every `interval` s until it returns something truthy and returns that; after `timeout` s fails
    naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def fill_filesystem(directory: Path) -> Path:
    """Writes zeros into `directory/filler` until the filesystem refuses (ENOSPC); returns the file, to delete when
    space should come back."""
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without VIWORKS_* variables (the agent rejects unknown ones), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIWORKS_")}
    env.update(extra or {})
    return env


def require_binary() -> Path:
    binary = agent_binary()
    if not binary.exists():
        pytest.fail(f"{binary} does not exist: build it (swift build --product viworks-agent) or set VIWORKS_AGENT_BIN")
    return binary


def run_cli(*args: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    require_binary()
    return subprocess.run(
        [str(agent_binary()), *args], capture_output=True, text=True, timeout=timeout, env=clean_environment(env), cwd=REPO_ROOT
    )


# MARK: - HTTP


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


def raw_request(port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> RawResponse:
    """One HTTP/1.1 request on its own connection with `Connection: close`, reading to EOF, so a body sent
    where none is allowed (HEAD, 304) is seen rather than silently skipped by a client library."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    if parsed.get("transfer-encoding", "").lower() == "chunked":
        rest = dechunk(rest)
    return RawResponse(status, parsed, rest)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return out


# MARK: - The agent process


@dataclass
class Agent:
    """A running `viworks-agent run`, killed by the fixture that started it."""

    port: int
    process: subprocess.Popen
    log_path: Path
    startup_responses: list[RawResponse] = field(default_factory=list)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> RawResponse:
        return raw_request(self.port, method, path, headers, body)

    def get(self, path: str, headers: dict[str, str] | None = None) -> RawResponse:
        return self.request("GET", path, headers)

    def get_json(self, path: str):
        response = self.get(path)
        assert response.status == 200, f"GET {path}: {response.status} {response.body[:300]!r}"
        return response.json()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT, accept: tuple[int, ...] = (200,)) -> RawResponse:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"agent exited with {self.process.returncode}:\n{self.log()}")
            try:
                response = self.get("/api/v1/health")
                last = response.status
                if response.status in accept:
                    return response
                self.startup_responses.append(response)
            except OSError as error:
                last = error
            time.sleep(0.05)
        raise TimeoutError(f"/api/v1/health not 200 within {timeout}s (last: {last}):\n{self.log()}")

    def wait_collections(self, minimum: int = 2, timeout: float = COLLECTION_TIMEOUT) -> dict:
        """Waits until every collector has `minimum` successful collections (a run collects at start and
        again 1 s later) and returns `/api/v1/status` as of then."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.get_json("/api/v1/status")
            collectors = status["collectors"]
            if collectors and all(c["collections"] >= minimum for c in collectors):
                return status
            time.sleep(0.1)
        raise TimeoutError(f"collectors did not reach {minimum} collections: {status and status['collectors']}\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=EXIT_TIMEOUT)


def start_agent(
    workdir: Path, *args: str, env: dict[str, str] | None = None, accept: tuple[int, ...] = (200,), launcher: tuple[str, ...] = ()
) -> Agent:
    """Starts `viworks-agent run` on a free port with an empty configuration file (so a host's
    /etc/viworks-agent/agent.toml cannot change what is tested) and waits until health answers with a
    status in `accept` (200 by default). `launcher` runs before the binary (e.g. `/usr/bin/env`)."""
    binary = require_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    # The suite sends hundreds of requests from 127.0.0.1: no rate limit unless a test asks for one (test_security.py).
    env = {"VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE": "0", **(env or {})}
    config = workdir / "empty.toml"
    config.write_text("")
    last_error: Exception | None = None
    for attempt in range(3):
        port = free_port()
        log_path = workdir / f"agent-{port}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            [*launcher, str(binary), "run", "--config", str(config), "--listen", f"127.0.0.1:{port}", *args],
            # History and incidents go to the test's own state directory, never /var/lib.
            stdout=log, stderr=subprocess.STDOUT, env=clean_environment({"VIWORKS_AGENT_STATE_DIRECTORY": str(workdir / "state"), **(env or {})}), cwd=workdir,
        )
        log.close()
        agent = Agent(port, process, log_path)
        try:
            agent.wait_healthy(accept=accept)
            return agent
        except (RuntimeError, TimeoutError) as error:  # e.g. the port was taken in between: try another
            agent.stop()
            last_error = error
    raise RuntimeError(f"agent did not start: {last_error}")


def fixture_host_dir() -> Path:
    return FIXTURE_HOSTS / FIXTURE_HOST


def fixture_host_args(root: Path) -> list[str]:
    return ["--proc-root", str(root / "proc"), "--sys-root", str(root / "sys"), "--rootfs", str(root)]


@pytest.fixture(scope="session")
def live_agent(tmp_path_factory):
    """The agent on this machine's real /proc and /sys, with the default 30 s interval so that, after the
    priming collection (at start and 1 s later), responses and ETags stay put for the tests.

    Reads stay anonymous (viewer); `agent.admin` holds the header of an admin key for the operator and admin routes."""
    workdir = tmp_path_factory.mktemp("live")
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-admin", "--file", str(workdir / "api-keys"))
    assert created.returncode == 0, created.stderr
    agent = start_agent(workdir, env={"VIWORKS_AUTH_API_KEY_FILE": str(workdir / "api-keys"), "VIWORKS_AUTH_ANONYMOUS_ROLE": "viewer"})
    agent.admin = {"X-API-Key": created.stdout.strip()}
    try:
        agent.wait_collections(2)
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="session")
def openapi_doc(live_agent):
    response = live_agent.get("/api/v1/openapi.json")
    assert response.status == 200
    return response.json()


# MARK: - Schemas


def rewrite_refs(schema, base: str = OPENAPI_URI):
    """Makes the document-relative `#/components/...` references of a schema absolute, so the schema can
    be validated on its own against a registry holding the whole OpenAPI document."""
    if isinstance(schema, dict):
        return {k: (base + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else rewrite_refs(v, base)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [rewrite_refs(v, base) for v in schema]
    return schema


def validator_for(doc: dict, schema: dict) -> Draft202012Validator:
    registry = Registry().with_resource(OPENAPI_URI, Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator(rewrite_refs(copy.deepcopy(schema)), registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def component_validator(doc: dict, name: str) -> Draft202012Validator:
    return validator_for(doc, {"$ref": f"#/components/schemas/{name}"})


def assert_valid(validator: Draft202012Validator, instance, what: str) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{what} does not match its schema:\n" + "\n".join(
        f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:20]
    )


def response_schema(doc: dict, path: str, status: str = "200") -> tuple[str, dict | None]:
    """(content type, schema) of a documented response."""
    response = doc["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response.get("content") or {}
    if not content:
        return ("", None)
    # A route with several representations (logs: JSON, text, event stream) is checked in its JSON one.
    content_type = JSON_TYPE if JSON_TYPE in content else next(iter(content))
    return content_type, content[content_type].get("schema")


# MARK: - Routes and the document source
#
# The routes are declared once, in the controllers; the Swift tests (RouteDeclarationTests) prove that the document's
# operations are exactly those routes with their roles, so the document file stands for the route list here, and
# test_openapi.py checks the live router's `Allow` answers against it.


HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_source_json() -> dict:
    """The OpenAPI document as the repository has it (`Sources/Server/Resources/openapi.json`)."""
    return json.loads(OPENAPI_FILE.read_bytes())


def router_routes() -> set[tuple[str, str]]:
    """(method, path) of every route: every operation of the document."""
    paths = openapi_source_json()["paths"]
    routes = {(method, path) for path, item in paths.items() for method in item if method in HTTP_METHODS}
    assert routes, f"no operations in {OPENAPI_FILE}"
    return routes


def router_access() -> dict[tuple[str, str], str]:
    """(method, path) → the route's access (`public`, `viewer`, `operator`, `admin`): the operation's `x-viworks-role`."""
    paths = openapi_source_json()["paths"]
    return {(method, path): operation["x-viworks-role"] for path, item in paths.items() for method, operation in item.items() if method in HTTP_METHODS}


# MARK: - Host files


def read_meminfo(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields:
            values[name.strip()] = int(fields[0])
    return values


def read_net_dev(path: Path) -> dict[str, list[int]]:
    """Interface → its 16 counters; names may contain ':' (split at the last one)."""
    result = {}
    for line in path.read_text().splitlines()[2:]:
        name, _, counters = line.rpartition(":")
        if name.strip():
            result[name.strip()] = [int(x) for x in counters.split()]
    return result


def read_os_release(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            result[key.strip()] = value.strip().strip('"')
    return result


def round_half_up(value: float, places: int = 2) -> float:
    """Swift's `.rounded()` (schoolbook), which the agent uses; Python's round() is banker's rounding."""
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def copy_host_tree(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, symlinks=True)
    return destination


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL 15 cluster on a free loopback port for the module (postgres_server.PostgresServer)."""
    from postgres_server import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
