"""Schemathesis hooks of test_contract.py (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document states every rule the server applies to one parameter at a time (patterns, lengths, ranges,
enums). The rules below relate two parameters, or a parameter and the clock, which no JSON Schema can say; the server
keeps answering them with a 400, and these hooks only keep Schemathesis from sending such combinations as "valid":

- a range whose start is after its end (`from` > `to`, `since` > `until`); where a route defaults a missing `to` to
  now, a `from` in the future is such a range too, and a missing `from` is `to` minus the route's default span;
- a history query asking for more than `[history] max_points` points: (to − from) / step;
- `follow=true` on the logs route, which streams until the client leaves: a request/response test cannot read it to
  its end (tests/systemd reads the stream);
- the status stream (`/api/v1/stream`) ends only after `max_events` events: every request carries one or two, which
  the agent sends at once (the latest status and alerts events), so the response can be read to its end (test_dashboard.py
  follows the stream itself);
- the parameters a command takes: the allowlist is configuration, not part of the document. The test passes it in
  CONTRACT_COMMANDS (`GET /api/v1/commands`); a request naming an allowlisted command is sent only when it needs no
  parameters and gives none (the document's example, `uptime`).
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime
from decimal import Decimal

import schemathesis

# `[history] max_points` of the agent under test (the default).
MAX_POINTS = 100_000

# Routes whose `from` defaults to `to` minus a span (seconds) and `to` to now.
RANGE_SPANS = {
    "/api/v1/metrics/{name}/history": 3600,
    "/api/v1/history/status": 86_400,
    "/api/v1/incidents": 7 * 86_400,
}
# Routes that compare two times only when both are given.
PAIRS = {"/api/v1/audit": ("from", "to"), "/api/v1/logs": ("since", "until")}
# Routes whose `step` counts points.
STEPPED = {"/api/v1/metrics/{name}/history", "/api/v1/history/status"}

# id → {"parameters": {name: type}, "optional": [name]}, as GET /api/v1/commands lists them.
COMMANDS = {command["id"]: command for command in json.loads(os.environ.get("CONTRACT_COMMANDS", "[]"))}

UNIX_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")
RFC3339 = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")
STEP_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def seconds(value) -> Decimal | None:
    """A time as the document's pattern allows it, in Unix seconds, exactly (nine fractional digits matter); None
    for anything else."""
    if not isinstance(value, str):
        return None
    if UNIX_SECONDS.fullmatch(value):
        return Decimal(value)
    match = RFC3339.fullmatch(value)
    if not match:
        return None
    whole, fraction, offset = match.groups()
    try:
        parsed = datetime.fromisoformat(whole + ("+00:00" if offset == "Z" else offset))
    except ValueError:
        return None
    return Decimal(int(parsed.timestamp())) + Decimal("0" + (fraction or ".0"))


def step_seconds(value) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit():
        return int(value)
    if value[:-1].isdigit() and value[-1] in STEP_UNITS:
        return int(value[:-1]) * STEP_UNITS[value[-1]]
    return None


@schemathesis.hook
def filter_case(context, case) -> bool:
    path = case.operation.path
    query = case.query or {}
    if path == "/api/v1/command" and isinstance(case.body, dict) and isinstance(case.body.get("command"), str):
        command = COMMANDS.get(case.body["command"])
        if command is not None:
            required = set(command["parameters"]) - set(command["optional"])
            return not required and not case.body.get("parameters")
        return True
    if path == "/api/v1/logs" and str(query.get("follow")).lower() in ("true", "1"):
        return False
    if path in PAIRS:
        start, end = (seconds(query.get(name)) for name in PAIRS[path])
        return start is None or end is None or start <= end
    if path in RANGE_SPANS:
        to = seconds(query.get("to")) if "to" in query else Decimal(time.time())
        if to is None:
            return True
        start = seconds(query.get("from")) if "from" in query else to - RANGE_SPANS[path]
        if start is None:
            return True
        if start > to:
            return False
        step = step_seconds(query.get("step")) if path in STEPPED else None
        # With a margin: the server counts the buckets that touch the range's ends too.
        return not step or (to - start) / step < MAX_POINTS * Decimal("0.9")
    return True


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if case.operation.path == "/api/v1/stream":
        query = dict(case.query or {})
        events = query.get("max_events")
        if not isinstance(events, int) or isinstance(events, bool) or not 1 <= events <= 2:
            query["max_events"] = 1
        case.query = query
