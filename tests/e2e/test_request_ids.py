"""One request id per log line: the one echoed in X-Request-Id (Hummingbird's own `hb.request.id` is replaced)."""

from __future__ import annotations

import re

from conftest import start_agent, wait_for


def test_a_request_log_line_carries_exactly_the_echoed_request_id(tmp_path):
    agent = start_agent(tmp_path, "--log-format", "logfmt", "--log-level", "info")
    try:
        response = agent.get("/api/v1/status", {"Authorization": "Bearer vwk_not_a_key", "X-Request-Id": "trace-7f3a"})
        assert response.status == 401
        assert response.headers["x-request-id"] == "trace-7f3a"
        lines = wait_for(
            lambda: [l for l in agent.log_path.read_text(errors="replace").splitlines() if "authentication failed" in l], what="the log line")
        assert len(lines) == 1, agent.log()
        ids = re.findall(r"(\S*request[._]id)=(\S+)", lines[0])
        assert ids == [("request.id", "trace-7f3a")], lines[0]
    finally:
        agent.stop()
