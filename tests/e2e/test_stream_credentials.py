"""The status stream (GET /api/v1/stream) and the credential it was opened with, against the real binary: a stream
opened with a JWT ends when the token expires, one opened with an API key when a reload removes the key, each with an
`event: error` in the API's error shape; the dashboard then asks to sign in again."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from conftest import REQUEST_TIMEOUT, start_agent, wait_for
from test_security import create_key, hs256_token

# Every read below is bounded: a stream that never ends fails the test here instead of hanging it.
READ_LIMIT = 60.0


class Stream:
    """A raw HTTP/1.1 request to /api/v1/stream whose body is read as it arrives (chunked transfer encoding)."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT)
        lines = [f"GET /api/v1/stream HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""
        self.closed = False

    def read_until(self, predicate, what: str) -> str:
        """Reads until predicate(body so far) is true or the agent closes the connection; fails after READ_LIMIT s."""
        deadline = time.monotonic() + READ_LIMIT
        while not predicate(self.body()) and not self.closed:
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {READ_LIMIT} s; read {self.body()[-400:]!r}")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self.closed = True
            self.raw += chunk
        return self.body()

    def status(self) -> int:
        return int(self.raw.split(b"\r\n", 1)[0].split()[1])

    def body(self) -> str:
        """The body so far, chunk framing removed."""
        head, _, rest = self.raw.partition(b"\r\n\r\n")
        body = b""
        while rest:
            size_line, sep, rest = rest.partition(b"\r\n")
            if not sep:
                break
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                body += b"<end>"
                break
            body += rest[:size]
            rest = rest[size + 2:]
        return body.decode()

    def close(self) -> None:
        self.sock.close()


def events(body: str) -> list[dict]:
    """The events of an SSE body: {"event", "id", "data"}."""
    result = []
    for block in body.replace("<end>", "").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":") and ": " in line:
                name, value = line.split(": ", 1)
                fields[name] = value
        if "data" in fields:
            result.append(fields)
    return result


def test_a_stream_opened_with_a_jwt_ends_when_the_token_expires(tmp_path):
    secret = b"stream-expiry-secret-of-32-bytes!"
    (tmp_path / "jwt-secret").write_bytes(secret)
    agent = start_agent(tmp_path, env={
        "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_AUTH_JWT_HS256_SECRET_FILE": str(tmp_path / "jwt-secret"),
        "VIWORKS_AUTH_JWT_LEEWAY": "0s"})
    try:
        # Valid for 8 s (7 at least, the expiry being in whole seconds): long enough for a loaded machine to send the
        # first collection's events, short enough to wait for.
        token = hs256_token({"sub": "short", "exp": int(time.time()) + 8, "role": "viewer"}, secret)
        lasting = hs256_token({"sub": "long", "exp": int(time.time()) + 600, "role": "viewer"}, secret)
        stream = Stream(agent.port, {"Authorization": f"Bearer {token}"})
        other = Stream(agent.port, {"Authorization": f"Bearer {lasting}"})
        try:
            body = stream.read_until(lambda text: "<end>" in text, "the stream of an expiring token ends")
            assert stream.status() == 200
            received = events(body)
            # Status and verdict events while the token was valid, then the error that ends the stream.
            kinds = [event["event"] for event in received]
            assert "status" in kinds and kinds[kinds.index("status") + 1] == "status-simple", kinds
            assert json.loads(received[kinds.index("status-simple")]["data"])["status"] in ("healthy", "degraded", "critical", "starting")
            assert received[-1]["event"] == "error" and "id" not in received[-1]
            assert json.loads(received[-1]["data"]) == {
                "error": {"code": "token_expired", "message": "the token expired; sign in again with a new one"}}
            assert [event["event"] for event in received[:-1]].count("error") == 0
            # The stream of a token that is still valid goes on: it gets the next collection after the other ended.
            seen = len(events(other.read_until(lambda text: len(events(text)) >= 2, "the other stream's first events")))
            other.read_until(lambda text: len(events(text)) > seen, "the other stream goes on")
            assert not other.closed
            # The expired token is refused on a new request.
            assert agent.get("/api/v1/stream?max_events=1", {"Authorization": f"Bearer {token}"}).status == 401
        finally:
            stream.close()
            other.close()
    finally:
        agent.stop()


def test_a_stream_opened_with_an_api_key_ends_when_a_reload_removes_the_key(tmp_path):
    keys = tmp_path / "keys"
    removed = create_key("viewer", "removed", keys)
    kept = create_key("viewer", "kept", keys)
    agent = start_agent(tmp_path, env={"VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_STREAM_KEEPALIVE": "1s"})
    try:
        stream = Stream(agent.port, {"X-API-Key": removed})
        other = Stream(agent.port, {"Authorization": f"Bearer {kept}"})
        try:
            stream.read_until(lambda text: "event: status\n" in text, "the first status event")
            # Remove the first key's line (`<name> <role> <hash>`), then reload.
            keys.write_text("".join(line for line in keys.read_text().splitlines(keepends=True) if not line.startswith("removed ")))
            agent.process.send_signal(signal.SIGHUP)
            body = stream.read_until(lambda text: "<end>" in text, "the stream of a removed key ends")
            last = events(body)[-1]
            assert last["event"] == "error"
            assert json.loads(last["data"]) == {"error": {
                "code": "credential_revoked", "message": "the API key is no longer accepted (removed from the key file and reloaded)"}}
            # The other key's stream goes on (keep-alives every second) and the removed key is refused.
            before = other.read_until(lambda text: ": keep-alive" in text, "a keep-alive on the other stream")
            other.read_until(lambda text: text.count(": keep-alive") > before.count(": keep-alive"), "the other stream goes on")
            assert not other.closed
            assert agent.get("/api/v1/status", {"X-API-Key": removed}).status == 401
        finally:
            stream.close()
            other.close()
    finally:
        agent.stop()


def test_the_dashboard_asks_to_sign_in_again_when_its_token_expires(tmp_path):
    dashboard = pytest.importorskip("test_dashboard")
    dashboard.chromium_paths()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    secret = b"stream-expiry-secret-of-32-bytes!"
    (tmp_path / "jwt-secret").write_bytes(secret)
    agent = start_agent(tmp_path, env={
        "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_AUTH_JWT_HS256_SECRET_FILE": str(tmp_path / "jwt-secret"),
        "VIWORKS_AUTH_JWT_LEEWAY": "0s"})
    browser = dashboard.new_browser()
    try:
        browser.get(f"http://127.0.0.1:{agent.port}/#/overview")
        field = WebDriverWait(browser, dashboard.DEADLINE).until(lambda d: d.find_element(By.ID, "credential"))
        # Valid for 20 s: time to sign in and show the overview's verdict before it expires, on a loaded machine too.
        token = hs256_token({"sub": "page", "exp": int(time.time()) + 20, "role": "viewer"}, secret)
        field.send_keys(token + Keys.ENTER)
        # Signed in: the overview shows the verdict that came on the stream.
        wait_for(lambda: browser.execute_script("return document.getElementById('verdict')?.dataset.status"),
                 timeout=dashboard.DEADLINE, what="the overview's verdict")
        # Then the token expires: the sign-in form comes back with the agent's reason, the credential is gone.
        reason = wait_for(lambda: browser.execute_script(
            "return document.getElementById('signin') && document.getElementById('main').textContent"),
            timeout=dashboard.DEADLINE, what="the sign-in form after the token expired")
        assert "the token expired; sign in again with a new one" in reason, reason
        assert browser.execute_script("return sessionStorage.getItem('viworks.credential')") is None
        assert browser.execute_script("return document.getElementById('nav').hidden") is True
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE" and "401" not in entry["message"]]
        assert errors == []
    finally:
        browser.quit()
        agent.stop()
