"""JSON errors, 405 with Allow, and HEAD."""

from __future__ import annotations

import time

import pytest

from conftest import (
    JSON_TYPE,
    assert_valid,
    component_validator,
    copy_host_tree,
    fixture_host_args,
    fixture_host_dir,
    response_schema,
    start_agent,
    validator_for,
)


def test_unknown_path_is_404_json(live_agent, openapi_doc):
    response = live_agent.get("/nope")
    assert response.status == 404
    assert response.header("content-type") == JSON_TYPE
    body = response.json()
    assert_valid(component_validator(openapi_doc, "Error"), body, "404 body")
    assert body["error"]["code"] == "not_found"
    assert "/nope" in body["error"]["message"]


def test_post_on_a_get_route_is_405_with_allow(live_agent, openapi_doc):
    response = live_agent.request("POST", "/api/v1/status", {"Content-Type": "application/json"}, b"{}")
    assert response.status == 405
    assert response.header("content-type") == JSON_TYPE
    allow = {m.strip() for m in (response.header("allow") or "").split(",")}
    assert allow == {"GET", "HEAD", "OPTIONS"}, response.headers
    body = response.json()
    assert_valid(component_validator(openapi_doc, "Error"), body, "405 body")
    assert body["error"]["code"] == "method_not_allowed"


def test_other_methods_are_405_too(live_agent):
    for method in ("PUT", "DELETE", "PATCH"):
        response = live_agent.request(method, "/metrics")
        assert response.status == 405, method
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_methods_on_a_known_path_are_405_too(live_agent):
    for method in ("PROPFIND", "TRACE"):
        response = live_agent.request(method, "/api/v1/status")
        assert response.status == 405, method
        assert response.header("allow") == "GET, HEAD, OPTIONS"
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_options_on_a_known_path_is_204_with_allow(live_agent):
    response = live_agent.request("OPTIONS", "/api/v1/status")
    assert response.status == 204
    assert response.header("allow") == "GET, HEAD, OPTIONS"
    assert response.body == b""


def test_head_status_is_200_without_body(live_agent):
    response = live_agent.request("HEAD", "/api/v1/status")
    assert response.status == 200
    assert response.body == b""
    assert response.header("content-type") == JSON_TYPE
    assert response.header("etag")
    get = live_agent.get("/api/v1/status")
    if get.header("etag") == response.header("etag") and response.header("content-length") is not None:
        assert int(response.header("content-length")) == len(get.body)


# MARK: - A core collector in a crash loop


@pytest.fixture(scope="module")
def failing_agent(tmp_path_factory):
    """The captured host without proc/stat: the core `cpu` collector throws at every start and, with a
    tiny backoff and one restart allowed, the supervisor marks it `failed` within milliseconds."""
    workdir = tmp_path_factory.mktemp("failing")
    root = copy_host_tree(fixture_host_dir(), workdir / "host")
    (root / "proc/stat").unlink()
    env = {
        "VIWORKS_SUPERVISOR_BACKOFF_INITIAL": "10ms", "VIWORKS_SUPERVISOR_BACKOFF_MAX": "20ms", "VIWORKS_SUPERVISOR_MAX_RESTARTS": "1",
    }
    agent = start_agent(workdir, *fixture_host_args(root), env=env, accept=(200, 503))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = {c["name"]: c for c in agent.get_json("/api/v1/collectors")["collectors"]}
            if states["cpu"]["status"] == "failed":
                break
            time.sleep(0.05)
        yield agent
    finally:
        agent.stop()


def test_failed_core_collector_makes_health_503(failing_agent, openapi_doc):
    states = {c["name"]: c for c in failing_agent.get_json("/api/v1/collectors")["collectors"]}
    assert states["cpu"]["status"] == "failed"
    assert "proc/stat" in states["cpu"]["last_error"]
    response = failing_agent.get("/api/v1/health")
    assert response.status == 503
    body = response.json()
    _, schema = response_schema(openapi_doc, "/api/v1/health", "503")
    assert_valid(validator_for(openapi_doc, schema), body, "503 health")
    assert body["failed_collectors"] == ["cpu"]
    assert body["status"] in ("unhealthy", "starting")
    simple = failing_agent.get_json("/api/v1/status-simple")
    assert simple["status"] == "critical"
    assert "collector cpu failed" in simple["reasons"]
    assert simple["cpu_usage_percent"] is None
    assert_valid(validator_for(openapi_doc, response_schema(openapi_doc, "/api/v1/status-simple")[1]), simple, "status-simple")
    status = failing_agent.get_json("/api/v1/status")
    assert_valid(validator_for(openapi_doc, response_schema(openapi_doc, "/api/v1/status")[1]), status, "status with a null cpu")
    assert status["system_info"]["cpu"] is None


def test_failed_core_collector_health_says_unhealthy(failing_agent):
    response = failing_agent.get("/api/v1/health")
    assert response.status == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["failed_collectors"] == ["cpu"]


def test_etags_differ_across_agent_restarts(tmp_path):
    """Two runs over the same captured host reach the same snapshot version; a client that polls across a
    restart must not get a false 304, so the ETag carries the process's start time."""
    etags = []
    for run in range(2):
        agent = start_agent(tmp_path / f"run{run}", *fixture_host_args(fixture_host_dir()))
        try:
            agent.wait_collections(2)
            etags.append(agent.get("/api/v1/status-simple").header("etag"))
        finally:
            agent.stop()
    assert all(etags) and etags[0] != etags[1]
