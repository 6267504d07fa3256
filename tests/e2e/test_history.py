"""History and alerts end to end: crash safety of the database under kill -9, the query routes on a live
agent, and alert webhooks delivered to a real local receiver (with a retry after a failure)."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import signal
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import clean_environment, fill_filesystem, require_binary, run_cli, start_agent


def integrity(path) -> str:
    connection = sqlite3.connect(str(path), timeout=10)
    try:
        return ";".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
    finally:
        connection.close()


def test_kill_9_during_heavy_writes_never_corrupts_the_database(tmp_path):
    """50 times: a writer flushing every few milliseconds is SIGKILLed at a random moment; the database must
    open (migrations included), pass PRAGMA integrity_check, decode every block, and keep every committed sample."""
    binary = require_binary()
    path = tmp_path / "history.db"
    rng = random.Random(8)
    previous_samples = 0
    for iteration in range(50):
        process = subprocess.Popen(
            [str(binary), "debug", "history-stress", "--path", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=clean_environment(),
        )
        try:
            line = process.stdout.readline()
            assert line == b"ready\n", f"iteration {iteration}: {line!r} {process.stderr.read()[:500]!r}"
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        assert integrity(path) == "ok", f"iteration {iteration}"
        check = run_cli("debug", "history-check", "--path", str(path), timeout=60)
        assert check.returncode == 0, f"iteration {iteration}: {check.stdout} {check.stderr}"
        status, _series, _blocks, samples = check.stdout.split()
        assert status == "ok"
        # Committed flushes survive: the stored samples never go down (retention keeps an hour, all of them here).
        assert int(samples) >= previous_samples, f"iteration {iteration}: {samples} < {previous_samples}"
        previous_samples = int(samples)
    assert previous_samples > 0


@pytest.fixture(scope="module")
def history_agent(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("history")
    agent = start_agent(workdir, env={"VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = agent.get("/api/v1/metrics/viworks_cpu_usage_percent/history")
            if response.status == 200 and len(response.json()["series"][0]["points"]) >= 3:
                break
            time.sleep(0.5)
        yield agent
    finally:
        agent.stop()


def test_series_list_and_raw_history(history_agent):
    listing = history_agent.get_json("/api/v1/metrics")
    names = {entry["name"] for entry in listing["series"]}
    assert {"viworks_cpu_usage_percent", "viworks_memory_usage_percent", "viworks_load1"} <= names
    assert listing["count"] == len(listing["series"])
    history = history_agent.get_json("/api/v1/metrics/viworks_memory_usage_percent/history")
    assert history["tier"] == "raw" and history["step"] is None and history["agg"] is None
    points = history["series"][0]["points"]
    assert len(points) >= 3
    times = [t for t, _ in points]
    assert times == sorted(times)
    assert all(0 <= v <= 100 for _, v in points)


def test_stepped_history_and_status_history(history_agent):
    now = int(time.time())
    body = history_agent.get_json(f"/api/v1/metrics/viworks_load1/history?from={now - 600}&to={now}&step=60&agg=max")
    assert body["tier"] == "minute" and body["step"] == 60 and body["agg"] == "max"
    for t, _ in body["series"][0]["points"]:
        assert t % 60 == 0
    rfc = history_agent.get_json("/api/v1/metrics/viworks_load1/history?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z&step=1h")
    assert rfc["from"].startswith("2020-01-01T00:00:00") and rfc["series"][0]["points"] == []
    status = history_agent.get_json("/api/v1/history/status?step=60")
    assert status["step"] == 60 and status["points"]
    point = status["points"][-1]
    assert set(point) == {"timestamp", "cpu_usage_percent", "memory_usage_percent", "disk_usage_percent", "load_average", "temperature", "uptime_seconds"}
    assert point["memory_usage_percent"] is not None


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("/api/v1/metrics/viworks_load1/history?from=yesterday", "from: expected an RFC 3339 time"),
        ("/api/v1/metrics/viworks_load1/history?step=0", "step: expected whole seconds"),
        ("/api/v1/metrics/viworks_load1/history?agg=median", "agg: expected one of avg, min, max, sum, count, last"),
        ("/api/v1/metrics/viworks_load1/history?from=200&to=100", "from (200) is after to (100)"),
        ("/api/v1/metrics/viworks_load1/history?stp=60", "unknown query parameter 'stp'"),
        ("/api/v1/metrics/viworks_load1/history?step=60&step=120", "given twice"),
        ("/api/v1/metrics/viworks_load1/history?from=0&to=2000000000&step=1", "more than the limit of 100000"),
        ("/api/v1/metrics/viworks_load1/history?label=nolabel", "label: expected name=value"),
        ("/api/v1/incidents?limit=0", "limit: expected an integer in 1...10000"),
    ],
)
def test_bad_queries_are_precise_400s(history_agent, path, fragment):
    response = history_agent.get(path)
    assert response.status == 400, response.body
    body = response.json()
    # A parameter that is malformed, unknown or repeated is `invalid_parameter`; a well-formed query asking too much is `bad_request`.
    assert body["error"]["code"] == ("bad_request" if "more than the limit" in fragment else "invalid_parameter"), body
    assert fragment in body["error"]["message"], body


def test_unknown_series_and_report_period_are_404(history_agent):
    assert history_agent.get("/api/v1/metrics/no_such_metric/history").status == 404
    assert history_agent.get("/api/v1/reports/yearly").json()["error"]["code"] == "not_found"
    report = history_agent.get_json("/api/v1/reports/daily")
    assert report["period"] == "daily"
    assert report["metrics"]["memory_usage_percent"]["samples"] > 0


@pytest.mark.icu_data
def test_daily_reports_in_the_configured_time_zone_last_23_and_25_hours_on_clock_change_days(tmp_path):
    # Europe/Berlin: 2026-03-29 runs from 00:00 CET (23:00Z the day before) to 00:00 CEST (22:00Z), 23 hours;
    # 2026-10-25 from 00:00 CEST (22:00Z the day before) to 00:00 CET (23:00Z), 25 hours.
    agent = start_agent(tmp_path, env={"VIWORKS_REPORTS_TIME_ZONE": "Europe/Berlin"})
    try:
        spring = agent.get_json("/api/v1/reports/daily?date=2026-03-29")
        assert [spring["date"], spring["time_zone"], spring["from"], spring["to"]] == [
            "2026-03-29", "Europe/Berlin", "2026-03-28T23:00:00.000000000+00:00", "2026-03-29T22:00:00.000000000+00:00"]
        assert [spring["from_local"], spring["to_local"], spring["length_seconds"]] == ["2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 82_800]
        autumn = agent.get_json("/api/v1/reports/daily?date=2026-10-25")
        assert [autumn["from_local"], autumn["to_local"], autumn["length_seconds"]] == ["2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 90_000]
        # Nothing was stored on those days: empty summaries, and a capacity window with no resource.
        assert spring["metrics"]["cpu_usage_percent"]["samples"] == 0 and spring["capacity"]["resources"] == []
        bad = agent.get("/api/v1/reports/daily?date=2026-02-29")
        assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_parameter", bad.body
    finally:
        agent.stop()
    config = tmp_path / "zone.toml"
    config.write_text('[reports]\ntime_zone = "Europe/Atlantis"\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode != 0
    assert f'{config}:2: reports.time_zone: unknown time zone "Europe/Atlantis"' in result.stderr, result.stderr


@pytest.mark.icu_data
@pytest.mark.parametrize(
    "tz, zone, date, expected",
    [
        # The US clock change (02:00 EST -> 03:00 EDT): 23 hours.
        ("America/New_York", "America/New_York", "2026-03-08", ["2026-03-08T05:00:00.000000000+00:00", "2026-03-09T04:00:00.000000000+00:00",
                                            "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 82_800]),
        # Lord Howe Island moves its clocks by half an hour (02:00 +11:00 -> 01:30 +10:30): 24.5 hours. TZ with the
        # leading colon the C library allows.
        (":Australia/Lord_Howe", "Australia/Lord_Howe", "2026-04-05", ["2026-04-04T13:00:00.000000000+00:00", "2026-04-05T13:30:00.000000000+00:00",
                                               "2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:30", 88_200]),
        # A half-hour offset without clock changes; TZ as the path of the zone file.
        ("/usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata", "2026-03-08", ["2026-03-07T18:30:00.000000000+00:00", "2026-03-08T18:30:00.000000000+00:00",
                                        "2026-03-08T00:00:00+05:30", "2026-03-09T00:00:00+05:30", 86_400]),
    ],
)
def test_reports_without_a_configured_time_zone_follow_the_hosts_TZ(tmp_path, tz, zone, date, expected):
    # Hand-checked with Python's zoneinfo (the IANA rules of 2026).
    agent = start_agent(tmp_path, env={"TZ": tz})
    try:
        report = agent.get_json(f"/api/v1/reports/daily?date={date}")
        assert report["time_zone"] == zone
        assert [report["from"], report["to"], report["from_local"], report["to_local"], report["length_seconds"]] == expected
    finally:
        agent.stop()


class Receiver:
    """A local webhook receiver: answers 500 to the first request, then 204."""

    def __init__(self):
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if len(receiver.requests) == 1 else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def start_agent_alerting_to(tmp_path, url: str, **extra: str):
    """An agent whose CPU rule warns at 0 % with no hold (the first collection raises an alert at once, the only rule on)
    and posts to the webhook `url`, retrying after 100 ms."""
    return start_agent(tmp_path, env={
        "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_ALERTS_FOR": "0s", "VIWORKS_ALERTS_CPU_WARNING": "0", "VIWORKS_ALERTS_CPU_WARNING_CLEAR": "0",
        "VIWORKS_NOTIFICATIONS_WEBHOOK_URLS": url, "VIWORKS_NOTIFICATIONS_WEBHOOK_BACKOFF": "100ms", "VIWORKS_ALERTS_LOAD_ENABLED": "false",
        "VIWORKS_ALERTS_MEMORY_ENABLED": "false", "VIWORKS_ALERTS_DISK_ENABLED": "false", "VIWORKS_ALERTS_SERVICES_ENABLED": "false", **extra,
    })


def wait_for_requests(receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.requests) < count:
        time.sleep(0.2)


def test_alert_transitions_reach_a_webhook_signed_and_retried(tmp_path):
    receiver = Receiver()
    try:
        agent = start_agent_alerting_to(tmp_path, receiver.url, VIWORKS_NOTIFICATIONS_WEBHOOK_SECRET="e2e-secret")
        try:
            wait_for_requests(receiver, 2)
            assert len(receiver.requests) >= 2, receiver.requests
            (first_headers, first_body), (second_headers, second_body) = receiver.requests[:2]
            assert first_body == second_body  # the retry of the same notification
            assert first_headers["x-viworks-delivery"] == second_headers["x-viworks-delivery"]
            expected = "sha256=" + hmac.new(b"e2e-secret", second_body, hashlib.sha256).hexdigest()
            assert second_headers["x-viworks-signature"] == expected
            payload = json.loads(second_body)
            assert payload["rule"] == "cpu" and payload["from"] == "ok" and payload["to"] in ("warning", "critical")
            alerts = agent.get_json("/api/v1/alerts")
            assert any(a["rule"] == "cpu" for a in alerts["alerts"])
            assert agent.get_json("/api/v1/status")["alerts"]["state"] in ("warning", "critical")
            incidents = agent.get_json("/api/v1/incidents")
            assert any(i["rule"] == "cpu" and i["ended_at"] is None for i in incidents["incidents"])
        finally:
            agent.stop()
    finally:
        receiver.close()


@pytest.mark.icu_data
def test_a_webhook_at_a_host_name_that_is_not_ascii_is_posted_to_its_idna_form(tmp_path):
    """The HTTP client maps a host name that is not ASCII with ICU's UTS #46 data: `ｌｏｃａｌｈｏｓｔ` in full-width
    letters (as a CJK keyboard types them) is `localhost`. A release binary whose ICU data lacked the mapping refused
    the URL at every delivery (HTTPClientError.invalidURL)."""
    receiver = Receiver()
    try:
        port = receiver.server.server_address[1]
        agent = start_agent_alerting_to(tmp_path, f"http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{port}/hook")
        try:
            wait_for_requests(receiver, 2)
            assert len(receiver.requests) >= 2, (receiver.requests, agent.log()[-2000:])
            headers, body = receiver.requests[1]
            assert headers["host"] == f"localhost:{port}"
            assert json.loads(body)["rule"] == "cpu"
            assert "webhook delivery failed" not in agent.log()
        finally:
            agent.stop()
    finally:
        receiver.close()


def test_a_history_db_of_garbage_is_moved_aside_and_history_starts_again(tmp_path):
    """A history.db replaced by garbage used to disable history for good (503 until someone removed the file)."""
    state = tmp_path / "run" / "state"
    state.mkdir(parents=True)
    garbage = bytes(range(256)) * 256
    (state / "history.db").write_bytes(garbage)
    agent = start_agent(tmp_path / "run", env={"VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s"})
    try:
        moved = sorted(state.glob("history.db.corrupt-*"))
        assert len(moved) == 1 and moved[0].read_bytes() == garbage, list(state.iterdir())
        storage = agent.get_json("/api/v1/status")["storage"]
        assert storage["history"]["status"] == "ok" and f"was moved to {moved[0]}" in storage["history"]["reason"], storage
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = agent.get("/api/v1/metrics/viworks_cpu_usage_percent/history")
            if response.status == 200 and response.json()["series"] and response.json()["series"][0]["points"]:
                break
            time.sleep(0.5)
        assert response.status == 200 and response.json()["series"][0]["points"], (response.status, response.body[:300])
        assert "damaged; moved it aside" in agent.log()
    finally:
        agent.stop()
    assert integrity(state / "history.db") == "ok"


def test_a_full_disk_shows_in_status_and_clears_when_space_returns(tmp_path):
    """The state directory on a 2 MB tmpfs: filling it makes flushes fail; status-simple and status say so (it used to be
    a log line only), the metric of dropped samples exists, and the agent recovers once space is back."""
    import os
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    state = tmp_path / "state"
    state.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(state)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    agent = None
    try:
        agent = start_agent(tmp_path / "run", env={"VIWORKS_AGENT_STATE_DIRECTORY": str(state), "VIWORKS_AGENT_INTERVAL": "1s",
                                                   "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s"})
        filler = fill_filesystem(state)
        deadline = time.monotonic() + 60
        simple = {}
        while time.monotonic() < deadline:
            simple = agent.get_json("/api/v1/status-simple")
            if any(reason.startswith("history storage degraded: writes fail:") for reason in simple["reasons"]):
                break
            time.sleep(0.5)
        assert simple["status"] in ("degraded", "critical"), simple
        assert any("database or disk is full" in reason for reason in simple["reasons"]), simple
        history = agent.get_json("/api/v1/status")["storage"]["history"]
        assert history["status"] == "degraded" and "full" in history["reason"], history
        metrics = agent.get("/metrics").body.decode()
        assert 'viworks_storage_ok{database="history"} 0' in metrics
        assert "viworks_history_dropped_samples_total 0" in metrics
        assert 'viworks_history_refused_samples_total{reason="series_limit"} 0' in metrics
        assert "viworks_history_flush_failures_total" in metrics and "viworks_history_open_series" in metrics
        filler.unlink()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if agent.get_json("/api/v1/status")["storage"]["history"]["status"] == "ok":
                break
            time.sleep(0.5)
        assert agent.get_json("/api/v1/status")["storage"]["history"] == {"status": "ok", "reason": None}
        assert not any(reason.startswith("history storage") for reason in agent.get_json("/api/v1/status-simple")["reasons"])
    finally:
        if agent:
            agent.stop()
        subprocess.run(["umount", str(state)], check=False)
