"""Reading the agent's Server-Sent Events stream in the benchmarks (Benchmarks/soak, Benchmarks/dashboard)."""

from __future__ import annotations

import socket
import threading
from typing import Callable


def read_events(port: int, path: str, marker: bytes, stop: threading.Event, add: Callable[[int], None]) -> str | None:
    """Opens GET `path` on 127.0.0.1:`port` as an event stream and reads it until `stop` is set, calling `add` with the
    number of complete lines equal to `marker` (e.g. b"event: status\\n") in what each read completed. Returns None when
    stopped, "closed" when the agent ended the stream, or the status line of an answer other than 200. Raises OSError
    when it cannot connect."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        s.settimeout(1)
        buffer = b""
        first = True
        while not stop.is_set():
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return "closed"
            if first and not chunk.startswith(b"HTTP/1.1 200"):
                return chunk.split(b"\r\n", 1)[0].decode(errors="replace")
            first = False
            buffer += chunk
            add(buffer.count(marker))
            buffer = buffer[buffer.rfind(b"\n") + 1:]
    return None
