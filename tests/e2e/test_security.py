"""Access control end to end: keys, roles, TLS with hot reload, limits and addresses, against the real binary.

Certificates are made at test time with the `openssl` command (a throw-away CA per test session); nothing
private is committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import EXIT_TIMEOUT, REQUEST_TIMEOUT, Agent, agent_binary, clean_environment, free_port, raw_request, require_binary, run_cli, start_agent, wait_for


# MARK: - Keys and roles


def create_key(role: str, name: str, file: Path) -> str:
    result = run_cli("keys", "create", "--role", role, "--name", name, "--file", str(file))
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert re.fullmatch(r"vwk_[0-9a-f]{32}_[0-9a-f]{64}", key), key
    return key


def test_keys_create_prints_the_key_once_and_keeps_only_its_hash(tmp_path):
    keys = tmp_path / "keys"
    key = create_key("admin", "ops", keys)
    line = keys.read_text()
    assert re.fullmatch(r"ops admin hmac-sha256:[0-9a-f]{32}:[0-9a-f]{64}\n", line), line
    assert key not in line and key[37:] not in line
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    # Without --file: the TOML table to paste.
    result = run_cli("keys", "create", "--role", "viewer", "--name", "dashboard")
    assert result.returncode == 0
    assert re.search(r'\[\[auth\.api_keys\]\]\nname = "dashboard"\nrole = "viewer"\nhash = "hmac-sha256:[0-9a-f]{32}:[0-9a-f]{64}"', result.stdout)
    bad = run_cli("keys", "create", "--role", "root")
    assert bad.returncode != 0 and "--role must be viewer, operator or admin" in bad.stderr


def test_keys_create_refuses_a_name_already_in_the_file_and_check_config_reports_duplicates(tmp_path):
    keys = tmp_path / "keys"
    create_key("viewer", "ops", keys)
    before = keys.read_text()
    again = run_cli("keys", "create", "--role", "admin", "--name", "ops", "--file", str(keys))
    assert again.returncode == 1
    assert again.stderr == f"error: {keys}:1: an API key named 'ops' already exists; choose another --name, or remove that line to replace the key\n"
    assert again.stdout == "", "no key is printed for a refused name"
    assert keys.read_text() == before
    # A duplicate written by hand, and one between [[auth.api_keys]] and the key file: each reported where it is.
    create_key("operator", "ci", keys)
    first_hash = before.split()[2]
    with keys.open("a") as handle:
        handle.write(f"ops admin {first_hash}\n")
    config = tmp_path / "agent.toml"
    config.write_text(f'[auth]\napi_key_file = "{keys}"\n\n[[auth.api_keys]]\nname = "ci"\nrole = "viewer"\nhash = "{first_hash}"\n')
    check = run_cli("check-config", "--config", str(config))
    assert check.returncode == 1
    lines = check.stderr.splitlines()
    assert f"error: {keys}:2: auth.api_key_file: API key name \"ci\" is already used at {config}:5; names must be unique (they are the client id in logs, audit records and rate limits)" in lines, check.stderr
    assert f"error: {keys}:3: auth.api_key_file: API key name \"ops\" is already used at {keys}:1; names must be unique (they are the client id in logs, audit records and rate limits)" in lines, check.stderr
    assert len(lines) == 2, check.stderr


def test_api_keys_roles_and_json_errors_on_the_real_binary(tmp_path):
    keys = tmp_path / "keys"
    viewer = create_key("viewer", "dashboard", keys)
    operator = create_key("operator", "ci", keys)
    agent = start_agent(tmp_path, env={"VIWORKS_AUTH_API_KEY_FILE": str(keys)})
    try:
        # Health stays public; everything else needs a credential once keys exist, even on loopback.
        assert agent.get("/api/v1/health").status == 200
        missing = agent.get("/api/v1/status")
        assert missing.status == 401
        assert missing.header("www-authenticate") == 'Bearer realm="viworks-agent"'
        assert missing.json()["error"]["code"] == "unauthorized"
        wrong = agent.get("/api/v1/status", {"Authorization": "Bearer vwk_" + "0" * 32 + "_" + "0" * 64})
        assert wrong.status == 401 and 'error="invalid_token"' in wrong.header("www-authenticate")
        assert agent.get("/api/v1/status", {"Authorization": f"Bearer {viewer}"}).status == 200
        assert agent.get("/metrics", {"X-API-Key": viewer}).status == 200
        forbidden = agent.request("POST", "/api/v1/plugins/reload", {"X-API-Key": viewer})
        assert forbidden.status == 403
        assert forbidden.json()["error"] == {
            "code": "forbidden", "message": "POST /api/v1/plugins/reload needs the operator role; this credential has viewer"}
        assert agent.request("POST", "/api/v1/plugins/reload", {"X-API-Key": operator}).status == 200
        # The privileged request is in the log with the key's name and the request id.
        assert wait_for(lambda: re.search(r"privileged request.*|.*client=key:ci.*", agent.log()), what="audit line")
        assert "request.id=" in agent.log()
    finally:
        agent.stop()


def test_sighup_applies_new_keys_and_revocations_without_a_restart(tmp_path):
    keys = tmp_path / "keys"
    old = create_key("viewer", "old", keys)
    agent = start_agent(tmp_path, env={"VIWORKS_AUTH_API_KEY_FILE": str(keys)})
    try:
        assert agent.get("/api/v1/status", {"X-API-Key": old}).status == 200
        keys.write_text("")  # revoke "old"
        new = create_key("viewer", "new", keys)
        agent.process.send_signal(signal.SIGHUP)
        wait_for(lambda: agent.get("/api/v1/status", {"X-API-Key": new}).status == 200, what="new key accepted")
        assert agent.get("/api/v1/status", {"X-API-Key": old}).status == 401
        assert agent.process.poll() is None
        assert re.search(r"configuration reloaded.*applied=security", agent.log()), agent.log()[-2000:]
    finally:
        agent.stop()


def test_rate_limit_on_the_real_binary(tmp_path):
    # Not start_agent: its health polls would count against the 5 requests.
    port = free_port()
    config = tmp_path / "limits.toml"
    config.write_text("[rate_limit]\nrequests_per_minute = 5\n")
    process = subprocess.Popen([str(agent_binary()), "run", "--config", str(config), "--listen", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_environment())
    try:
        wait_for(lambda: try_connect(port), what="listening")
        started = time.monotonic()
        statuses = [raw_request(port, "GET", "/api/v1/status-simple") for _ in range(6)]
        spent = time.monotonic() - started
        assert all(r.status in (200, 503) for r in statuses[:5]), [r.status for r in statuses]
        assert [r.header("ratelimit-remaining") for r in statuses[:5]] == ["4", "3", "2", "1", "0"]
        refused = statuses[5]
        assert refused.status == 429
        # 5 per minute: one every 12 s, less the whole seconds the six requests took (the bucket refills meanwhile):
        # exactly 12 when they take under a second, as on an idle machine.
        assert 12 - int(spent) <= int(refused.header("retry-after")) <= 12, (refused.header("retry-after"), spent)
        assert refused.header("ratelimit-limit") == "5" and refused.header("ratelimit-policy") == "5;w=60"
        assert refused.json()["error"]["code"] == "rate_limited"
    finally:
        process.terminate()
        process.wait(timeout=EXIT_TIMEOUT)


def try_connect(port: int, family=socket.AF_INET, host: str = "127.0.0.1") -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect((host, port))
            return True
    except OSError:
        return False


# MARK: - Limits


def test_chunked_body_over_the_limit_is_413_and_slow_clients_are_cut(tmp_path):
    keys = tmp_path / "keys"
    operator = create_key("operator", "ci", keys)
    agent = start_agent(tmp_path, env={
        "VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_LIMITS_MAX_BODY_BYTES": "1024", "VIWORKS_LIMITS_REQUEST_TIMEOUT": "1s"})
    try:
        chunk = b"x" * 600
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
        head = (f"POST /api/v1/plugins/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: {operator}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", agent.port), timeout=REQUEST_TIMEOUT) as s:
            s.sendall(head + body)
            reply = s.recv(65536)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        assert b'"payload_too_large"' in reply
        big = agent.request("POST", "/api/v1/plugins/reload", {"X-API-Key": operator}, b"y" * 1025)
        assert big.status == 413
        assert agent.get("/api/v1/status?" + "q" * 5000).status == 414
        assert agent.get("/api/v1/status", {"X-Padding": "p" * 20000}).status == 431

        # Slowloris: half a request line, then nothing. The agent closes the connection after request_timeout: the
        # configured 1 s, not the default 15 s, which the upper bound tells apart.
        with socket.create_connection(("127.0.0.1", agent.port), timeout=REQUEST_TIMEOUT) as s:
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert s.recv(100) == b""
            elapsed = time.monotonic() - started
        assert 0.8 < elapsed < 10, elapsed
        # A trickle of bytes does not keep it open either: a byte every 0.1 s would go on for a minute; the agent
        # closes the connection while the trickle still runs.
        trickle = b"GET /api/v1/status HTTP/1.1\r\nX-Slow: " + b"a" * 600
        with socket.create_connection(("127.0.0.1", agent.port), timeout=REQUEST_TIMEOUT) as s:
            started = time.monotonic()
            closed = False
            for byte in trickle:
                try:
                    s.sendall(bytes([byte]))
                    s.settimeout(0.1)
                    # An answer instead of the end of the connection fails below, as the end not coming at all does.
                    closed = s.recv(100) == b""
                    break
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
            trickled = time.monotonic() - started
        assert closed, f"still open after trickling for {trickled:.1f} s"
        assert trickled < 10, trickled
    finally:
        agent.stop()


def test_request_ids_on_the_real_binary(tmp_path):
    agent = start_agent(tmp_path)
    try:
        assert agent.get("/api/v1/status", {"X-Request-Id": "poller-7"}).header("x-request-id") == "poller-7"
        generated = agent.get("/nope").header("x-request-id")
        assert generated and re.fullmatch(r"[0-9a-f]{32}", generated)
    finally:
        agent.stop()


# MARK: - Safe defaults


def test_non_loopback_without_tls_or_credentials_is_refused_naming_the_setting(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text('[server]\nlisten = "0.0.0.0:9740"\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 1
    assert f"{config}:2: server.listen: listening on 0.0.0.0:9740, which is not loopback, needs TLS" in result.stderr
    assert "needs at least one credential" in result.stderr
    run = subprocess.run([str(agent_binary()), "run", "--config", str(config)], capture_output=True, text=True, timeout=20,
                         env=clean_environment())
    assert run.returncode == 78
    assert "server.allow_insecure = true" in run.stderr


def test_allow_insecure_logs_a_warning_and_ipv4_mapped_clients_match_ipv4_blocks(tmp_path):
    if not try_bind_v6():
        pytest.skip("no IPv6 on this machine")
    keys = tmp_path / "keys"
    viewer = create_key("viewer", "dashboard", keys)
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(f'[server]\nlisten = "[::]:{port}"\nallow_insecure = true\n[auth]\napi_key_file = "{keys}"\n'
                      '[access]\nallow = ["127.0.0.0/8"]\n[rate_limit]\nrequests_per_minute = 0\n')
    log = tmp_path / "agent.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(agent_binary()), "run", "--config", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                   env=clean_environment())
    try:
        wait_for(lambda: try_connect(port), what="listening")
        # An IPv4 client of a dual-stack socket arrives as ::ffff:127.0.0.1 and matches 127.0.0.0/8.
        assert raw_request(port, "GET", "/api/v1/status", {"X-API-Key": viewer}).status == 200
        # ::1 is not in the list.
        assert ipv6_request(port, "/api/v1/status", {"X-API-Key": viewer}).startswith(b"HTTP/1.1 403")
        assert wait_for(lambda: "server.allow_insecure = true" in log.read_text(), what="warning")
        assert re.search(r"warning.*plain HTTP off loopback", log.read_text())
    finally:
        process.terminate()
        process.wait(timeout=EXIT_TIMEOUT)


def try_bind_v6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            return True
    except OSError:
        return False


def ipv6_request(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("::1", port), timeout=REQUEST_TIMEOUT) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_forwarded_for_counts_only_from_trusted_proxies(tmp_path):
    env = {"VIWORKS_ACCESS_ALLOW": "192.0.2.0/24", "VIWORKS_ACCESS_TRUSTED_PROXIES": "127.0.0.1"}
    port = free_port()
    process = subprocess.Popen([str(agent_binary()), "run", "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=clean_environment({**env, "VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE": "0"}))
    try:
        wait_for(lambda: try_connect(port), what="listening")
        assert raw_request(port, "GET", "/api/v1/health").status == 403  # 127.0.0.1 itself is not allowed
        assert raw_request(port, "GET", "/api/v1/health", {"X-Forwarded-For": "192.0.2.44"}).status in (200, 503)
        # The right-most untrusted hop counts: a client cannot prepend an allowed address.
        assert raw_request(port, "GET", "/api/v1/health", {"X-Forwarded-For": "192.0.2.44, 198.51.100.7"}).status == 403
    finally:
        process.terminate()
        process.wait(timeout=EXIT_TIMEOUT)


# MARK: - TLS


class ThrowawayCA:
    """A throw-away CA made with the openssl command."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = directory / "ca.key"
        self.cert = directory / "ca.pem"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
                "-out", self.cert, "-days", "2", "-subj", "/CN=viworks e2e CA")
        (directory / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")

    def leaf(self, name: str, serial: int, days: int = 1) -> tuple[Path, Path]:
        key, csr, cert = self.dir / f"{name}.key", self.dir / f"{name}.csr", self.dir / f"{name}.pem"
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
        openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-set_serial", str(serial), "-days", str(days),
                "-out", cert, "-extfile", self.dir / "ext.cnf")
        return cert, key

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert))
        return context


def openssl(*args) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def install(cert: Path, key: Path, into: Path) -> None:
    """Replaces the served files by rename, as certbot and cert-manager do."""
    (into / "key.pem.new").write_bytes(key.read_bytes())
    (into / "cert.pem.new").write_bytes(cert.read_bytes())
    (into / "key.pem.new").rename(into / "key.pem")
    (into / "cert.pem.new").rename(into / "cert.pem")


def https_get(port: int, context: ssl.SSLContext, path: str = "/api/v1/health") -> tuple[int, int]:
    """(status, serial of the server certificate) over a new TLS connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            serial = int(s.getpeercert()["serialNumber"], 16)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    return int(data.split(b" ", 2)[1]), serial


@pytest.fixture
def tls_agent(tmp_path):
    require_binary()
    ca = ThrowawayCA(tmp_path / "pki")
    served = tmp_path / "tls"
    served.mkdir()
    install(*ca.leaf("first", 0x1001), served)
    port = free_port()
    log = tmp_path / "agent.log"
    env = clean_environment({
        "VIWORKS_TLS_CERT_FILE": str(served / "cert.pem"), "VIWORKS_TLS_KEY_FILE": str(served / "key.pem"),
        "VIWORKS_TLS_RELOAD_CHECK_INTERVAL": "200ms", "VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE": "0"})
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with open(log, "wb") as out:
        process = subprocess.Popen([str(agent_binary()), "run", "--config", str(empty), "--listen", f"127.0.0.1:{port}"],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    agent = Agent(port, process, log)
    agent.ca, agent.served = ca, served
    try:
        wait_for(lambda: try_https(port, ca.client_context()), what="HTTPS")
        yield agent
    finally:
        agent.stop()


def try_https(port: int, context: ssl.SSLContext) -> bool:
    try:
        return https_get(port, context)[0] in (200, 503)
    except OSError:
        return False


def test_tls_rotation_on_file_change_and_sighup_loses_no_request(tls_agent):
    context = tls_agent.ca.client_context()
    assert https_get(tls_agent.port, context)[1] == 0x1001
    # Plain HTTP on the TLS port is not served.
    with pytest.raises(Exception):
        raw_request(tls_agent.port, "GET", "/api/v1/health")

    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def stream():
        while not stop.is_set():
            try:
                results.append(https_get(tls_agent.port, context))
            except BaseException as error:  # noqa: BLE001 - any failure is a lost request
                errors.append(error)

    threads = [threading.Thread(target=stream) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_for(lambda: any(serial == 0x1001 for _, serial in results), what="the first certificate served to the stream")
    install(*tls_agent.ca.leaf("second", 0x1002), tls_agent.served)  # picked up by the file watcher
    wait_for(lambda: results and results[-1][1] == 0x1002, what="second certificate served")
    install(*tls_agent.ca.leaf("third", 0x1003), tls_agent.served)
    tls_agent.process.send_signal(signal.SIGHUP)  # or by SIGHUP, whichever comes first
    wait_for(lambda: results and results[-1][1] == 0x1003, what="third certificate served")
    wait_for(lambda: len(results) > 20, what="more than 20 requests through the rotations")
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert len(results) > 20
    assert all(status in (200, 503) for status, _ in results)
    assert {serial for _, serial in results} == {0x1001, 0x1002, 0x1003}
    assert "TLS certificate loaded" in tls_agent.log()


def test_expired_or_mismatched_certificate_is_refused_and_the_old_one_kept(tls_agent):
    context = tls_agent.ca.client_context()
    expired = tls_agent.ca.leaf("expired", 0x2001, days=0)
    time.sleep(1.1)
    install(*expired, tls_agent.served)
    wait_for(lambda: "TLS certificate refused" in tls_agent.log(), what="refusal logged")
    assert re.search(r"TLS certificate refused, keeping the previous one.*the certificate expired at", tls_agent.log())
    assert https_get(tls_agent.port, context)[1] == 0x1001
    cert, _ = tls_agent.ca.leaf("other", 0x2002)
    _, stranger_key = tls_agent.ca.leaf("stranger", 0x2003)
    install(cert, stranger_key, tls_agent.served)
    wait_for(lambda: "does not match the certificate" in tls_agent.log(), what="mismatch logged")
    assert https_get(tls_agent.port, context)[1] == 0x1001


# MARK: - Documentation


def test_readme_role_table_and_example_config_follow_the_code():
    from conftest import REPO_ROOT, router_access

    readme = (REPO_ROOT / "README.md").read_text()
    table = dict(re.findall(r"^\| `(\w+ /[^`]*)` \| (public|viewer|operator|admin)\b", readme, re.M))
    assert table == {f"{method.upper()} {path}": role for (method, path), role in router_access().items()}
    example = (REPO_ROOT / "examples/agent.toml").read_text()
    for key in ("allow_insecure", "cert_file", "key_file", "client_ca_file", "reload_check_interval", "anonymous_role", "api_key_file",
                "[[auth.api_keys]]", "hs256_secret_file", "public_key_files", "issuer", "audience", "role_claim", "leeway", "allow",
                "trusted_proxies", "requests_per_minute", "viewer_per_minute", "operator_per_minute", "admin_per_minute", "max_clients",
                "max_body_bytes", "max_header_bytes", "max_url_bytes", "request_timeout"):
        assert f"# {key}" in example, key


def test_the_audit_log_names_the_credential_of_a_command(tmp_path):
    keys = tmp_path / "keys"
    admin = create_key("admin", "ops", keys)
    operator = create_key("operator", "ci", keys)
    agent = start_agent(tmp_path, env={
        "VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_AGENT_STATE_DIRECTORY": str(tmp_path / "state"), "VIWORKS_SERVICES_SYSTEMD": "off"})
    try:
        body = json.dumps({"command": "uptime"}).encode()
        headers = {"Content-Type": "application/json", "X-Request-Id": "audit-e2e-1"}
        assert agent.request("POST", "/api/v1/command", {**headers, "X-API-Key": operator}, body).status == 403
        ran = agent.request("POST", "/api/v1/command", {**headers, "X-API-Key": admin}, body)
        assert ran.status == 200, ran.body
        assert agent.get("/api/v1/audit", {"X-API-Key": operator}).status == 403
        records = agent.get("/api/v1/audit", {"X-API-Key": admin}).json()["records"]
        start = next(r for r in records if r["event"] == "command.start")
        assert (start["principal"], start["role"], start["request_id"], start["client_address"]) == ("key:ops", "admin", "audit-e2e-1", "127.0.0.1")
    finally:
        agent.stop()


def test_request_timeout_counts_the_client_not_a_slow_answer(tmp_path):
    """A synchronous command that runs longer than request_timeout still gets its answer."""
    keys = tmp_path / "keys"
    admin = create_key("admin", "ops", keys)
    config = tmp_path / "agent.toml"
    config.write_text('[commands.sleep]\nexecutable = "/bin/sleep"\narguments = ["{seconds}"]\nparameters.seconds = "integer:0..10"\ntimeout = "5s"\n')
    agent = start_agent(tmp_path, "--config", str(config), env={
        "VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_LIMITS_REQUEST_TIMEOUT": "1s",
        "VIWORKS_AGENT_STATE_DIRECTORY": str(tmp_path / "state"), "VIWORKS_SERVICES_SYSTEMD": "off"})
    try:
        body = json.dumps({"command": "sleep", "parameters": {"seconds": 2}}).encode()
        started = time.monotonic()
        answer = agent.request("POST", "/api/v1/command", {"Content-Type": "application/json", "X-API-Key": admin}, body)
        assert answer.status == 200, answer.body
        assert answer.json()["exit_code"] == 0
        assert time.monotonic() - started >= 2
    finally:
        agent.stop()


def test_processes_mask_command_line_secrets_of_a_real_process(tmp_path):
    # A busy process, so that it is at the top by CPU, carrying secrets in each form on its command line.
    secrets = ["--db-password=hunter2", "--token", "abc123tok", "PASSWORD=pw-in-env-form", "postgres://app:urlpass@db/x"]
    busy = subprocess.Popen(["python3", "-c", "while True: pass", *secrets])
    agent = start_agent(
        tmp_path,
        env={"VIWORKS_COLLECTORS_PROCESSES_ENABLED": "true", "VIWORKS_COLLECTORS_PROCESSES_INTERVAL": "1s", "VIWORKS_COLLECTORS_PROCESSES_TOP": "100"},
    )
    try:
        def listed():
            response = agent.get("/api/v1/processes")
            if response.status != 200:
                return None
            body = response.json()
            return next((p for p in body["top_cpu"] + body["top_memory"] if p["pid"] == busy.pid), None)

        process = wait_for(listed, timeout=60, what=f"pid {busy.pid} in /api/v1/processes")
        assert process["command"] == "python3 -c while True: pass --db-password=*** --token *** PASSWORD=*** postgres://app:***@db/x"
        raw = agent.get("/api/v1/processes").body.decode()
        for secret in ("hunter2", "abc123tok", "pw-in-env-form", "urlpass"):
            assert secret not in raw
    finally:
        agent.stop()
        busy.kill()
        busy.wait()


def hs256_token(payload: dict, secret: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_a_binary_jwt_secret_is_used_byte_for_byte_and_sub_is_required(tmp_path):
    # Random bytes, not UTF-8, with whitespace bytes at both ends: exactly these bytes are the key.
    secret = b" \t\n\xff" + os.urandom(40) + b"\x80\xe2\x82 \t\x0b"
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_bytes(secret + b"\n")  # one trailing newline is not part of the key
    agent = start_agent(tmp_path, env={"VIWORKS_AUTH_JWT_HS256_SECRET_FILE": str(secret_file)})
    try:
        now = int(time.time())
        good = hs256_token({"sub": "ci", "exp": now + 60, "role": "viewer"}, secret)
        assert agent.get("/api/v1/status", {"Authorization": f"Bearer {good}"}).status == 200
        as_text = secret.decode("utf-8", errors="replace").strip().encode()
        assert agent.get("/api/v1/status", {"Authorization": f"Bearer {hs256_token({'sub': 'ci', 'exp': now + 60, 'role': 'viewer'}, as_text)}"}).status == 401
        for payload, message in [
            ({"exp": now + 60, "role": "admin"}, "token has no sub"),
            ({"sub": 7, "exp": now + 60, "role": "admin"}, "claim sub must be a string"),
            ({"sub": "ci", "exp": str(now + 60), "role": "admin"}, "claim exp must be a number (seconds since 1970)"),
            ({"sub": "ci", "exp": now + 60, "role": {"name": "admin"}}, "claim role must be a string or a list of strings"),
        ]:
            response = agent.get("/api/v1/status", {"Authorization": f"Bearer {hs256_token(payload, secret)}"})
            assert response.status == 401 and response.json()["error"] == {"code": "unauthorized", "message": message}, (payload, response.body)
    finally:
        agent.stop()
