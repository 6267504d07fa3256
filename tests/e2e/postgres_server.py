"""A throw-away PostgreSQL 15 cluster for the end-to-end tests (Debian's postgresql package, `make deps`).

The cluster runs as the `postgres` user on a free loopback port under a temporary directory; tests may stop and start
it again (an outage), require a password of a role, or turn TLS on. See /work/shared/notes/postgresql.md.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from conftest import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
# The specification's tables, column for column (information_schema spelling).
SPEC_COLUMNS = {
    "agent_metrics": [
        ("id", "integer"), ("agent_id", "character varying(50)"), ("timestamp", "timestamp without time zone"),
        ("cpu_usage", "numeric(5,2)"), ("memory_usage", "numeric(5,2)"), ("load_average_1m", "numeric(5,2)"),
        ("load_average_5m", "numeric(5,2)"), ("load_average_15m", "numeric(5,2)"), ("uptime_seconds", "bigint"),
    ],
    "service_status": [
        ("id", "integer"), ("agent_id", "character varying(50)"), ("timestamp", "timestamp without time zone"),
        ("service_name", "character varying(100)"), ("status", "character varying(20)"), ("pid", "integer"),
    ],
    "container_sessions": [
        ("id", "integer"), ("agent_id", "character varying(50)"), ("container_id", "character varying(100)"),
        ("username", "character varying(100)"), ("session_id", "character varying(100)"), ("port", "integer"),
        ("status", "character varying(20)"), ("created_at", "timestamp without time zone"), ("stopped_at", "timestamp without time zone"),
    ],
}



class PostgresServer:
    def __init__(self) -> None:
        if not (POSTGRES_BIN / "initdb").exists():
            raise RuntimeError(f"{POSTGRES_BIN}/initdb is missing: `make deps` installs Debian's postgresql package")
        self.base = Path(tempfile.mkdtemp(prefix="viworks-pg-"))
        shutil.chown(self.base, "postgres")
        self.data = self.base / "data"
        subprocess.run([str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True, timeout=120, user="postgres", cwd=self.base)
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(POSTGRES_BIN / "postgres"), "-D", str(self.data), "-k", str(self.base), "-c", "listen_addresses=127.0.0.1",
             "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user="postgres", cwd=self.base)
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.url).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown: open sessions are ended, as when a database server goes away."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def database_url(self, name: str, user: str = "postgres", password: str | None = None) -> str:
        credentials = f"{user}:{password}" if password else user
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{name}"

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {name}")
        return self.database_url(name)

    def require_password(self, user: str, password: str) -> None:
        """Creates `user` with `password` and makes TCP logins of that user check it (scram-sha-256)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"DROP ROLE IF EXISTS {user}")
            connection.execute(f"CREATE ROLE {user} LOGIN SUPERUSER PASSWORD '{password}'")
        hba = self.data / "pg_hba.conf"
        line = f"host all {user} 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text()
        if line not in text:
            hba.write_text(line + text)
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("SELECT pg_reload_conf()")

    def enable_tls(self, cert: Path, key: Path) -> None:
        """Serves TLS with `cert` and `key` (copied into the data directory, as the server requires)."""
        shutil.copy(cert, self.data / "server.crt")
        shutil.copy(key, self.data / "server.key")
        for name in ("server.crt", "server.key"):
            shutil.chown(self.data / name, "postgres")
        (self.data / "server.key").chmod(0o600)
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("ALTER SYSTEM SET ssl = on")
            connection.execute("SELECT pg_reload_conf()")


def rows(database: str, sql: str) -> list[tuple]:
    with psycopg.connect(database) as connection:
        return connection.execute(sql).fetchall()


def table_columns(database: str, table: str) -> list[tuple[str, str]]:
    """`(name, type)` of every column of `table`, in order, spelled as SPEC_COLUMNS spells them."""
    return rows(database, f"""
        SELECT column_name, CASE WHEN data_type = 'numeric' THEN format('numeric(%s,%s)', numeric_precision, numeric_scale)
                                 WHEN data_type = 'character varying' THEN format('character varying(%s)', character_maximum_length)
                                 ELSE data_type END
        FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position""")
