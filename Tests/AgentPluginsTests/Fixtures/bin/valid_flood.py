#!/usr/bin/env python3
# Stream mode: valid metrics lines as fast as it can write them, forever.
import sys
out = sys.stdout.buffer
out.write(b'{"type":"hello","protocol":1}\n')
line = b'{"type":"metrics","samples":[{"name":"fixture_flood","value":1}]}\n'
block = line * 100
while True:
    out.write(block)
    out.flush()
