#!/usr/bin/env python3
# Stream mode: metrics messages with chosen timestamp_ms around FIXTURE_BASE_MS (set by the test), one per line:
# base, year 2264 (past the nanosecond range of an Int64), base + 10 min, base - 40 days, base - 500 (out of order),
# base + 1000, and one without a timestamp; then it stays alive without writing.
import os, sys, time
base = int(os.environ["FIXTURE_BASE_MS"])
out = sys.stdout
out.write('{"type":"hello","protocol":1}\n')
stamps = [base, 9_300_000_000_000, base + 600_000, base - 40 * 86_400_000, base - 500, base + 1000, None]
for value, stamp in enumerate(stamps, start=1):
    member = '' if stamp is None else ',"timestamp_ms":%d' % stamp
    out.write('{"type":"metrics"%s,"samples":[{"name":"fixture_stamped","value":%d}]}\n' % (member, value))
out.flush()
time.sleep(60)
