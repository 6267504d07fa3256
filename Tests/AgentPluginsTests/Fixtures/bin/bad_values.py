#!/usr/bin/env python3
# Stream mode: invalid UTF-8, NaN and Infinity (json.dumps writes them), then valid samples.
import json, sys, time
out = sys.stdout.buffer
out.write(b'{"type":"hello","protocol":1}\n')
out.write(b'{"type":"log","level":"info","message":"\xff\xfe broken"}\n')
sample = {"type": "metrics", "samples": [{"name": "fixture_nan", "value": float("nan")}, {"name": "fixture_inf", "value": float("inf")},
          {"name": "fixture_ok", "value": 3}]}
while True:
    out.write(json.dumps(sample).encode() + b"\n")
    out.flush()
    time.sleep(0.05)
