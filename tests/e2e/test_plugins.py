"""Plugins end to end: the real binary runs real plugins from a plugins directory."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import EXIT_TIMEOUT, JSON_TYPE, REPO_ROOT, agent_binary, assert_valid, clean_environment, component_validator, run_cli, start_agent, wait_for

EXAMPLE = REPO_ROOT / "examples/plugins/shell/processes.sh"
CRASHING = REPO_ROOT / "Tests/AgentPluginsTests/Fixtures/bin/exit_now.sh"
STREAM = REPO_ROOT / "Tests/AgentPluginsTests/Fixtures/bin/stream.sh"
GROWTH = REPO_ROOT / "Tests/AgentPluginsTests/Fixtures/bin/series_growth.py"


def write_manifest(directory: Path, name: str, command: Path, extra: str = "", interval: str = "200ms") -> None:
    """A poll plugin collected every 200 ms by default. A stream plugin is restarted after three intervals of silence:
    those here are given "5s" (15 s of silence allowed, for a loaded machine)."""
    (directory / f"{name}.toml").write_text(
        f'name = "{name}"\ncommand = ["{command}"]\ninterval = "{interval}"\ntimeout = "10s"\n{extra}\n'
        '[restart]\nbackoff_initial = "20ms"\nbackoff_max = "40ms"\nmax_restarts = 2\n'
    )


@pytest.fixture(scope="module")
def plugin_agent(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("plugins")
    plugins = workdir / "plugins.d"
    plugins.mkdir(mode=0o755)
    for path in (EXAMPLE, CRASHING, STREAM):
        os.chmod(path, 0o755)
    write_manifest(plugins, "example", EXAMPLE)
    write_manifest(plugins, "crashing", CRASHING)
    (plugins / "broken.toml").write_text('name = "broken"\nmode = "pull"\ncommand = ["./x"]\n')
    # Reads stay anonymous; enable and reload need an operator key (made by `keys create`, as an operator would).
    keys = workdir / "api-keys"
    created = run_cli("keys", "create", "--role", "operator", "--name", "e2e", "--file", str(keys))
    assert created.returncode == 0, created.stderr
    env = {"VIWORKS_PLUGINS_DIRECTORY": str(plugins), "VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_AUTH_ANONYMOUS_ROLE": "viewer"}
    agent = start_agent(workdir, env=env)
    agent.plugins_dir = plugins
    agent.operator = {"X-API-Key": created.stdout.strip()}
    try:
        yield agent
    finally:
        agent.stop()


def test_plugins_route_matches_its_schema_and_shows_every_state(plugin_agent, openapi_doc):
    def settled():
        body = plugin_agent.get_json("/api/v1/plugins")
        states = {p["name"]: p for p in body["plugins"]}
        return body if states.get("crashing", {}).get("status") == "disabled" and states.get("example", {}).get("samples", 0) > 0 else None

    body = wait_for(settled)
    assert_valid(component_validator(openapi_doc, "Plugins"), body, "GET /api/v1/plugins")
    states = {p["name"]: p for p in body["plugins"]}
    assert states["example"]["status"] == "running"
    assert states["example"]["protocol_version"] == 1
    assert states["crashing"]["disabled_reason"].startswith("crash loop: 3 failures in a row; last: exited with status 3 before producing a valid line")
    assert [(e["key"], e["line"]) for e in body["manifest_errors"]] == [("mode", 2), ("command", 3)]

    detail = plugin_agent.get("/api/v1/plugins/example")
    assert detail.status == 200 and detail.header("content-type") == JSON_TYPE
    assert_valid(component_validator(openapi_doc, "Plugin"), detail.json(), "GET /api/v1/plugins/example")
    assert plugin_agent.get("/api/v1/plugins/nope").status == 404

    status = plugin_agent.get_json("/api/v1/status")
    assert {p["name"] for p in status["plugins"]} == {"crashing", "example"}


def test_plugin_samples_and_health_counters_are_in_metrics(plugin_agent):
    wait_for(lambda: "example_processes{" in plugin_agent.get("/metrics").body.decode())
    text = plugin_agent.get("/metrics").body.decode()
    assert 'example_processes{plugin="example"}' in text
    assert 'viworks_plugin_up{plugin="example"} 1' in text
    assert 'viworks_plugin_disabled{plugin="crashing"} 1' in text


def test_enable_and_reload_over_http_and_sighup(plugin_agent, openapi_doc):
    assert plugin_agent.request("POST", "/api/v1/plugins/crashing/enable").status == 401
    enabled = plugin_agent.request("POST", "/api/v1/plugins/crashing/enable", plugin_agent.operator)
    assert enabled.status == 200
    assert_valid(component_validator(openapi_doc, "Plugin"), enabled.json(), "POST enable")
    assert plugin_agent.request("POST", "/api/v1/plugins/nope/enable", plugin_agent.operator).status == 404
    # A running plugin is not restarted by enable: 409 with the JSON error body.
    pid = plugin_agent.get_json("/api/v1/plugins/example")["pid"]
    again = plugin_agent.request("POST", "/api/v1/plugins/example/enable", plugin_agent.operator)
    assert again.status == 409
    assert again.json() == {"error": {"code": "already_running", "message": "plugin example is running, not disabled: there is nothing to enable"}}
    assert plugin_agent.get_json("/api/v1/plugins/example")["pid"] == pid

    write_manifest(plugin_agent.plugins_dir, "stream", STREAM, 'mode = "stream"', interval="5s")
    reload = plugin_agent.request("POST", "/api/v1/plugins/reload", plugin_agent.operator)
    assert reload.status == 200
    body = reload.json()
    assert_valid(component_validator(openapi_doc, "PluginReload"), body, "POST reload")
    assert body["added"] == ["stream"]
    assert body["unchanged"] == ["crashing", "example"]

    (plugin_agent.plugins_dir / "stream.toml").unlink()
    plugin_agent.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "stream" not in {p["name"] for p in plugin_agent.get_json("/api/v1/plugins")["plugins"]})


def test_plugin_test_command_diagnoses_a_bad_plugin(tmp_path):
    script = REPO_ROOT / "Tests/AgentPluginsTests/Fixtures/bin/traceback.py"
    os.chmod(script, 0o755)
    result = run_cli("plugin", "test", str(script), "--cycles", "2", timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL line 1: invalid_json" in result.stdout
    assert "ok   line 4: hello" in result.stdout
    assert "reply to collect 2" in result.stdout

    good = run_cli("plugin", "test", str(REPO_ROOT / "plugins.d/shell-example.toml"), "--interval", "200ms", "--cycles", "2", timeout=30)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.rstrip().endswith("OK")


def test_plugin_test_of_a_missing_executable_names_it(tmp_path):
    result = run_cli("plugin", "test", "/nonexistent", timeout=30)
    assert result.returncode == 1
    # Was "error: <cwd>/(command line): command: /nonexistent does not exist", naming a file that does not exist.
    assert result.stderr.strip() == "error: /nonexistent: command: /nonexistent does not exist"


def process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (Z for a zombie), or None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def test_plugins_die_with_an_agent_killed_by_sigkill(tmp_path):
    plugins = tmp_path / "plugins.d"
    plugins.mkdir(mode=0o755)
    os.chmod(STREAM, 0o755)
    write_manifest(plugins, "stream", STREAM, 'mode = "stream"', interval="5s")
    agent = start_agent(tmp_path, env={"VIWORKS_PLUGINS_DIRECTORY": str(plugins)})
    pid = 0
    try:
        pid = wait_for(lambda: agent.get_json("/api/v1/plugins/stream")["pid"])
        assert process_state(pid) not in (None, "Z")
        # The plugin keeps running while the agent does (the parent-death signal is tied to the spawning thread).
        time.sleep(1.0)
        assert agent.get_json("/api/v1/plugins/stream")["pid"] == pid
        assert agent.get_json("/api/v1/plugins/stream")["restarts"] == 0
        agent.process.kill()
        agent.process.wait(timeout=EXIT_TIMEOUT)
        # Before, the plugin lived on, re-parented to init, one more copy for every agent crash.
        wait_for(lambda: process_state(pid) in (None, "Z"), what=f"plugin {pid} ended")
    finally:
        agent.stop()
        if pid and process_state(pid) not in (None, "Z"):
            os.kill(pid, signal.SIGKILL)


def test_series_limit_bounds_a_plugin_in_the_api_and_metrics(tmp_path, openapi_doc):
    plugins = tmp_path / "plugins.d"
    plugins.mkdir(mode=0o755)
    os.chmod(GROWTH, 0o755)
    write_manifest(plugins, "growth", GROWTH, 'mode = "stream"\nmax_series = 20\n[env]\nFIXTURE_REPEAT = "1"', interval="5s")
    agent = start_agent(tmp_path, env={"VIWORKS_PLUGINS_DIRECTORY": str(plugins)})
    try:
        # 50 growing messages: 465 samples of new series refused (1 + … + 30), then the last set every 100 ms, 30 more each.
        state = wait_for(lambda: (lambda s: s if s["rejected_samples"].get("series_limit", 0) > 465 else None)(agent.get_json("/api/v1/plugins/growth")))
        assert_valid(component_validator(openapi_doc, "Plugin"), state, "GET /api/v1/plugins/growth")
        assert state["series"] == 20 and state["max_series"] == 20
        assert (state["rejected_samples"]["series_limit"] - 465) % 30 == 0
        assert state["status"] == "running" and state["restarts"] == 0
        lines = [line for line in agent.get("/metrics").body.decode().splitlines() if line.startswith("fixture_series{")]
        assert len(lines) == 20
        assert 'reason="series_limit"' in agent.get("/metrics").body.decode()
    finally:
        agent.stop()


def test_plugin_test_runs_a_shipped_manifests_cycles_back_to_back_and_prints_each_line_at_once(tmp_path):
    manifest = REPO_ROOT / "plugins.d/shell-example.toml"
    assert 'interval = "30s"' in manifest.read_text()
    # Six cycles of a 30 s plugin used to take two and a half minutes; back to back they take well under the minute
    # allowed here.
    result = run_cli("plugin", "test", str(manifest), "--cycles", "6", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interval 100ms (the agent collects every 30s; --interval to wait that long here)" in result.stdout, result.stdout
    assert "reply to collect 6" in result.stdout and result.stdout.rstrip().endswith("OK")

    # With --interval the cycles keep that pace, and stdout (a pipe here) gets each line as it is printed:
    # the header arrives while the plugin still runs, not when the command exits.
    process = subprocess.Popen(
        [str(agent_binary()), "plugin", "test", str(manifest), "--interval", "1s", "--cycles", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_environment())
    try:
        first = process.stdout.readline()
        assert first.startswith("plugin shell-example: "), first
        assert process.poll() is None, "the first line came only when the command ended"
        rest = process.stdout.read()  # until the command ends and closes stdout
        process.wait(timeout=30)
    finally:
        process.kill()
    assert "interval 1s, timeout" in rest and rest.rstrip().endswith("OK"), rest
