#!/usr/bin/env python3
# Prints a Python traceback on stdout (as a crashing import would), then behaves: bad lines are counted, the rest accepted.
import json, sys
print("Traceback (most recent call last):")
print('  File "/usr/lib/plugin.py", line 3, in <module>')
print("ModuleNotFoundError: No module named 'requests'")
print(json.dumps({"type": "hello", "protocol": 1}), flush=True)
for line in sys.stdin:
    message = json.loads(line)
    if message.get("type") == "collect":
        print("debug: collecting")  # junk between valid lines
        print(json.dumps({"type": "metrics", "id": message["id"], "samples": [{"name": "fixture_value", "value": 1.5}]}), flush=True)
