#!/usr/bin/env python3
# Stream mode: message n carries fixture_series{id="1"} … {id="n"}, an ever-growing set of label values, for
# FIXTURE_MESSAGES messages (default 50); then it stays alive without writing, or with FIXTURE_REPEAT set repeats the
# last message every 100 ms.
import os, sys, time
out = sys.stdout
out.write('{"type":"hello","protocol":1}\n')
count = int(os.environ.get("FIXTURE_MESSAGES", "50"))
for n in range(1, count + 1):
    samples = ",".join('{"name":"fixture_series","value":%d,"labels":{"id":"%d"}}' % (i, i) for i in range(1, n + 1))
    out.write('{"type":"metrics","samples":[%s]}\n' % samples)
out.flush()
while os.environ.get("FIXTURE_REPEAT"):
    out.write('{"type":"metrics","samples":[%s]}\n' % samples)
    out.flush()
    time.sleep(0.1)
time.sleep(60)
