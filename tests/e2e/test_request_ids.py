"""One request id per log line: the one echoed in X-Request-Id (Hummingbird's own `hb.request.id` is replaced)."""

from __future__ import annotations

import re
import time

from conftest import start_agent


def test_a_request_log_line_carries_exactly_the_echoed_request_id(tmp_path):
    agent = start_agent(tmp_path, "--log-format", "logfmt", "--log-level", "info")
    try:
        response = agent.get("/api/v1/status", {"Authorization": "Bearer vwk_not_a_key", "X-Request-Id": "trace-7f3a"})
        assert response.status == 401
        assert response.headers["x-request-id"] == "trace-7f3a"
        deadline = time.monotonic() + 5
        lines: list[str] = []
        while time.monotonic() < deadline and not lines:
            lines = [l for l in agent.log_path.read_text(errors="replace").splitlines() if "authentication failed" in l]
            time.sleep(0.05)
        assert len(lines) == 1, agent.log()
        ids = re.findall(r"(\S*request[._]id)=(\S+)", lines[0])
        assert ids == [("request.id", "trace-7f3a")], lines[0]
    finally:
        agent.stop()
