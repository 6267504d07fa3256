"""The state directory fills up (a small tmpfs): history and audit writes fail, the agent keeps serving, status says
why, a command is refused rather than run unaudited, and everything resumes once space returns."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from conftest import fill_filesystem, run_cli, start_agent


def post_command(agent, headers: dict[str, str], name: str) -> tuple[int, dict]:
    response = agent.request(
        "POST", "/api/v1/command", headers={"Content-Type": "application/json", **headers}, body=json.dumps({"command": name}).encode())
    return response.status, json.loads(response.body)


def get_json(agent, headers: dict[str, str], path: str) -> dict:
    response = agent.request("GET", path, headers=headers)
    assert response.status == 200, (path, response.status, response.body[:300])
    return json.loads(response.body)


def test_a_full_state_directory_refuses_commands_keeps_serving_and_resumes(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    state = tmp_path / "state"
    state.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(state)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    keys = tmp_path / "api-keys"
    created = run_cli("keys", "create", "--role", "admin", "--name", "e2e-full", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    headers = {"X-API-Key": created.stdout.strip()}
    marker = tmp_path / "ran"
    config = tmp_path / "agent.toml"
    config.write_text(f'[commands.mark]\nexecutable = "/usr/bin/touch"\narguments = ["{marker}"]\n')
    agent = None
    try:
        agent = start_agent(
            tmp_path / "run", "--config", str(config),
            env={"VIWORKS_AGENT_STATE_DIRECTORY": str(state), "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s",
                 "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AUTH_API_KEY_FILE": str(keys)})
        # With space: the command runs and is audited.
        status, body = post_command(agent, headers, "mark")
        assert status == 200, body
        assert marker.exists()
        marker.unlink()

        filler = fill_filesystem(state)
        # Full: the command is refused before it runs (no unaudited action), with the reason.
        status, body = post_command(agent, headers, "mark")
        assert status == 503, body
        assert body["error"]["code"] == "audit_unavailable", body
        assert not marker.exists(), "a command ran although its audit record could not be written"
        # The agent keeps serving, and says why.
        health = agent.get("/api/v1/health")
        assert health.status == 200
        assert any(p.startswith("audit storage degraded: writes fail, commands are refused") for p in health.json()["storage_problems"]), health.json()
        storage = get_json(agent, headers, "/api/v1/status")["storage"]
        assert storage["audit"]["status"] == "degraded", storage
        assert "commands are refused" in storage["audit"]["reason"] and "full" in storage["audit"]["reason"], storage
        deadline = time.monotonic() + 60
        simple = {}
        while time.monotonic() < deadline:
            simple = get_json(agent, headers, "/api/v1/status-simple")
            if any(reason.startswith("history storage degraded") for reason in simple["reasons"]):
                break
            time.sleep(0.5)
        assert any(reason.startswith("audit storage degraded: writes fail, commands are refused") for reason in simple["reasons"]), simple
        assert any(reason.startswith("history storage degraded") for reason in simple["reasons"]), simple
        assert simple["status"] in ("degraded", "critical"), simple

        # Space returns: the next command runs and is audited, and the audit condition clears.
        filler.unlink()
        status, body = post_command(agent, headers, "mark")
        assert status == 200, body
        assert marker.exists()
        assert get_json(agent, headers, "/api/v1/status")["storage"]["audit"]["status"] == "ok"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and agent.get("/api/v1/health").json()["storage_problems"]:
            time.sleep(0.5)
        assert agent.get("/api/v1/health").json()["storage_problems"] == [], "history resumes writing too"
        audit = get_json(agent, headers, "/api/v1/audit?verify=true")
        starts = [r for r in audit["records"] if r["event"] == "command.start" and r["action"] == "mark"]
        assert len(starts) == 2, "one record per command that ran, none for the refused one"
        assert audit["verification"]["intact"] is True
    finally:
        if agent is not None:
            agent.stop()
        subprocess.run(["umount", "-l", str(state)], capture_output=True)
