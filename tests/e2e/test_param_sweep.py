"""Every query and path parameter of every route, swept with hostile values, against the real binary.

The routes and their parameters come from the OpenAPI document the agent serves, so a new route or parameter joins the
sweep by being documented (and test_openapi.py makes sure every route is). The rule: a 2xx or a 4xx, never a 5xx and
never a dead agent. Then the query-string rules that hold for every route alike (the document's info.description):
unknown and repeated parameters, booleans, inverted ranges, percent-decoded path parameters.

The POST routes run with an admin key, but nothing here can harm the machine: services are not controlled (systemd is
off in this agent), the only command the sweep posts is an allowlisted `echo`, and plugins.d is an empty directory.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import quote

import pytest

from conftest import REQUEST_TIMEOUT, run_cli, start_agent

# Hostile values: 64-bit limits and beyond, exponents, signs, NaN, empty, times far outside the accepted range.
EXTREME_VALUES = [
    "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
    "1e19", "-1e19", "1e308", "1e999", "-1e999", "1E10", "12345678901234567890", "99999999999999999999", "-0", "-0.0", "0",
    "-1", "9999999999", "-9999999999", "99999999999", "9999999999.999999999", "0.0000000001", "1.", ".5",
    "NaN", "nan", "inf", "-inf", "Infinity", "", " ", "0x10", "%", "%zz", "%00", "\u00e9", "\u0000",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z",
    "2200-01-01T00:00:00.000000001Z", "2025-01-01T00:00:00+23:59", "2025-01-01T00:00:00.9999999999999999999Z",
    "x" * 2000,
]

# Path values that would otherwise only reach a 404 before the query is read: a real series, a real period.
KNOWN_PATH_VALUES = {("/api/v1/metrics/{name}/history", "name"): "viworks_load1"}

# Far above the sweep's time on a loaded machine (a few minutes at most), far below that of a slow answer to each of its
# thousand-odd requests.
SWEEP_BUDGET_SECONDS = 600


def encode(value: str) -> str:
    """A value as a client would put it into a URL; `%`-sequences meant as hostile encodings stay as they are."""
    return value if value.startswith("%") else quote(value, safe="")


@pytest.fixture(scope="module")
def sweep_agent(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sweep")
    keys = workdir / "api-keys"
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-sweep", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    plugins = workdir / "plugins.d"
    plugins.mkdir()
    config = workdir / "agent.toml"
    config.write_text(
        """
[commands.sweep-echo]
summary = "harmless, for the parameter sweep"
executable = "/bin/echo"
arguments = ["{text}"]
parameters.text = "text:64"
"""
    )
    env = {
        "VIWORKS_AUTH_API_KEY_FILE": str(keys),
        "VIWORKS_AUTH_ANONYMOUS_ROLE": "viewer",
        "VIWORKS_SERVICES_SYSTEMD": "off",
        "VIWORKS_PLUGINS_DIRECTORY": str(plugins),
        "VIWORKS_AGENT_INTERVAL": "1s",
        "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s",
    }
    agent = start_agent(workdir, "--config", str(config), env=env)
    agent.admin = {"X-API-Key": created.stdout.strip()}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = agent.get("/api/v1/metrics/viworks_load1/history")
            if response.status == 200 and response.json()["series"][0]["points"]:
                break
            time.sleep(0.3)
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="module")
def operations(sweep_agent) -> list[dict]:
    """method, path, path parameters, query parameters (name → schema) of every documented operation."""
    document = sweep_agent.get_json("/api/v1/openapi.json")
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = []
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                parameters.append(parameter)
            found.append({
                "method": method.upper(), "path": path,
                "path_parameters": {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == "path"},
                "query_parameters": {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == "query"},
            })
    assert len(found) >= 28, found
    return found


def baseline_path(operation: dict, overrides: dict[str, str] | None = None) -> str:
    path = operation["path"]
    for name, schema in operation["path_parameters"].items():
        if overrides and name in overrides:
            value = overrides[name]
        elif (operation["path"], name) in KNOWN_PATH_VALUES:
            value = quote(KNOWN_PATH_VALUES[(operation["path"], name)], safe="")
        else:
            value = quote(str((schema.get("enum") or ["x"])[0]), safe="")
        path = path.replace("{" + name + "}", value)
    return path


def send(agent, operation: dict, path: str):
    # The status stream ends only after `max_events` events: every request to it asks for one unless it sets its own.
    if operation["path"] == "/api/v1/stream" and "max_events=" not in path:
        path += ("&" if "?" in path else "?") + "max_events=1"
    headers = dict(agent.admin)
    body = b""
    if operation["method"] == "POST":
        headers["Content-Type"] = "application/json"
        body = json.dumps({"command": "sweep-echo", "parameters": {"text": "sweep"}}).encode()
    return agent.request(operation["method"], path, headers=headers, body=body)


def is_stream(operation: dict, name: str, value: str) -> bool:
    """`follow=true` on the journal streams until the client leaves: not a request to sweep with."""
    return operation["query_parameters"].get(name, {}).get("type") == "boolean" and value in ("true", "1")


def test_every_parameter_of_every_route_survives_extreme_values(sweep_agent, operations):
    started = time.monotonic()
    failures = []
    requests = 0
    for operation in operations:
        # A route this host cannot serve at all (no journal here) may answer its own 503 with or without parameters.
        baseline = send(sweep_agent, operation, baseline_path(operation))
        unavailable = baseline.json()["error"]["code"] if baseline.status == 503 else None
        cases = []
        for name in operation["path_parameters"]:
            cases += [(f"path {name}={value!r}", baseline_path(operation, {name: encode(value)})) for value in EXTREME_VALUES if value]
        for name in operation["query_parameters"]:
            cases += [
                (f"query {name}={value!r}", f"{baseline_path(operation)}?{name}={encode(value)}")
                for value in EXTREME_VALUES if not is_stream(operation, name, value)
            ]
        for what, path in cases:
            requests += 1
            try:
                response = send(sweep_agent, operation, path)
            except (OSError, IndexError, ValueError) as error:
                failures.append(f"{operation['method']} {operation['path']} {what}: no answer ({error!r})")
                break
            if sweep_agent.process.poll() is not None:
                failures.append(f"{operation['method']} {operation['path']} {what}: the agent died (exit {sweep_agent.process.returncode})")
                break
            if response.status >= 500 and not (response.status == 503 and unavailable and response.json()["error"]["code"] == unavailable):
                failures.append(f"{operation['method']} {operation['path']} {what}: {response.status} {response.body[:200]!r}")
        health = sweep_agent.get("/api/v1/health")
        assert health.status == 200, f"after {operation['method']} {operation['path']}: health {health.status}"
        if failures and sweep_agent.process.poll() is not None:
            break
    elapsed = time.monotonic() - started
    assert not failures, "\n".join(failures[:40])
    assert requests > 1000, requests
    assert elapsed < SWEEP_BUDGET_SECONDS, f"the sweep took {elapsed:.1f} s"


def test_the_crashing_times_of_the_report_are_400s(sweep_agent):
    for path in (
        "/api/v1/incidents?to=9999999999", "/api/v1/incidents?from=-9999999999", "/api/v1/reports/daily?to=9999999999",
        "/api/v1/history/status?to=9999999999", "/api/v1/metrics/viworks_load1/history?from=-9999999999",
    ):
        response = sweep_agent.get(path)
        assert response.status == 400, (path, response.status, response.body[:200])
        error = response.json()["error"]
        assert error["code"] == "invalid_parameter" and "2200-01-01T00:00:00Z" in error["message"], (path, error)
    assert sweep_agent.get("/api/v1/health").status == 200


def test_times_at_the_ends_of_the_accepted_range_are_served(sweep_agent):
    for query in ("from=0&to=1", "from=1970-01-01T00:00:00Z&to=2200-01-01T00:00:00Z", "to=7258118400", "to=7258118400.000000000",
                  "from=1738324800.25&to=2025-01-31T13:00:01%2B01:00"):
        response = sweep_agent.get(f"/api/v1/incidents?{query}")
        assert response.status == 200, (query, response.status, response.body[:200])
    body = sweep_agent.get_json("/api/v1/incidents?from=1738324800.25&to=2025-01-31T13:00:01%2B01:00")
    assert body["from"] == "2025-01-31T12:00:00.250000000+00:00" and body["to"] == "2025-01-31T12:00:01.000000000+00:00"
    for query in ("to=7258118400.000000001", "to=2200-01-01T00:00:00.000000001Z", "from=-1", "to=1969-12-31T23:59:59Z"):
        response = sweep_agent.get(f"/api/v1/incidents?{query}")
        assert response.status == 400 and response.json()["error"]["code"] == "invalid_parameter", (query, response.status)


# MARK: - One rule for every route


def test_an_unknown_parameter_is_refused_by_every_route_naming_it(sweep_agent, operations):
    for operation in operations:
        path = baseline_path(operation) + "?colour=red"
        response = send(sweep_agent, operation, path)
        assert response.status == 400, (operation["method"], path, response.status, response.body[:200])
        error = response.json()["error"]
        assert error["code"] == "invalid_parameter" and "'colour'" in error["message"], (path, error)


def test_a_repeated_parameter_is_refused_unless_documented_as_an_array(sweep_agent, operations):
    checked = 0
    for operation in operations:
        for name, schema in operation["query_parameters"].items():
            if schema.get("type") == "array":
                continue
            value = "false" if schema.get("type") == "boolean" else "10" if schema.get("type") == "integer" else "json" if name == "format" else "1"
            path = f"{baseline_path(operation)}?{name}={value}&{name}={value}"
            response = send(sweep_agent, operation, path)
            assert response.status == 400, (path, response.status, response.body[:200])
            error = response.json()["error"]
            assert error["code"] == "invalid_parameter" and "given twice" in error["message"], (path, error)
            checked += 1
    assert checked >= 15
    twice = sweep_agent.get("/api/v1/metrics/viworks_load1/history?label=a=b&label=c=d")
    assert twice.status == 404 and "with these labels" in twice.json()["error"]["message"]


def test_booleans_are_exactly_true_false_1_or_0(sweep_agent, operations):
    booleans = [(operation, name) for operation in operations for name, schema in operation["query_parameters"].items() if schema.get("type") == "boolean"]
    assert {name for _, name in booleans} >= {"follow", "verify"}
    for operation, name in booleans:
        baseline = send(sweep_agent, operation, baseline_path(operation)).status
        for value in ("yes", "no", "TRUE", "on", "2", ""):
            response = send(sweep_agent, operation, f"{baseline_path(operation)}?{name}={value}")
            assert response.status == 400, (operation["path"], name, value, response.status)
            assert response.json()["error"]["code"] == "invalid_parameter" and name in response.json()["error"]["message"]
        for value in ("false", "0"):
            assert send(sweep_agent, operation, f"{baseline_path(operation)}?{name}={value}").status == baseline, (operation["path"], name, value)
    verified = sweep_agent.request("GET", "/api/v1/audit?verify=1", headers=sweep_agent.admin)
    assert verified.status == 200 and verified.json()["verification"]["intact"] is True


def test_an_inverted_range_is_refused_everywhere(sweep_agent, operations):
    checked = 0
    for operation in operations:
        names = set(operation["query_parameters"])
        for start, end in (("from", "to"), ("since", "until")):
            if {start, end} <= names:
                path = f"{baseline_path(operation)}?{start}=1700000200&{end}=1700000100"
                response = send(sweep_agent, operation, path)
                assert response.status == 400, (path, response.status, response.body[:200])
                error = response.json()["error"]
                assert error["code"] == "invalid_parameter" and f"{start} (1700000200) is after {end} (1700000100)" in error["message"], error
                checked += 1
    assert checked >= 5


def test_path_parameters_are_percent_decoded(sweep_agent):
    decoded = sweep_agent.get_json("/api/v1/metrics/viworks%5Fload1/history")
    assert decoded["name"] == "viworks_load1" and decoded["series"]
    missing = sweep_agent.get("/api/v1/metrics/a%3Ab/history")
    assert missing.status == 404 and "no stored series named a:b" in missing.json()["error"]["message"]
    assert sweep_agent.get_json("/api/v1/reports/d%61ily")["period"] == "daily"
    bad = sweep_agent.get("/api/v1/metrics/a%zzb/history")
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_parameter"


def test_query_names_and_values_are_percent_decoded(sweep_agent):
    assert sweep_agent.get("/api/v1/incidents?%6Cimit=5").status == 200
    assert sweep_agent.get("/api/v1/incidents?limit=%35").status == 200
    assert sweep_agent.get("/api/v1/incidents?%6Cimit=5&limit=6").json()["error"]["message"] == "query parameter 'limit' is given twice"


def test_controlling_an_unknown_service_is_404_even_without_systemd(sweep_agent):
    for action in ("start", "stop", "restart"):
        response = sweep_agent.request("POST", f"/api/v1/services/nope/{action}", headers=sweep_agent.admin)
        assert response.status == 404, (action, response.status, response.body[:200])
        assert response.json()["error"] == {"code": "not_found", "message": "no tracked service named nope"}


# MARK: - Expect: 100-continue


def test_expect_100_continue_is_answered_before_the_body_is_sent(sweep_agent):
    body = json.dumps({"command": "sweep-echo", "parameters": {"text": "continued"}}).encode()
    head = (
        f"POST /api/v1/command HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {sweep_agent.admin['X-API-Key']}\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    # A server that waited for the body would never answer: the interim answer comes without it, before the timeout.
    with socket.create_connection(("127.0.0.1", sweep_agent.port), timeout=REQUEST_TIMEOUT) as s:
        s.sendall(head)
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        assert interim.endswith(b"\r\n\r\n"), interim
        s.sendall(body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 "), data[:300]
    assert b'"stdout":"continued\\n"' in data, data[-400:]
