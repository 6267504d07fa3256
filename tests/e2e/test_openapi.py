"""The OpenAPI document: valid, complete, and true of every live response."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

from conftest import (
    CACHED_ROUTES,
    JSON_TYPE,
    OPENAPI_FILE,
    PROMETHEUS_TYPE,
    assert_valid,
    component_validator,
    openapi_source_json,
    response_schema,
    router_access,
    router_routes,
    validator_for,
)

# GET routes without path parameters: the ones a test can call as they are written.
DOCUMENTED_ROUTES = sorted(path for method, path in router_routes() if method == "get" and "{" not in path)
# The query that lets a test read a route to its end: the status stream ends after max_events events.
READ_TO_END = {"/api/v1/stream": "?max_events=1"}
EVENT_STREAM_TYPE = "text/event-stream; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


def test_document_is_valid_openapi_3_1(openapi_doc):
    assert openapi_doc["openapi"].startswith("3.1.")
    validate(openapi_doc)


def test_served_document_is_the_source(openapi_doc):
    # Catches a stale binary as much as a served document that differs from Sources/Server/Resources/openapi.json.
    assert openapi_doc == openapi_source_json()


def test_served_document_is_the_file_byte_for_byte(live_agent):
    response = live_agent.get("/api/v1/openapi.json")
    assert response.status == 200 and response.header("content-type") == JSON_TYPE
    assert response.body == OPENAPI_FILE.read_bytes()


def test_paths_are_exactly_the_router_routes(openapi_doc):
    documented = {(method, path) for path, item in openapi_doc["paths"].items() for method in item if method in ("get", "post", "put", "patch", "delete")}
    assert documented == router_routes()


def test_the_live_router_allows_exactly_the_documented_methods_of_each_path(live_agent, openapi_doc):
    """OPTIONS on every documented path (a parameter filled in) answers 204 with the documented methods, HEAD for GET."""
    for path, item in openapi_doc["paths"].items():
        methods = [method.upper() for method in item if method in ("get", "post", "put", "patch", "delete")]
        expected = set(methods) | ({"HEAD"} if "GET" in methods else set()) | {"OPTIONS"}
        response = live_agent.request("OPTIONS", re.sub(r"\{[a-z]+\}", "x", path), live_agent.admin)
        assert response.status == 204, (path, response.status, response.body[:200])
        assert {m.strip() for m in response.header("allow").split(",")} == expected, (path, response.header("allow"))


SECURITY_SCHEMES = {"apiKeyBearer", "jwtBearer", "apiKeyHeader"}


def test_security_schemes_and_every_operations_requirement_follow_the_route_table(openapi_doc):
    schemes = openapi_doc["components"]["securitySchemes"]
    assert set(schemes) == SECURITY_SCHEMES
    assert schemes["apiKeyBearer"] == schemes["apiKeyBearer"] | {"type": "http", "scheme": "bearer"}
    assert schemes["jwtBearer"]["bearerFormat"] == "JWT"
    assert schemes["apiKeyHeader"] | {"description": ""} == {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": ""}
    access = router_access()
    assert set(access) == router_routes()
    for path, item in openapi_doc["paths"].items():
        for method, operation in item.items():
            role = access[(method, path)]
            assert operation["x-viworks-role"] == role, f"{method.upper()} {path}"
            if role == "public":
                assert operation["security"] == [{}], f"{method.upper()} {path}"
                assert "401" not in operation["responses"]
            else:
                assert operation["security"] == [{scheme: [role]} for scheme in ("apiKeyBearer", "jwtBearer", "apiKeyHeader")], f"{method.upper()} {path}"
                assert {"401", "403", "429"} <= set(operation["responses"]), f"{method.upper()} {path}"
    assert access[("get", "/api/v1/health")] == "public"
    assert {role for (method, _), role in access.items() if method != "get"} <= {"operator", "admin"}


def test_every_object_schema_is_closed_and_requires_every_key(openapi_doc):
    """`additionalProperties: false` and `required` = every property, everywhere, so a key added to or
    removed from a DTO without the document fails the live validation below. Request bodies (`*Request`) are
    closed too, but their optional keys are optional."""
    problems = []

    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node:
                if node.get("additionalProperties") is not False:
                    problems.append(f"{where}: additionalProperties is not false")
                if not where.endswith("Request") and sorted(node.get("required", [])) != sorted(node["properties"]):
                    problems.append(f"{where}: required {node.get('required')} != properties {list(node['properties'])}")
                for name, prop in node["properties"].items():
                    if "$ref" not in prop and not prop.get("description"):
                        problems.append(f"{where}.{name}: no description")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(openapi_doc["components"]["schemas"], "#/components/schemas")
    assert not problems, "\n".join(problems)


def test_cached_routes_document_304_and_health_documents_503(openapi_doc):
    with_304 = {path for path, item in openapi_doc["paths"].items() if "304" in item.get("get", {}).get("responses", {})}
    # The dashboard's page revalidates like the cached routes; its files are immutable (test_dashboard.py).
    assert with_304 == CACHED_ROUTES | {"/", "/assets/{version}/{file}"}
    for path in CACHED_ROUTES | {"/", "/assets/{version}/{file}"}:
        params = openapi_doc["paths"][path]["get"].get("parameters", [])
        assert params, f"{path} documents no If-None-Match parameter"
    assert {"200", "503"} <= set(openapi_doc["paths"]["/api/v1/health"]["get"]["responses"])
    for path, item in openapi_doc["paths"].items():
        for method, operation in item.items():
            assert "default" in operation["responses"], f"{method.upper()} {path}: no error response documented"


def without_journal(path: str, response) -> bool:
    """On a host without journal files (no systemd-journald) the logs route answers its documented 503
    `journal_unavailable`; tests/systemd reads a real journal."""
    return path == "/api/v1/logs" and response.status == 503 and response.json()["error"]["code"] == "journal_unavailable"


def without_containers(path: str, response) -> bool:
    """On a host without a container engine socket, `[containers] enabled = "auto"` leaves containers off and the
    sessions route answers its documented 503 `containers_disabled`; test_sessions.py runs a real engine."""
    return path == "/api/v1/sessions" and response.status == 503 and response.json()["error"]["code"] == "containers_disabled"


@pytest.mark.parametrize("path", DOCUMENTED_ROUTES)
def test_live_response_matches_its_schema(live_agent, openapi_doc, path):
    response = live_agent.get(path + READ_TO_END.get(path, ""), live_agent.admin)
    if without_journal(path, response) or without_containers(path, response):
        assert_valid(component_validator(openapi_doc, "Error"), response.json(), f"GET {path} 503")
        return
    assert response.status == 200, f"{path}: {response.status} {response.body[:300]!r}"
    content_type, schema = response_schema(openapi_doc, path)
    assert response.header("content-type") == content_type
    if content_type == JSON_TYPE:
        assert_valid(validator_for(openapi_doc, schema), response.json(), f"GET {path}")
    elif content_type == EVENT_STREAM_TYPE:
        # Each event's data is the document its event names (the description says which schema).
        events = [block for block in response.body.decode().split("\n\n") if "\ndata: " in block]
        assert len(events) == 1, response.body[:500]
        fields = dict(line.split(": ", 1) for line in events[0].split("\n") if ": " in line)
        component = {"status": "Status", "alerts": "Alerts"}[fields["event"]]
        assert_valid(component_validator(openapi_doc, component), json.loads(fields["data"]), f"GET {path} event {fields['event']}")
    elif content_type == HTML_TYPE:
        assert response.body.startswith(b"<!doctype html>")
    else:
        assert content_type == PROMETHEUS_TYPE
        assert_valid(validator_for(openapi_doc, schema), response.body.decode(), f"GET {path}")
        check_prometheus_text(response.body.decode())


@pytest.mark.parametrize("path", sorted(CACHED_ROUTES | {"/"}))
def test_cached_route_answers_304_to_its_etag(live_agent, path):
    for _ in range(3):  # a collection landing between the two requests changes the ETag: retry
        first = live_agent.get(path)
        etag = first.header("etag")
        assert first.status == 200 and etag, f"{path}: {first.status}, ETag {etag!r}"
        assert re.fullmatch(r'"[^"]+"', etag), f"ETag {etag!r} is not a quoted strong validator"
        assert first.header("cache-control") == "no-cache"
        second = live_agent.get(path, {"If-None-Match": etag})
        if second.status == 200 and second.header("etag") != etag:
            continue
        assert second.status == 304, f"{path}: If-None-Match {etag} gave {second.status}"
        assert second.body == b"", f"304 with a body: {second.body[:200]!r}"
        assert second.header("etag") == etag
        # Weak comparison and lists, as RFC 9110 says for If-None-Match.
        assert live_agent.get(path, {"If-None-Match": f'"nope", W/{etag}'}).status == 304
        assert live_agent.get(path, {"If-None-Match": '"nope"'}).status == 200
        return
    pytest.fail(f"{path}: ETag kept changing")


@pytest.mark.parametrize("path", DOCUMENTED_ROUTES)
def test_head_has_the_headers_and_no_body(live_agent, path):
    get = live_agent.get(path + READ_TO_END.get(path, ""), live_agent.admin)
    head = live_agent.request("HEAD", path + READ_TO_END.get(path, ""), live_agent.admin)
    assert head.status == (503 if without_journal(path, get) or without_containers(path, get) else 200)
    assert head.body == b""
    assert head.header("content-type") == get.header("content-type")


def test_503_health_during_startup_matches_the_schema_if_seen(live_agent, openapi_doc):
    """Health answers 503 `starting` until the first collection; the start-up poll keeps what it saw."""
    seen = [r for r in live_agent.startup_responses if r.status == 503]
    if not seen:
        pytest.skip("the first collection landed before the first health poll")
    _, schema = response_schema(openapi_doc, "/api/v1/health", "503")
    for response in seen:
        body = response.json()
        assert_valid(validator_for(openapi_doc, schema), body, "503 health")
        assert body["status"] == "starting"


PROM_LINE = re.compile(
    r'^(?:# (?:HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*'
    r'|[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? -?(?:[0-9.e+-]+|NaN|\+Inf|-Inf)(?: -?[0-9]+)?)$'
)


def check_prometheus_text(text: str) -> None:
    bad = [line for line in text.splitlines() if line and not PROM_LINE.match(line)]
    assert not bad, f"lines that are not Prometheus text 0.0.4: {bad[:5]}"
    assert text.endswith("\n")
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    for required in (
        "viworks_cpu_usage_percent", "viworks_memory_usage_percent", "viworks_network_receive_bytes_total",
        "viworks_collector_success", "viworks_collector_duration_seconds", "viworks_agent_info",
    ):
        assert required in names, f"{required} missing from /metrics"
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    assert len(types) == len({name for name, _ in types}), "a metric family is declared twice"
