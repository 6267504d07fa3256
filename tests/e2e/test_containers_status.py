"""`/api/v1/status` `engine` and `containers`, and `/metrics` `viworks_container_*`, of the real binary against a private
dockerd (tests/e2e/docker_fixture.py): the engine available, a labelled container listed with the specification's
fields (no `cpu_percent` on its first sample), its series gone once it is removed, and the engine down then back.
"""

from __future__ import annotations

import os

import conftest
from conftest import assert_valid, component_validator, free_port, openapi_source_json, start_agent
from docker_fixture import IMAGE, private_docker  # noqa: F401  (the fixture)

FIELDS = {
    "id", "name", "image", "state", "status", "created_at", "ports", "session_id", "username", "port", "cpu_percent", "memory_bytes",
    "memory_limit_bytes", "cpu_shares", "oom_killed", "exit_code",
}


def wait_for(agent, predicate, what: str, timeout: float = 60.0) -> dict:
    """The first `/api/v1/status` for which `predicate` holds (conftest's wait_for), failing with the last one seen."""
    seen = {}

    def check():
        seen["status"] = status = agent.get_json("/api/v1/status")
        return status if predicate(status) else None

    try:
        return conftest.wait_for(check, timeout=timeout, what=what)
    except AssertionError:
        status = seen.get("status")
        raise AssertionError(f"{what} not seen within {timeout} s: engine={status and status['engine']} "
                             f"containers={status and status['containers']}\n{agent.log()}") from None


def metric_lines(agent, prefix: str) -> list[str]:
    response = agent.get("/metrics")
    assert response.status == 200
    return [line for line in response.body.decode().splitlines() if line.startswith(prefix)]


def test_status_lists_the_engine_and_the_agents_containers(private_docker, tmp_path):
    docker = private_docker
    agent_id = f"e2e-status-{os.getpid()}"
    agent = start_agent(tmp_path, env={
        "VIWORKS_CONTAINERS_ENABLED": "true", "VIWORKS_CONTAINERS_SOCKET": docker.socket, "VIWORKS_CONTAINERS_AGENT_ID": agent_id,
        # Containers are collected at the collection interval: 1 s keeps the test short.
        "VIWORKS_AGENT_INTERVAL": "1s",
    })
    try:
        status = wait_for(agent, lambda s: s["engine"]["status"] == "available", "engine available")
        engine = status["engine"]
        assert engine["api_version"] == "1.41"
        _, version = docker.api("GET", "/version")
        assert engine["version"] == version["Version"]
        assert engine["reason"] is None
        assert status["containers"] == []
        assert metric_lines(agent, "viworks_container_engine_up ") == ["viworks_container_engine_up 1.0"]

        # A container carrying this agent's label (made behind the agent's back: no session record) is listed.
        host_port = free_port()
        code, created = docker.api("POST", "/containers/create?name=e2e-status-web", {
            "Image": IMAGE, "Labels": {"io.viworks.agent": agent_id}, "ExposedPorts": {"8080/tcp": {}},
            "HostConfig": {"Memory": 64 << 20, "MemorySwap": 64 << 20, "CpuShares": 256, "Init": True,
                           "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]}},
        })
        assert code == 201, created
        container_id = created["Id"]
        code, body = docker.api("POST", f"/containers/{container_id}/start")
        assert code == 204, body
        first = wait_for(agent, lambda s: any(c["id"] == container_id and c["state"] == "running" for c in s["containers"]),
                         "the container listed")["containers"]
        assert [c["id"] for c in first] == [container_id]
        assert set(first[0]) == FIELDS
        seen = wait_for(agent, lambda s: s["containers"] and s["containers"][0]["cpu_percent"] is not None,
                        "a second sample with cpu_percent")["containers"][0]
        assert seen["name"] == "e2e-status-web"
        assert seen["image"] == IMAGE
        assert seen["state"] == "running" and seen["status"].startswith("Up")
        assert seen["ports"] == [{"ip": "127.0.0.1", "private_port": 8080, "public_port": host_port, "type": "tcp"}]
        assert seen["session_id"] is None and seen["username"] is None and seen["port"] is None
        assert seen["memory_limit_bytes"] == 64 << 20
        assert seen["cpu_shares"] == 256
        assert seen["oom_killed"] is False and seen["exit_code"] is None
        assert 0 < seen["memory_bytes"] < 64 << 20
        assert 0 <= seen["cpu_percent"] <= 100 * os.cpu_count()
        # Every status along the way matches the OpenAPI document.
        validator = component_validator(openapi_source_json(), "Status")
        for observed in (status, {**status, "containers": first}, {**status, "containers": [seen]}):
            assert_valid(validator, observed, "status")

        labels = f'{{id="{container_id}",name="e2e-status-web"}}'
        assert f"viworks_container_up{labels} 1.0" in metric_lines(agent, "viworks_container_up{")
        assert f"viworks_container_memory_limit_bytes{labels} 67108864.0" in metric_lines(agent, "viworks_container_memory_limit_bytes{")

        # Removed: gone from status and from /metrics at the next collection.
        code, body = docker.api("DELETE", f"/containers/{container_id}?force=1")
        assert code == 204, body
        wait_for(agent, lambda s: s["containers"] == [], "the container gone")
        assert [line for line in metric_lines(agent, "viworks_container_") if container_id in line] == []

        # The engine down is a state: unavailable with the reason, health still 200; then it comes back.
        docker.stop_daemon()
        down_status = wait_for(agent, lambda s: s["engine"]["status"] == "unavailable", "engine unavailable")
        assert_valid(validator, down_status, "status with the engine down")
        assert down_status["containers"] == []
        down = down_status["engine"]
        assert down["reason"].startswith(("ENOENT", "ECONNREFUSED")), down
        assert agent.get("/api/v1/health").status == 200
        assert metric_lines(agent, "viworks_container_engine_up ") == ["viworks_container_engine_up 0.0"]
        docker.start_daemon()
        back = wait_for(agent, lambda s: s["engine"]["status"] == "available", "engine available again")["engine"]
        assert back["reason"] is None and back["api_version"] == "1.41"
    finally:
        agent.stop()


def test_an_engine_that_is_not_there_is_unavailable_with_the_reason(tmp_path):
    """No engine needed: containers on, the socket missing. The agent starts, health stays 200, status says why."""
    socket_path = tmp_path / "no-engine.sock"
    agent = start_agent(tmp_path, env={"VIWORKS_CONTAINERS_ENABLED": "true", "VIWORKS_CONTAINERS_SOCKET": str(socket_path)})
    try:
        status = wait_for(agent, lambda s: s["engine"]["reason"] != "not connected yet", "a connection attempt")
        assert status["engine"] == {
            "status": "unavailable", "version": None, "api_version": None,
            "reason": f"ENOENT: no socket at {socket_path} (is the engine installed and running?)",
        }
        assert status["containers"] == []
        assert_valid(component_validator(openapi_source_json(), "Status"), status, "status")
        assert agent.get("/api/v1/health").status == 200
        assert metric_lines(agent, "viworks_container_engine_up ") == ["viworks_container_engine_up 0.0"]
        assert metric_lines(agent, 'viworks_container_sessions{status="running"} ') == ['viworks_container_sessions{status="running"} 0.0']
    finally:
        agent.stop()


def test_auto_without_a_socket_is_disabled(tmp_path):
    socket_path = tmp_path / "no-engine.sock"
    agent = start_agent(tmp_path, env={"VIWORKS_CONTAINERS_SOCKET": str(socket_path)})
    try:
        status = agent.get_json("/api/v1/status")
        assert status["engine"] == {
            "status": "disabled", "version": None, "api_version": None,
            "reason": f'no engine socket at {socket_path} ([containers] enabled = "auto")',
        }
        assert metric_lines(agent, "viworks_container_") == []
    finally:
        agent.stop()
