"""Contract test: Schemathesis against the real binary and the OpenAPI document it serves.

Every operation, POSTs included, with three checks: no 5xx (`not_a_server_error`), every response as documented
(`response_schema_conformance`) and every request the document calls valid accepted (`positive_data_acceptance`). The
agent under test cannot harm the machine: systemd is off (service actions are 404s), the only configured command is
`/bin/echo`, plugins.d is empty. Its logs route reads a real journal: journal files written by a standalone
systemd-journald in a private mount namespace, with entries of an allowlisted unit.

The few rules that relate two parameters (a range's ends, points per query, a stream that never ends) are in
contract_hooks.py. The run is bounded (fixed seed, a fixed number of examples per operation).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli, start_agent
from docker_fixture import private_docker  # noqa: F401 (fixture)
from journal import JOURNALD_PROLOGUE, unavailable

SEED = 1
MAX_EXAMPLES = 30
UNIT = "contract-test.service"

# Writes a few entries of UNIT (`UNIT=` on every entry; `_SYSTEMD_UNIT` too when journald reads the sender's cgroup in
# time) into $JOURNAL_DIR through a standalone journald (journal.py).
JOURNAL_SCRIPT = JOURNALD_PROLOGUE + r"""
CG="contract-$$.slice/$UNIT"
(
  for h in systemd unified; do
    if [ -d "/sys/fs/cgroup/$h" ]; then mkdir -p "/sys/fs/cgroup/$h/$CG" && echo $BASHPID >"/sys/fs/cgroup/$h/$CG/cgroup.procs" || true; fi
  done
  for i in 1 2 3 4 5 6; do
    printf 'MESSAGE=contract entry %s\nPRIORITY=%s\nSYSLOG_IDENTIFIER=contract\nUNIT=%s\n' "$i" "$([ "$i" = 3 ] && echo 3 || echo 6)" "$UNIT" | logger --journald
  done
)
for h in systemd unified; do rmdir "/sys/fs/cgroup/$h/$CG" "/sys/fs/cgroup/$h/${CG%%/*}" 2>/dev/null || true; done
# Stopped once the six entries are in its files (not after a fixed pause).
journalctl --sync || true
kill -TERM "$JPID"
wait "$JPID" || true
"""


def write_journal(directory: Path) -> str | None:
    """Journal files with entries of UNIT in `directory`; the reason when this machine cannot write them."""
    reason = unavailable()
    if reason:
        return reason
    directory.mkdir()
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "JOURNAL_DIR": str(directory), "UNIT": UNIT}
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", JOURNAL_SCRIPT],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"journal script failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    return None


@pytest.fixture(scope="module")
def contract_agent(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("contract")
    keys = workdir / "api-keys"
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-contract", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    plugins = workdir / "plugins.d"
    plugins.mkdir()
    journal = workdir / "journal"
    no_journal = write_journal(journal)
    config = workdir / "agent.toml"
    config.write_text(
        """
[commands.contract-echo]
summary = "harmless, for the contract test"
executable = "/bin/echo"
arguments = ["{text}"]
parameters.text = "text:64"
"""
        + ("" if no_journal else f'\n[logs]\nunits = ["{UNIT}"]\njournal_directory = "{journal}"\n')
    )
    env = {
        "VIWORKS_AUTH_API_KEY_FILE": str(keys),
        "VIWORKS_SERVICES_SYSTEMD": "off",
        "VIWORKS_PLUGINS_DIRECTORY": str(plugins),
        "VIWORKS_AGENT_INTERVAL": "1s",
        "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s",
    }
    agent = start_agent(workdir, "--config", str(config), env=env)
    agent.key = created.stdout.strip()
    agent.no_journal = no_journal
    try:
        yield agent
    finally:
        agent.stop()


def run_schemathesis(agent, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        pytest.fail("schemathesis is not installed: make test-deps")
    commands = agent.request("GET", "/api/v1/commands", headers={"X-API-Key": agent.key})
    assert commands.status == 200, commands.body[:300]
    env = {
        **os.environ, "SCHEMATHESIS_HOOKS": "contract_hooks", "CONTRACT_COMMANDS": json.dumps(commands.json()["commands"]),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]), **(env or {}),
    }
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{agent.port}/api/v1/openapi.json",
        # As a Bearer token: with X-API-Key alone, Schemathesis would fill the first security scheme's Authorization
        # header with a made-up token, and the agent (rightly) answers 401 to nearly every case.
        "-H", f"Authorization: Bearer {agent.key}",
        "--checks", "not_a_server_error,response_schema_conformance,positive_data_acceptance",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1", "--request-timeout", "60",
        # Nothing carried over from an earlier run: the seed alone decides the cases.
        "--generation-database", "none",
        "--no-color", *extra,
    ]
    return subprocess.run(command, env=env, cwd=agent.log_path.parent, capture_output=True, text=True, timeout=900)


HTTP_METHODS = ("get", "post", "put", "patch", "delete")
SESSION_PATHS = ["/api/v1/sessions", "/api/v1/sessions/{id}", "/api/v1/sessions/{id}/stop", "/api/v1/sessions/{id}/start"]


def operation_count(document: dict, paths: list[str] | None = None) -> int:
    return sum(1 for path, item in document["paths"].items() if paths is None or path in paths for method in item if method in HTTP_METHODS)


def session_paths_answer_503(agent, document: dict) -> list[str]:
    """The contract agent has no container engine (`[containers] enabled = "auto"` and no socket): every session
    operation answers its documented 503 `containers_disabled` (a server error to Schemathesis, so they are left out of
    its run; test_sessions.py drives them on a real engine). Checked here, each against the document."""
    from conftest import assert_valid, component_validator

    sid = "0" * 32
    validator = component_validator(document, "Error")
    for path in SESSION_PATHS:
        for method, operation in document["paths"][path].items():
            if method not in HTTP_METHODS:
                continue
            body = json.dumps({"username": "alice", "template": "web"}).encode() if method == "post" and path == "/api/v1/sessions" else b""
            response = agent.request(method.upper(), path.replace("{id}", sid), headers={"X-API-Key": agent.key, "Content-Type": "application/json"}, body=body)
            assert response.status == 503, (method, path, response.status, response.body[:300])
            assert response.json()["error"]["code"] == "containers_disabled", response.body[:300]
            assert_valid(validator, response.json(), f"{method.upper()} {path} 503")
            assert "503" in operation["responses"], f"{method.upper()} {path} does not document its 503"
    return SESSION_PATHS


def summary(output: str) -> str:
    start = output.find("=" * 10)
    return output[start:] if start >= 0 else output[-6000:]


def test_every_operation_keeps_the_contract(contract_agent):
    if contract_agent.no_journal:
        print(f"no journal for the logs route ({contract_agent.no_journal}): its 503 journal_unavailable is excluded", file=sys.stderr)
    if not contract_agent.no_journal:
        logs = contract_agent.request("GET", f"/api/v1/logs?unit={UNIT}", headers={"X-API-Key": contract_agent.key})
        assert logs.status == 200, logs.body[:300]
        messages = [entry["message"] for entry in logs.json()["entries"]]
        assert [m for m in messages if m.startswith("contract entry ")] == [f"contract entry {i}" for i in range(1, 7)], messages
        # A cursor that is not one is the client's mistake (it used to reach sd-journal and come back as a 503).
        bad = contract_agent.request("GET", "/api/v1/logs?follow=true&after=s%3Dnot-a-cursor", headers={"X-API-Key": contract_agent.key})
        assert bad.status == 400 and bad.json()["error"] == {"code": "invalid_parameter", "message": "after must be a journal cursor"}, bad.body[:300]
    document = contract_agent.request("GET", "/api/v1/openapi.json", headers={"X-API-Key": contract_agent.key}).json()
    excluded = session_paths_answer_503(contract_agent, document) + (["/api/v1/logs"] if contract_agent.no_journal else [])
    started = time.monotonic()
    extra = tuple(argument for path in excluded for argument in ("--exclude-path", path))
    run = run_schemathesis(contract_agent, *extra)
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    print(summary(output))
    assert run.returncode == 0, f"schemathesis found failures (seed {SEED}):\n{summary(output)}"
    selected = re.search(r"Operations: +(\d+) selected / (\d+) total", output)
    operations = re.search(r"Tested: (\d+)", output)
    generated = re.search(r"(\d+) generated", output)
    assert selected and operations and generated, output[-3000:]
    documented = operation_count(document)
    # Every operation but GET /api/v1/openapi.json, which Schemathesis leaves out of its run (it loaded the document
    # from there); the logs route when this machine has no journal for it; the session routes without an engine.
    assert int(selected.group(2)) == documented - 1, output[-3000:]
    assert int(operations.group(1)) == int(selected.group(1)) == documented - 1 - operation_count(document, excluded), output[-3000:]
    assert int(generated.group(1)) > 20 * documented, output[-3000:]
    assert contract_agent.process.poll() is None, contract_agent.log()
    print(f"schemathesis: {operations.group(1)} operations, {generated.group(1)} test cases, 0 failures, seed {SEED}, {elapsed:.1f} s")


def test_session_operations_keep_the_contract_on_a_real_engine(private_docker, tmp_path):
    """The session operations against a private dockerd: creates that the document calls valid are accepted (201, or
    409/429 once the limits are reached), every answer is as documented, and nothing is a 5xx. The template and its
    maxima are the configuration's (contract_hooks.py brings generated bodies within them; the document's example,
    128 MiB for 2 h, is within them as it is)."""
    keys = tmp_path / "api-keys"
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-contract", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    agent_id = f"contract-{os.getpid()}"
    config = tmp_path / "agent.toml"
    config.write_text(f"""
[containers]
enabled = true
socket = "{private_docker.socket}"
port_range = "38700-38719"
max_sessions = 4
max_sessions_per_user = 2
agent_id = "{agent_id}"
stop_grace_period = "1s"
reap_interval = "1s"

[containers.templates.web]
image = "agent-test/busybox:latest"
port = 8080
memory = "16MiB"
memory_max = "256MiB"
cpu_shares = 256
cpu_shares_max = 1024
ttl = "8h"
""")
    agent = start_agent(tmp_path, "--config", str(config), env={"VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_SERVICES_SYSTEMD": "off"})
    agent.key = created.stdout.strip()
    headers = {"X-API-Key": agent.key}
    try:
        deadline = time.monotonic() + 60
        while agent.request("GET", "/api/v1/sessions", headers=headers).json()["engine"]["status"] != "available":
            assert time.monotonic() < deadline, agent.log()
            time.sleep(0.2)
        run = run_schemathesis(agent, "--include-path-regex", "^/api/v1/sessions", env={
            "CONTRACT_SESSION_TEMPLATE": "web", "CONTRACT_SESSION_MAX": json.dumps({"memory": 256 << 20, "cpu_shares": 1024, "ttl": 8 * 3600}),
        })
        output = run.stdout + run.stderr
        print(summary(output))
        assert run.returncode == 0, f"schemathesis found failures (seed {SEED}):\n{summary(output)}"
        operations = re.search(r"Tested: (\d+)", output)
        assert operations and int(operations.group(1)) == 6, output[-3000:]
        sessions = agent.request("GET", "/api/v1/sessions", headers=headers).json()["sessions"]
        # Valid creates were accepted and ran: at least max_sessions of them.
        assert sum(1 for session in sessions if session["container_id"]) >= 4, sessions
        assert agent.process.poll() is None, agent.log()
    finally:
        for session in agent.request("GET", "/api/v1/sessions", headers=headers).json()["sessions"]:
            if session["status"] not in ("removed", "orphaned"):
                agent.request("DELETE", f"/api/v1/sessions/{session['session_id']}", headers=headers)
        agent.stop()
    assert private_docker.containers(f"io.viworks.agent={agent_id}") == []
