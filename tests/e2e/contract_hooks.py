"""Schemathesis hooks of test_contract.py (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document states every rule the server applies to one parameter at a time (patterns, lengths, ranges,
enums). The rules below relate two parameters, or a parameter and the clock, which no JSON Schema can say; the server
keeps answering them with a 400, and these hooks only keep Schemathesis from sending such combinations as "valid":

- a range whose start is after its end (`from` > `to`, `since` > `until`); where a route defaults a missing `to` to
  now, a `from` in the future is such a range too, and a missing `from` is `to` minus the route's default span;
- a history query asking for more than `[history] max_points` points: (to − from) / step;
- a report asked both for a calendar period (`date`) and for a rolling one ending at `to`;
- `follow=true` on the logs route, which streams until the client leaves: a request/response test cannot read it to
  its end (tests/systemd reads the stream);
- the status stream (`/api/v1/stream`) ends only after `max_events` events: every request carries one or two, which
  the agent sends at once (the latest status and alerts events), so the response can be read to its end (test_dashboard.py
  follows the stream itself);
- the parameters a command takes: the allowlist is configuration, not part of the document. The test passes it in
  CONTRACT_COMMANDS (`GET /api/v1/commands`); a request naming an allowlisted command is sent only when it needs no
  parameters and gives none (the document's example, `uptime`);
- a session's template and its maxima are configuration too: with CONTRACT_SESSION_TEMPLATE set (the real-engine run),
  a create body names that template, and a memory, CPU shares or TTL above the template's maxima (CONTRACT_SESSION_MAX,
  `{"memory": bytes, "cpu_shares": n, "ttl": seconds}`) is brought down to them; a size or duration written as a
  string below 6 MiB or 1 s is brought up (its number and unit together decide, which a pattern cannot bound).
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


SESSION_TEMPLATE = os.environ.get("CONTRACT_SESSION_TEMPLATE")
SESSION_MAX = json.loads(os.environ.get("CONTRACT_SESSION_MAX", "{}"))
MIN_MEMORY = 6 << 20
SIZE_UNITS = {"": 1, "B": 1, "b": 1, "k": 1024, "K": 1024, "Ki": 1024, "KiB": 1024, "KB": 1000, "kB": 1000, "m": 1 << 20, "M": 1 << 20,
              "Mi": 1 << 20, "MiB": 1 << 20, "MB": 10**6, "g": 1 << 30, "G": 1 << 30, "Gi": 1 << 30, "GiB": 1 << 30, "GB": 10**9,
              "t": 1 << 40, "T": 1 << 40, "Ti": 1 << 40, "TiB": 1 << 40, "TB": 10**12}
DURATION_UNITS = {"ns": Decimal("1e-9"), "us": Decimal("1e-6"), "µs": Decimal("1e-6"), "ms": Decimal("0.001"), "s": 1, "m": 60, "h": 3600, "d": 86_400}


def size_bytes(value) -> Decimal | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", value) if isinstance(value, str) else None
    return Decimal(match.group(1)) * SIZE_UNITS[match.group(2)] if match and match.group(2) in SIZE_UNITS else None


def duration_seconds(value) -> Decimal | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, str):
        return None
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        return Decimal(value)
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d)", value)
    return sum((Decimal(number) * DURATION_UNITS[unit] for number, unit in parts), Decimal(0)) if parts else None


def within_template(body) -> bool:
    """Whether a create body asks for the configured template within its limits (what it has of them)."""
    if not isinstance(body, dict):
        return True
    if isinstance(body.get("template"), str) and body["template"] != SESSION_TEMPLATE:
        return False
    memory, ttl, shares = size_bytes(body.get("memory")), duration_seconds(body.get("ttl")), body.get("cpu_shares")
    return ((memory is None or MIN_MEMORY <= memory <= SESSION_MAX["memory"]) and (ttl is None or 1 <= ttl <= SESSION_MAX["ttl"])
            and not (isinstance(shares, int) and not isinstance(shares, bool) and shares > SESSION_MAX["cpu_shares"]))


@schemathesis.hook
def map_body(context, body):
    """Generated create bodies (fuzzing) are brought within the template; the coverage phase's are filtered instead
    (filter_case), as this hook does not see them."""
    if SESSION_TEMPLATE is None or context.operation is None or context.operation.path != "/api/v1/sessions" or not isinstance(body, dict):
        return body
    body = dict(body)
    if isinstance(body.get("template"), str):
        body["template"] = SESSION_TEMPLATE
    # A string's number and unit together make the size and the duration, which no pattern can bound: below 6 MiB
    # or 1 s is brought up, above the template's maxima down.
    memory = size_bytes(body.get("memory"))
    if memory is not None and not MIN_MEMORY <= memory <= SESSION_MAX["memory"]:
        body["memory"] = SESSION_MAX["memory"] if memory > SESSION_MAX["memory"] else MIN_MEMORY
    shares = body.get("cpu_shares")
    if isinstance(shares, int) and not isinstance(shares, bool) and shares > SESSION_MAX["cpu_shares"]:
        body["cpu_shares"] = SESSION_MAX["cpu_shares"]
    ttl = duration_seconds(body.get("ttl"))
    if ttl is not None and not 1 <= ttl <= SESSION_MAX["ttl"]:
        body["ttl"] = SESSION_MAX["ttl"] if ttl > SESSION_MAX["ttl"] else 1
    return body


@schemathesis.hook
def filter_case(context, case) -> bool:
    path = case.operation.path
    query = case.query or {}
    if path == "/api/v1/sessions" and SESSION_TEMPLATE is not None and case.method.upper() == "POST":
        return within_template(case.body)
    if path == "/api/v1/command" and isinstance(case.body, dict) and isinstance(case.body.get("command"), str):
        command = COMMANDS.get(case.body["command"])
        if command is not None:
            required = set(command["parameters"]) - set(command["optional"])
            return not required and not case.body.get("parameters")
        return True
    if path == "/api/v1/reports/{period}" and "date" in query and "to" in query:
        return False
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
