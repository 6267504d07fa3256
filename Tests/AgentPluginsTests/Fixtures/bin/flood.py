#!/usr/bin/env python3
# Floods a million lines as fast as it can: mostly garbage, one valid metrics line in a thousand; then idles.
import sys, time
out = sys.stdout.buffer
out.write(b'{"type":"hello","protocol":1}\n')
valid = b'{"type":"metrics","samples":[{"name":"fixture_flood","value":1}]}\n'
junk = b"garbage line that is not json at all, repeated to flood the agent\n"
block = junk * 999 + valid
for _ in range(1000):
    out.write(block)
out.flush()
while True:
    out.write(valid)
    out.flush()
    time.sleep(0.05)
