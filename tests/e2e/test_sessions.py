"""User sessions in containers through the real binary and HTTP, on a real private dockerd (docker_fixture.py).

Each test proves on the engine and the kernel what the API says: the container's labels and HostConfig, its cgroup
limits, the published port answering with busybox httpd, the container and the port gone after a delete; the audit
records of every change; reconciliation after `kill -9`; the engine going away and coming back.

Skipped without root, dockerd or busybox, unless VIWORKS_REQUIRE_DOCKER_TESTS=1 (then they fail). The test that an
agent without containers answers 503 runs everywhere.
"""

from __future__ import annotations

import json
import random
import secrets
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import EXIT_TIMEOUT, Agent, assert_valid, component_validator, openapi_source_json, run_cli, start_agent, wait_for
from docker_fixture import IMAGE, cgroup_limits, http_get, port_is_free, private_docker  # noqa: F401 (fixture)

SESSIONS = "/api/v1/sessions"
KEYS: dict[str, dict[str, str]] = {}
KEY_FILE: list[Path] = []
TEMPLATE_MEMORY = 64 << 20


@pytest.fixture(scope="module", autouse=True)
def keys(tmp_path_factory) -> None:
    """An operator, a viewer and an admin key (the audit log needs admin), in one key file."""
    path = tmp_path_factory.mktemp("session-keys") / "api-keys"
    for role in ("operator", "viewer", "admin"):
        created = run_cli("keys", "create", "--role", role, "--name", f"e2e-{role}", "--file", str(path))
        assert created.returncode == 0, created.stderr
        KEYS[role] = {"X-API-Key": created.stdout.strip()}
    KEY_FILE[:] = [path]


def free_port_range(size: int) -> tuple[int, int]:
    """`size` consecutive ports that can all be bound now, in 30000-39999 (away from the Swift tests' 23xxx)."""
    for _ in range(200):
        low = 30000 + secrets.randbelow(9000)
        if all(port_is_free(port) for port in range(low, low + size)):
            return low, low + size - 1
    raise RuntimeError("no free port range")


def write_config(path: Path, socket_path: str, agent_id: str, ports: tuple[int, int], *, per_user: int = 3, max_sessions: int = 30) -> Path:
    path.write_text(f"""
[containers]
enabled = true
socket = "{socket_path}"
port_range = "{ports[0]}-{ports[1]}"
publish_address = "127.0.0.1"
max_sessions = {max_sessions}
max_sessions_per_user = {per_user}
agent_id = "{agent_id}"
stop_grace_period = "2s"
reap_interval = "1s"

[containers.templates.web]
image = "{IMAGE}:latest"
port = 8080
memory = "64MiB"
memory_max = "256MiB"
cpu_shares = 256
cpu_shares_max = 1024
pids_limit = 64
ttl = "2h"
""")
    return path


def launch(workdir: Path, config: Path) -> Agent:
    env = {"VIWORKS_AUTH_API_KEY_FILE": str(KEY_FILE[0]), "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AGENT_STATE_DIRECTORY": str(workdir / "state")}
    return start_agent(workdir, "--config", str(config), env=env)


def call(agent: Agent, method: str, path: str, body=None, role: str = "operator", content_type: str = "application/json") -> tuple[int, dict]:
    headers = dict(KEYS[role])
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    response = agent.request(method, path, headers=headers, body=data)
    return response.status, (json.loads(response.body) if response.body else {})


def create(agent: Agent, username: str, **extra) -> dict:
    status, body = call(agent, "POST", SESSIONS, {"username": username, "template": "web", **extra})
    assert status == 201, body
    assert body["status"] == "running", body
    return body


def engine_status(agent: Agent) -> str:
    status, body = call(agent, "GET", SESSIONS, role="viewer")
    assert status == 200, body
    return body["engine"]["status"]


def labelled(docker, agent_id: str) -> list[dict]:
    return docker.containers(f"io.viworks.agent={agent_id}")


@pytest.fixture(scope="module")
def engine_agent(private_docker, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sessions")
    agent_id = f"e2e-{secrets.token_hex(4)}"
    ports = free_port_range(40)
    agent = launch(workdir, write_config(workdir / "agent.toml", private_docker.socket, agent_id, ports))
    agent.agent_id, agent.ports, agent.docker = agent_id, ports, private_docker
    try:
        wait_for(lambda: engine_status(agent) == "available", timeout=60, what="engine available")
        yield agent
    finally:
        agent.stop()
        for container in labelled(private_docker, agent_id):
            private_docker.api("DELETE", f"/containers/{container['Id']}?force=1")


def audit_records(agent: Agent, after_id: int = 0) -> list[dict]:
    status, body = call(agent, "GET", "/api/v1/audit?limit=10000", role="admin")
    assert status == 200, body
    records = [record for record in body["records"] if record["id"] > after_id and record["event"].startswith("session.")]
    return sorted(records, key=lambda record: record["id"])


def last_audit_id(agent: Agent) -> int:
    status, body = call(agent, "GET", "/api/v1/audit?limit=10000", role="admin")
    assert status == 200, body
    return max((record["id"] for record in body["records"]), default=0)


# MARK: - Without an engine


def test_without_containers_every_session_route_answers_503(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text("[containers]\nenabled = false\n")
    agent = launch(tmp_path, config)
    try:
        validator = component_validator(openapi_source_json(), "Error")
        sid = "0" * 32
        for method, path, body in [("POST", SESSIONS, {"username": "alice", "template": "web"}), ("GET", SESSIONS, None), ("GET", f"{SESSIONS}/{sid}", None),
                                   ("POST", f"{SESSIONS}/{sid}/stop", None), ("POST", f"{SESSIONS}/{sid}/start", None), ("DELETE", f"{SESSIONS}/{sid}", None)]:
            status, answer = call(agent, method, path, body)
            assert status == 503, (method, path, answer)
            assert answer["error"]["code"] == "containers_disabled", answer
            assert_valid(validator, answer, f"{method} {path}")
            # Documented: every session operation lists its 503.
            assert "503" in openapi_source_json()["paths"][path.replace(sid, "{id}")][method.lower()]["responses"]
        health = agent.get("/api/v1/health")
        assert health.status == 200
    finally:
        agent.stop()


# MARK: - The lifecycle


def test_create_get_stop_start_delete_on_the_engine_and_in_the_kernel(engine_agent):
    agent, docker = engine_agent, engine_agent.docker
    first_audit = last_audit_id(agent)
    status, denied = call(agent, "POST", SESSIONS, {"username": "alice", "template": "web"}, role="viewer")
    assert status == 403 and denied["error"]["code"] == "forbidden", denied

    response = agent.request("POST", SESSIONS, headers={**KEYS["operator"], "Content-Type": "application/json"},
                             body=json.dumps({"username": "alice", "template": "web", "memory": "96MiB", "cpu_shares": 512, "ttl": "30m"}).encode())
    assert response.status == 201, response.body
    session = response.json()
    sid, port, container_id = session["session_id"], session["port"], session["container_id"]
    assert response.header("location") == f"{SESSIONS}/{sid}"
    assert set(session) == {"session_id", "username", "template", "container_id", "port", "status", "created_at", "stopped_at",
                            "memory_limit_bytes", "cpu_shares", "exit_code", "reason"}
    assert_valid(component_validator(openapi_source_json(), "Session"), session, "the created session")
    assert (session["username"], session["template"], session["status"]) == ("alice", "web", "running")
    assert session["memory_limit_bytes"] == 96 << 20 and session["cpu_shares"] == 512
    assert len(sid) == 32 and len(container_id) == 64
    assert engine_agent.ports[0] <= port <= engine_agent.ports[1]

    # The viewer reads it, as the list and by id.
    status, one = call(agent, "GET", f"{SESSIONS}/{sid}", role="viewer")
    assert status == 200 and one == session
    status, listed = call(agent, "GET", SESSIONS, role="viewer")
    assert status == 200 and sid in [s["session_id"] for s in listed["sessions"]]
    assert_valid(component_validator(openapi_source_json(), "SessionList"), listed, "the list")

    # busybox httpd answers on the published port, on 127.0.0.1 only.
    assert wait_for(lambda: _get_ok(port), timeout=60, what="httpd on the published port") == b"hello\n"

    # What the engine was told: the template's safety settings, nothing the client chose beyond the limits.
    inspect = docker.inspect(container_id)
    host = inspect["HostConfig"]
    assert inspect["Config"]["Image"] == f"{IMAGE}:latest"
    assert inspect["Config"]["Labels"] == {"io.viworks.agent": agent.agent_id, "io.viworks.session-id": sid, "io.viworks.username": "alice", "io.viworks.template": "web"}
    assert host["Memory"] == 96 << 20 and host["CpuShares"] == 512 and host["PidsLimit"] == 64
    assert host["Init"] is True and host["Privileged"] is False
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["CapDrop"] == ["ALL"]
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert not host.get("Binds") and not inspect.get("Mounts")
    # ... and what the kernel holds (cgroup v1 here: /sys/fs/cgroup/memory/docker/<id>/memory.limit_in_bytes).
    limits = cgroup_limits(inspect["State"]["Pid"])
    assert (limits["memory"], limits["cpu_shares"], limits["pids"]) == (96 << 20, 512, 64), limits
    assert container_id in limits["path"]

    # Stop: the container is kept, exited, and the port stops answering.
    status, stopped = call(agent, "POST", f"{SESSIONS}/{sid}/stop")
    assert status == 200, stopped
    assert stopped["status"] == "stopped" and stopped["stopped_at"] is not None and stopped["port"] == port
    assert docker.inspect(container_id)["State"]["Running"] is False
    assert _get_ok(port) is None
    status, again = call(agent, "POST", f"{SESSIONS}/{sid}/stop")
    assert status == 409 and again["error"]["code"] == "conflict", again

    # Start: the same container on the same port.
    status, started = call(agent, "POST", f"{SESSIONS}/{sid}/start")
    assert status == 200, started
    assert started["status"] == "running" and started["stopped_at"] is None and started["port"] == port
    assert docker.inspect(container_id)["State"]["Running"] is True
    assert wait_for(lambda: _get_ok(port), timeout=60, what="httpd after start") == b"hello\n"

    # Delete: container gone, port free, the record stays as removed.
    status, removed = call(agent, "DELETE", f"{SESSIONS}/{sid}")
    assert status == 200, removed
    assert removed["status"] == "removed" and removed["port"] is None and removed["stopped_at"] is not None
    assert docker.inspect(container_id) is None
    assert wait_for(lambda: port_is_free(port), timeout=60, what="port free")
    status, kept = call(agent, "GET", f"{SESSIONS}/{sid}", role="viewer")
    assert status == 200 and kept["status"] == "removed"
    status, gone = call(agent, "DELETE", f"{SESSIONS}/{sid}")
    assert status == 409, gone
    status, unknown = call(agent, "GET", f"{SESSIONS}/{'f' * 32}", role="viewer")
    assert status == 404 and unknown["error"]["code"] == "not_found"
    status, malformed = call(agent, "GET", f"{SESSIONS}/no%20such", role="viewer")
    assert status == 400 and malformed["error"]["code"] == "invalid_parameter", malformed

    # Audit: a start and an end record for each of the four changes and the two refused ones, with the principal; the
    # viewer's refused create never reached the handler, so it is not there.
    records = audit_records(agent, first_audit)
    actions = [(r["event"], r["action"], r["outcome"]) for r in records]
    assert actions == [
        ("session.start", "create alice/web", None), ("session.end", "create alice/web", "ok"),
        ("session.start", f"stop {sid}", None), ("session.end", f"stop {sid}", "ok"),
        ("session.start", f"stop {sid}", None), ("session.end", f"stop {sid}", f"refused: session {sid} is stopped"),
        ("session.start", f"start {sid}", None), ("session.end", f"start {sid}", "ok"),
        ("session.start", f"delete {sid}", None), ("session.end", f"delete {sid}", "ok"),
        ("session.start", f"delete {sid}", None), ("session.end", f"delete {sid}", f"refused: session {sid} is removed"),
    ], actions
    assert all(r["principal"] == "key:e2e-operator" and r["role"] == "operator" and r["client_address"] == "127.0.0.1" for r in records), records
    assert records[0]["parameters"] == {"username": "alice", "template": "web", "memory": str(96 << 20), "cpu_shares": "512", "ttl": "1800s"}
    assert records[1]["parameters"] == {"session_id": sid, "status": "running", "container_id": container_id, "port": str(port)}
    assert records[1]["start_id"] == records[0]["id"]
    assert records[2]["parameters"] == {"session_id": sid, "username": "alice", "template": "web"}


def _get_ok(port: int) -> bytes | None:
    try:
        status, body = http_get(port, timeout=1)
    except OSError:
        return None
    return body if status == 200 else None


# MARK: - Bad requests and limits


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "bob", "template": "nope"}, "template"),
        ({"username": "-bob", "template": "web"}, "username"),
        ({"username": "b" * 33, "template": "web"}, "username"),
        ({"username": "bob", "template": "web", "ttl": "0s"}, "ttl"),
        ({"username": "bob", "template": "web", "ttl": "3h"}, "ttl"),
        ({"username": "bob", "template": "web", "ttl": "soon"}, "ttl"),
        ({"username": "bob", "template": "web", "ttl": True}, "ttl"),
        ({"username": "bob", "template": "web", "memory": "1GiB"}, "memory"),
        ({"username": "bob", "template": "web", "memory": "lots"}, "memory"),
        ({"username": "bob", "template": "web", "memory": 1.5}, "memory"),
        ({"username": "bob", "template": "web", "cpu_shares": 4096}, "cpu_shares"),
        ({"username": "bob", "template": "web", "cpu_shares": "512"}, "cpu_shares"),
        ({"username": 7, "template": "web"}, "username"),
        ({"template": "web"}, "username"),
        ({"username": "bob"}, "template"),
        ({"username": "bob", "template": "web", "image": "debian:12"}, "image"),
        ({"username": "bob", "template": "web", "privileged": True}, "privileged"),
    ],
)
def test_an_invalid_create_is_a_400_naming_the_field_and_creates_nothing(engine_agent, body, field):
    before = len(labelled(engine_agent.docker, engine_agent.agent_id))
    audit_before = last_audit_id(engine_agent)
    status, answer = call(engine_agent, "POST", SESSIONS, body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_request", answer
    assert answer["error"]["message"].startswith(f"{field}: "), answer
    assert len(labelled(engine_agent.docker, engine_agent.agent_id)) == before
    assert audit_records(engine_agent, audit_before) == []


def test_bodies_that_are_not_a_json_object(engine_agent):
    for raw, expected in [(b"", 400), (b"[1]", 400), (b"{", 400), (b'"x"', 400)]:
        status, answer = call(engine_agent, "POST", SESSIONS, raw)
        assert status == expected, (raw, answer)
        assert answer["error"]["code"] == "invalid_request", answer
    status, answer = call(engine_agent, "POST", SESSIONS, b'{"username":"bob","template":"web"}', content_type="text/plain")
    assert status == 415 and answer["error"]["code"] == "unsupported_media_type", answer
    status, answer = call(engine_agent, "POST", SESSIONS, b'{"username":"' + b"x" * (70 << 10) + b'"}')
    assert status == 413, answer


def test_over_the_per_user_limit_is_refused_with_429(engine_agent):
    made = [create(engine_agent, "carol") for _ in range(3)]
    audit_before = last_audit_id(engine_agent)
    status, answer = call(engine_agent, "POST", SESSIONS, {"username": "carol", "template": "web"})
    assert status == 429, answer
    assert answer["error"]["code"] == "user_session_limit" and "max_sessions_per_user = 3" in answer["error"]["message"], answer
    refused = audit_records(engine_agent, audit_before)
    assert [r["outcome"] for r in refused] == [None, f"refused: {answer['error']['message']}"]
    # Another user is not limited by carol's sessions.
    dave = create(engine_agent, "dave")
    for session in made + [dave]:
        assert call(engine_agent, "DELETE", f"{SESSIONS}/{session['session_id']}")[0] == 200
    assert [c for c in labelled(engine_agent.docker, engine_agent.agent_id)] == []


def test_twenty_concurrent_creates_get_twenty_ports_then_leave_nothing(engine_agent):
    def make(i: int) -> tuple[int, dict]:
        return call(engine_agent, "POST", SESSIONS, {"username": f"user{i:02d}", "template": "web"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(make, range(20)))
    assert all(status == 201 for status, _ in results), [(s, b.get("error")) for s, b in results if s != 201]
    sessions = [body for _, body in results]
    ports = [s["port"] for s in sessions]
    assert len(set(ports)) == 20, sorted(ports)
    assert len({s["container_id"] for s in sessions}) == 20
    assert len(labelled(engine_agent.docker, engine_agent.agent_id)) == 20
    for port in ports:
        assert wait_for(lambda: _get_ok(port), timeout=60, what=f"httpd on {port}") == b"hello\n"

    with ThreadPoolExecutor(max_workers=20) as pool:
        deleted = list(pool.map(lambda s: call(engine_agent, "DELETE", f"{SESSIONS}/{s['session_id']}"), sessions))
    assert all(status == 200 and body["status"] == "removed" for status, body in deleted), deleted
    assert labelled(engine_agent.docker, engine_agent.agent_id) == []
    assert all(port_is_free(port) for port in ports)


def test_a_container_removed_behind_the_agents_back_closes_its_session(engine_agent):
    session = create(engine_agent, "erin")
    status, _ = engine_agent.docker.api("DELETE", f"/containers/{session['container_id']}?force=1")
    assert status == 204

    def closed():
        _, body = call(engine_agent, "GET", f"{SESSIONS}/{session['session_id']}", role="viewer")
        return body if body["status"] == "removed" else None

    record = wait_for(closed, timeout=60, what="the session closed")
    assert record["reason"] == "the container was removed outside the agent", record
    assert record["port"] is None and record["stopped_at"] is not None
    assert wait_for(lambda: port_is_free(session["port"]), timeout=60, what="port free")


# MARK: - Restarts


def test_kill_9_with_five_sessions_then_restart_reconciles_all_five(private_docker, tmp_path):
    agent_id = f"e2e-{secrets.token_hex(4)}"
    ports = free_port_range(20)
    config = write_config(tmp_path / "agent.toml", private_docker.socket, agent_id, ports)
    first = launch(tmp_path, config)
    second = None
    try:
        wait_for(lambda: engine_status(first) == "available", timeout=60, what="engine available")
        made = [create(first, f"kim{i}") for i in range(5)]
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=EXIT_TIMEOUT)

        second = launch(tmp_path, config)
        wait_for(lambda: engine_status(second) == "available", timeout=60, what="engine available after the restart")
        _, listed = call(second, "GET", SESSIONS, role="viewer")
        by_id = {s["session_id"]: s for s in listed["sessions"]}
        assert len(listed["sessions"]) == 5, listed
        for session in made:
            now = by_id[session["session_id"]]
            assert (now["status"], now["container_id"], now["port"], now["username"]) == ("running", session["container_id"], session["port"], session["username"]), now
            assert now["reason"] is None
            assert _get_ok(session["port"]) == b"hello\n"
        containers = labelled(private_docker, agent_id)
        assert sorted(c["Id"] for c in containers) == sorted(s["container_id"] for s in made)
        assert all(c["State"] == "running" for c in containers)
        # The ports stay taken: a new session gets another one.
        extra = create(second, "kim9")
        assert extra["port"] not in {s["port"] for s in made}
        for session in made + [extra]:
            assert call(second, "DELETE", f"{SESSIONS}/{session['session_id']}")[0] == 200
        assert labelled(private_docker, agent_id) == []
    finally:
        for agent in (first, second):
            if agent:
                agent.stop()
        for container in labelled(private_docker, agent_id):
            private_docker.api("DELETE", f"/containers/{container['Id']}?force=1")


def _engine_matches_the_list(agent: Agent, docker, agent_id: str) -> tuple[str, dict] | None:
    """The session list and the engine agree: every labelled container is a listed session that holds it (same
    container, same port, each port once), and every session that holds a container has it on the engine. Returns
    ("agree", {session id: container id}) when they do."""
    status, listed = call(agent, "GET", SESSIONS, role="viewer")
    if status != 200 or listed["engine"]["status"] != "available":
        return None
    holding = [s for s in listed["sessions"] if s["status"] not in ("removed", "orphaned")]
    containers = labelled(docker, agent_id)
    engine_ports = sorted(p["PublicPort"] for c in containers for p in c.get("Ports", []) if p.get("PublicPort"))
    session_ports = sorted(s["port"] for s in holding if s["port"] is not None)
    assert len(set(engine_ports)) == len(engine_ports), f"a port published twice: {engine_ports}"
    assert len(set(session_ports)) == len(session_ports), f"a port given to two sessions: {holding}"
    by_container = {c["Id"]: c for c in containers}
    if sorted(by_container) != sorted(s["container_id"] for s in holding):
        return None
    for session in holding:
        container = by_container[session["container_id"]]
        assert container["Labels"]["io.viworks.session-id"] == session["session_id"], (session, container["Labels"])
        if container["State"] == "running":
            assert session["port"] in [p.get("PublicPort") for p in container.get("Ports", [])], (session, container["Ports"])
    return ("agree", {s["session_id"]: s["container_id"] for s in holding})


def test_kill_9_during_creates_and_deletes_then_the_list_equals_the_engine(private_docker, tmp_path):
    """Five times: four clients create and delete sessions while the agent is killed at a random moment. After each
    restart the session list equals the engine's labelled containers (no container without its session, no session
    without its container, no port twice), and every session the reconciliation closed or whose container it removed
    has a `session.end` record by the agent with the reason."""
    agent_id = f"e2e-{secrets.token_hex(4)}"
    ports = free_port_range(40)
    config = write_config(tmp_path / "agent.toml", private_docker.socket, agent_id, ports, per_user=30, max_sessions=30)
    rng = random.Random(18)
    agents: list[Agent] = []
    reconciled: set[tuple[str, str]] = set()  # (session id, reason) of the agent's session.end records
    left_by_kill: list[dict] = []
    try:
        for round_ in range(6):
            agent = launch(tmp_path, config)
            agents.append(agent)
            wait_for(lambda: engine_status(agent) == "available", timeout=60, what=f"round {round_}: engine available")
            before_id = last_audit_id(agent)
            if round_ > 0:
                # The restart reconciled what the kill left: the list equals the engine.
                wait_for(lambda: _engine_matches_the_list(agent, private_docker, agent_id), timeout=60, what=f"round {round_}: list equals engine")
                gone = [c for c in left_by_kill if c["Id"] not in {x["Id"] for x in labelled(private_docker, agent_id)}]
                ends = [r for r in audit_records(agent) if r["event"] == "session.end" and r["principal"] == "viworks-agent"]
                ended_sessions = {r["parameters"]["session_id"] for r in ends}
                for container in gone:
                    session_id = container["Labels"]["io.viworks.session-id"]
                    assert session_id in ended_sessions, (f"round {round_}: container {container['Id']} of {session_id} went without a record", ends)
                for record in ends:
                    assert record["parameters"]["reason"] and record["outcome"] == "ok", record
                reconciled.update((r["parameters"]["session_id"], r["parameters"]["reason"]) for r in ends)
            if round_ == 5:
                break
            stop = threading.Event()
            created: list[str] = []

            def churn(seed: int) -> None:
                local = random.Random(seed)
                while not stop.is_set():
                    try:
                        if created and local.random() < 0.45:
                            call(agent, "DELETE", f"{SESSIONS}/{created.pop(local.randrange(len(created)))}")
                        else:
                            status, body = call(agent, "POST", SESSIONS, {"username": f"churn{local.randrange(8)}", "template": "web"})
                            if status == 201:
                                created.append(body["session_id"])
                    except Exception:  # the agent is gone (refused, reset, or cut mid-answer)
                        return

            threads = [threading.Thread(target=churn, args=(round_ * 10 + i,), daemon=True) for i in range(4)]
            for thread in threads:
                thread.start()
            try:
                wait_for(lambda: len(audit_records(agent, before_id)) >= 4, timeout=60, what=f"round {round_}: session changes under way")
                time.sleep(rng.uniform(0.2, 1.5))
            finally:
                agent.process.send_signal(signal.SIGKILL)
                agent.process.wait(timeout=EXIT_TIMEOUT)
                stop.set()
                for thread in threads:
                    thread.join(timeout=30)
            left_by_kill = labelled(private_docker, agent_id)

        # The kills landed during creates: the restarts closed sessions left `creating` and removed their containers.
        assert "the agent stopped while the session was being created" in {reason for _, reason in reconciled}, reconciled
        # Every session still listed can be deleted, and then nothing of this agent is left on the engine.
        last = agents[-1]
        _, listed = call(last, "GET", SESSIONS, role="viewer")
        for session in listed["sessions"]:
            if session["status"] not in ("removed", "orphaned"):
                assert call(last, "DELETE", f"{SESSIONS}/{session['session_id']}")[0] == 200
        assert labelled(private_docker, agent_id) == []
    finally:
        for agent in agents:
            agent.stop()
        for container in labelled(private_docker, agent_id):
            private_docker.api("DELETE", f"/containers/{container['Id']}?force=1")


# MARK: - The engine going away (last: it stops the module's dockerd)


def test_the_engine_stopped_is_a_state_and_it_recovers(engine_agent):
    agent, docker = engine_agent, engine_agent.docker
    before = create(agent, "frank")
    docker.stop_daemon()
    try:
        wait_for(lambda: engine_status(agent) == "unavailable", timeout=60, what="engine unavailable")
        _, listed = call(agent, "GET", SESSIONS, role="viewer")
        assert listed["engine"]["reason"], listed
        assert agent.get("/api/v1/health").status == 200
        status, refused = call(agent, "POST", SESSIONS, {"username": "frank", "template": "web"})
        assert status == 503 and refused["error"]["code"] == "engine_unavailable", refused
        assert refused["error"]["message"].startswith("the container engine is unavailable: "), refused
        # dockerd stopped the container as it went down; the die event reached the record before the stream broke.
        _, record = call(agent, "GET", f"{SESSIONS}/{before['session_id']}", role="viewer")
        assert record["status"] == "exited" and record["stopped_at"] is not None, record
        status, refused = call(agent, "POST", f"{SESSIONS}/{before['session_id']}/start")
        assert status == 503 and refused["error"]["code"] == "engine_unavailable", refused
        assert agent.process.poll() is None
    finally:
        docker.start_daemon()
    wait_for(lambda: engine_status(agent) == "available", timeout=60, what="engine available again")
    # The exited session starts again on the engine that came back.
    status, restarted = call(agent, "POST", f"{SESSIONS}/{before['session_id']}/start")
    assert status == 200 and restarted["status"] == "running", restarted
    assert wait_for(lambda: _get_ok(before["port"]), timeout=60, what="httpd of the restarted session") == b"hello\n"
    after = create(agent, "frank")
    assert wait_for(lambda: _get_ok(after["port"]), timeout=60, what="httpd of the new session") == b"hello\n"
    for session in (before, after):
        assert call(agent, "DELETE", f"{SESSIONS}/{session['session_id']}")[0] == 200
    assert labelled(docker, agent.agent_id) == []
