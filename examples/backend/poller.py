#!/usr/bin/env python3
"""Pull ViWorks agents into the backend's PostgreSQL, following the specification's polling plan.

    every 30 s   GET /api/v1/status  ->  agent_metrics      (cpu, memory, load average, uptime)
    every 5 min  GET /api/v1/status  ->  service_status     (one row per tracked service: name, status, pid)
                                         container_sessions (one upserted row per session the agent reports)
    every 1 h    GET /api/v1/status  ->  agent_inventory    (system_info as JSON; only with --extended)

Each request sends `If-None-Match` with the ETag of the previous answer, so an unchanged status costs the agent a
304 and the database nothing. Rows carry the agent's collection time (`timestamp` of the status document), not the
time of the poll, and the unique indexes of schema.sql make every write idempotent: polling the same collection
twice, or a poller restarted in the middle of a write, never stores a row twice.

    python3 poller.py --database postgresql://backend@db/fleet --api-key-file /etc/backend/agent.key \\
        --agent web-1=https://web-1:9740 --agent db-1=https://db-1:9740

Standard library plus psycopg 3 (`pip install "psycopg[binary]"`). Errors of one agent or one write are logged to
stderr and retried at the next due time; they never stop the other agents. `--once` polls every tier of every agent
once and exits 1 when any of them failed (for cron and tests).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

SCHEMA = Path(__file__).with_name("schema.sql")
# DECIMAL(5,2) holds -999.99 ... 999.99: a larger value (a load average over 999 on a huge host) is stored as the bound.
DECIMAL_BOUND = Decimal("999.99")
# VARCHAR lengths of the schema.
AGENT_ID_LENGTH = 50

EXTENDED_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_inventory (
    agent_id VARCHAR(50) NOT NULL,
    timestamp TIMESTAMP NOT NULL,
    system_info JSONB NOT NULL,
    PRIMARY KEY (agent_id, timestamp)
);
"""


def log(message: str) -> None:
    print(f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {message}", file=sys.stderr, flush=True)


class PollError(Exception):
    """A poll that failed, with a message naming the agent and the reason."""


@dataclass
class Tier:
    name: str
    every: float
    due: float = 0.0


@dataclass
class Agent:
    url: str
    agent_id: str | None
    # One ETag per tier: each tier decides on its own whether the agent has something new for it.
    etags: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        return self.agent_id or self.url


def parse_agent(text: str) -> Agent:
    """`ID=URL` or `URL` (the id is then the agent's hostname)."""
    agent_id, separator, url = text.partition("=")
    if not separator:
        agent_id, url = "", text
    if not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected [ID=]http(s)://host:port, got {text!r}")
    if len(agent_id) > AGENT_ID_LENGTH:
        raise argparse.ArgumentTypeError(f"agent id {agent_id!r} is longer than {AGENT_ID_LENGTH} characters")
    return Agent(url=url.rstrip("/"), agent_id=agent_id or None)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time of the agent as a naive UTC datetime (the schema's columns are TIMESTAMP without zone)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def decimal2(value) -> Decimal | None:
    """A figure rounded half-up to the schema's two decimals, clamped to DECIMAL(5,2); null stays null."""
    if value is None:
        return None
    rounded = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return max(-DECIMAL_BOUND, min(DECIMAL_BOUND, rounded))


class Poller:
    def __init__(self, connection_string: str, agents: list[Agent], api_key: str | None, tiers: list[Tier], *,
                 extended: bool, timeout: float, context: ssl.SSLContext | None) -> None:
        self.connection_string = connection_string
        self.agents = agents
        self.api_key = api_key
        self.tiers = tiers
        self.extended = extended
        self.timeout = timeout
        self.context = context
        self.connection: psycopg.Connection | None = None

    # -- the agent side

    def fetch_status(self, agent: Agent, tier: str) -> dict | None:
        """`/api/v1/status`, or None when it has not changed since this tier's last poll (304)."""
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if tier in agent.etags:
            headers["If-None-Match"] = agent.etags[tier]
        request = urllib.request.Request(agent.url + "/api/v1/status", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                body = response.read()
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            if error.code == 304:
                return None
            detail = error.read()[:300].decode(errors="replace")
            try:
                detail = json.loads(detail)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise PollError(f"{agent.label()}: GET /api/v1/status: {error.code} {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PollError(f"{agent.label()}: GET /api/v1/status: {reason}") from None
        try:
            status = json.loads(body)
        except ValueError as error:
            raise PollError(f"{agent.label()}: /api/v1/status is not JSON: {error}") from None
        if etag:
            agent.etags[tier] = etag
        if agent.agent_id is None:
            hostname = ((status.get("system_info") or {}).get("system") or {}).get("hostname")
            if not hostname:
                raise PollError(f"{agent.label()}: no agent id given and the status has no hostname")
            agent.agent_id = hostname[:AGENT_ID_LENGTH]
        return status

    # -- the database side

    def database(self) -> psycopg.Connection:
        if self.connection is None or self.connection.closed:
            self.connection = psycopg.connect(self.connection_string, autocommit=False, application_name="viworks-poller")
            with self.connection.transaction():
                self.connection.execute(SCHEMA.read_text())
                if self.extended:
                    self.connection.execute(EXTENDED_SCHEMA)
        return self.connection

    def write(self, statements: list[tuple[str, list[tuple]]]) -> int:
        """Runs every statement of one poll in one transaction; returns how many rows were new."""
        connection = self.database()
        inserted = 0
        try:
            with connection.transaction(), connection.cursor() as cursor:
                for sql, rows in statements:
                    for row in rows:
                        cursor.execute(sql, row)
                        inserted += max(cursor.rowcount, 0)
        except psycopg.OperationalError:
            # The connection is gone (database restarted): reconnect at the next poll.
            connection.close()
            raise
        return inserted

    # -- the tiers

    @staticmethod
    def metrics_rows(agent_id: str, status: dict) -> list[tuple[str, list[tuple]]]:
        health = status["system_health"]
        load = health.get("load_average") or {}
        row = (
            agent_id, parse_time(status["timestamp"]),
            decimal2(health.get("cpu_usage_percent")), decimal2(health.get("memory_usage_percent")),
            decimal2(load.get("one_minute")), decimal2(load.get("five_minutes")), decimal2(load.get("fifteen_minutes")),
            health.get("uptime_seconds"),
        )
        return [(
            "INSERT INTO agent_metrics (agent_id, timestamp, cpu_usage, memory_usage, load_average_1m, load_average_5m,"
            " load_average_15m, uptime_seconds) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [row],
        )]

    @staticmethod
    def services_rows(agent_id: str, status: dict) -> list[tuple[str, list[tuple]]]:
        at = parse_time(status["timestamp"])
        services = [(agent_id, at, s["name"][:100], s["status"][:20], s.get("pid")) for s in status.get("services") or []]
        sessions = [
            (agent_id, c.get("container_id") or c.get("id"), c.get("username"), c["session_id"], c.get("port"), c.get("status") or c.get("state"),
             parse_time(c["created_at"]) if c.get("created_at") else None, parse_time(c["stopped_at"]) if c.get("stopped_at") else None)
            for c in status.get("containers") or [] if c.get("session_id")
        ]
        return [
            ("INSERT INTO service_status (agent_id, timestamp, service_name, status, pid) VALUES (%s, %s, %s, %s, %s)"
             " ON CONFLICT DO NOTHING", services),
            ("INSERT INTO container_sessions (agent_id, container_id, username, session_id, port, status, created_at, stopped_at)"
             " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (agent_id, session_id) DO UPDATE SET"
             " container_id = EXCLUDED.container_id, port = EXCLUDED.port, status = EXCLUDED.status, stopped_at = EXCLUDED.stopped_at"
             " WHERE (container_sessions.status, container_sessions.stopped_at) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.stopped_at)",
             sessions),
        ]

    @staticmethod
    def inventory_rows(agent_id: str, status: dict) -> list[tuple[str, list[tuple]]]:
        row = (agent_id, parse_time(status["timestamp"]), Jsonb(status.get("system_info") or {}))
        return [("INSERT INTO agent_inventory (agent_id, timestamp, system_info) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", [row])]

    def poll(self, agent: Agent, tier: str) -> None:
        if tier == "inventory" and not self.extended:
            return
        status = self.fetch_status(agent, tier)
        if status is None:
            log(f"{agent.label()} {tier}: not modified")
            return
        builder = {"metrics": self.metrics_rows, "services": self.services_rows, "inventory": self.inventory_rows}[tier]
        try:
            inserted = self.write(builder(agent.agent_id, status))
        except psycopg.Error as error:
            # The ETag stays unknown, so the next poll fetches (and writes) this collection again.
            agent.etags.pop(tier, None)
            raise PollError(f"{agent.label()} {tier}: database: {str(error).strip()}") from None
        log(f"{agent.label()} {tier}: collection of {status['timestamp']}, {inserted} new rows")

    def run_once(self) -> bool:
        ok = True
        for tier in self.tiers:
            for agent in self.agents:
                try:
                    self.poll(agent, tier.name)
                except PollError as error:
                    log(str(error))
                    ok = False
        return ok

    def run_forever(self) -> None:
        now = time.monotonic()
        for tier in self.tiers:
            tier.due = now
        while True:
            now = time.monotonic()
            for tier in self.tiers:
                if tier.due > now:
                    continue
                for agent in self.agents:
                    try:
                        self.poll(agent, tier.name)
                    except PollError as error:
                        log(str(error))
                # The next due time follows the plan, not the end of this poll: no drift.
                while tier.due <= now:
                    tier.due += tier.every
            time.sleep(max(0.0, min(t.due for t in self.tiers) - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agent", action="append", type=parse_agent, required=True, metavar="[ID=]URL",
                        help="an agent to poll; the id defaults to its hostname (repeat for a fleet)")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"),
                        help="libpq connection string or postgresql:// URL (default: $DATABASE_URL)")
    parser.add_argument("--api-key-file", type=Path, help="a file whose first line is the agent API key (viewer role is enough)")
    parser.add_argument("--cafile", type=Path, help="CA certificates to verify agents served over https")
    parser.add_argument("--metrics-every", type=float, default=30.0, help="seconds between agent_metrics polls (30)")
    parser.add_argument("--services-every", type=float, default=300.0, help="seconds between service_status polls (300)")
    parser.add_argument("--inventory-every", type=float, default=3600.0, help="seconds between inventory polls (3600)")
    parser.add_argument("--extended", action="store_true", help="also keep system_info hourly in agent_inventory (JSONB)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one request may take (10)")
    parser.add_argument("--once", action="store_true", help="poll every tier of every agent once, exit 1 if any failed")
    args = parser.parse_args(argv)
    if not args.database:
        parser.error("--database or $DATABASE_URL is required")
    for name in ("metrics_every", "services_every", "inventory_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1 second")
    api_key = os.environ.get("AGENT_API_KEY")
    if args.api_key_file:
        lines = args.api_key_file.read_text().splitlines()
        api_key = lines[0].strip() if lines else ""
        if not api_key:
            parser.error(f"{args.api_key_file} is empty")
    context = ssl.create_default_context(cafile=str(args.cafile)) if args.cafile else None
    tiers = [Tier("metrics", args.metrics_every), Tier("services", args.services_every), Tier("inventory", args.inventory_every)]
    poller = Poller(args.database, args.agent, api_key, tiers, extended=args.extended, timeout=args.timeout, context=context)
    try:
        poller.database()
    except psycopg.Error as error:
        log(f"database: {str(error).strip()}")
        if args.once:
            return 1
    if args.once:
        return 0 if poller.run_once() else 1
    try:
        poller.run_forever()
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
