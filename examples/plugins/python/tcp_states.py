#!/usr/bin/env python3
"""ViWorks plugin example in Python, standard library only (stream mode).

Counts TCP sockets by state from /proc/net/tcp and /proc/net/tcp6 and pushes them every interval.
Protocol: docs/plugin-protocol.md. Try it:  viworks-agent plugin test plugins.d/tcp-states.toml
"""
import json
import os
import sys
import time

STATES = {
    "01": "established", "02": "syn_sent", "03": "syn_recv", "04": "fin_wait1", "05": "fin_wait2", "06": "time_wait",
    "07": "close", "08": "close_wait", "09": "last_ack", "0A": "listen", "0B": "closing",
}


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def count_states():
    counts = {name: 0 for name in STATES.values()}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f, None)  # header
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] in STATES:
                        counts[STATES[fields[3]]] += 1
        except OSError as error:
            send({"type": "log", "level": "warning", "message": f"cannot read {path}: {error}"})
    return counts


def main():
    send({"type": "hello", "protocol": 1, "name": "tcp-states", "version": "1.0"})
    interval = int(os.environ.get("VIWORKS_PLUGIN_INTERVAL_MS", "10000")) / 1000
    while True:
        counts = count_states()
        samples = [
            {"name": "example_tcp_sockets", "value": n, "labels": {"state": state}, "help": "TCP sockets by state."}
            for state, n in sorted(counts.items())
        ]
        send({"type": "metrics", "timestamp_ms": int(time.time() * 1000), "samples": samples})
        time.sleep(interval)


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
