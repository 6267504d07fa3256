#!/usr/bin/env python3
# Stream mode: 1 MiB without a newline, then a newline and a valid metrics line; then quiet ticks.
import json, sys, time
out = sys.stdout
out.write(json.dumps({"type": "hello", "protocol": 1}) + "\n")
out.write("x" * (1 << 20))
out.write("\n")
out.write(json.dumps({"type": "metrics", "samples": [{"name": "fixture_after_huge", "value": 7}]}) + "\n")
out.flush()
while True:
    time.sleep(0.05)
    out.write(json.dumps({"type": "metrics", "samples": [{"name": "fixture_after_huge", "value": 8}]}) + "\n")
    out.flush()
