"""JSON errors, 405 with Allow, and HEAD."""

from __future__ import annotations

from conftest import JSON_TYPE, assert_valid, component_validator


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
    assert allow == {"GET", "HEAD"}, response.headers
    body = response.json()
    assert_valid(component_validator(openapi_doc, "Error"), body, "405 body")
    assert body["error"]["code"] == "method_not_allowed"


def test_other_methods_are_405_too(live_agent):
    for method in ("PUT", "DELETE", "PATCH"):
        response = live_agent.request(method, "/metrics")
        assert response.status == 405, method
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_head_status_is_200_without_body(live_agent):
    response = live_agent.request("HEAD", "/api/v1/status")
    assert response.status == 200
    assert response.body == b""
    assert response.header("content-type") == JSON_TYPE
    assert response.header("etag")
    get = live_agent.get("/api/v1/status")
    if get.header("etag") == response.header("etag") and response.header("content-length") is not None:
        assert int(response.header("content-length")) == len(get.body)
