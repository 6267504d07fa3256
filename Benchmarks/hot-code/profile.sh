#!/usr/bin/env bash
# Lists the functions of the agent's release binary that run in steady state, and the zero-initialised data it writes,
# for the linker to place together (Sources/viworks-agent/hot-code.order; `make hot-code-order`).
#
# Runs the binary under valgrind's callgrind with instrumentation off through start-up, then on for a steady-state
# window: collections at a 1 s interval (the default collectors, history and its flushes, alerts), polls of /metrics,
# /api/v1/status and /api/v1/health, anonymous and with an API key. Writes the functions of the binary that ran,
# costliest first, one mangled name a line, to standard output (order.py; LINK_MAP is lld's -Map of the binary's link).
# Then runs the binary natively past the start-up memory release and two history flushes and adds the `.bss` symbols
# it has written (bss.py).
# Needs valgrind (apt-get install valgrind).
# Usage: Benchmarks/hot-code/profile.sh AGENT_BINARY LINK_MAP [WINDOW_SECONDS] > hot-code.order
set -euo pipefail
agent=$1
link_map=$2
window=${3:-120}
command -v valgrind >/dev/null || { echo "profile.sh needs valgrind: apt-get install valgrind" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/viworks-hot-code.XXXXXX)
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
port=19320
if curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/"; then echo "something already answers on port $port" >&2; exit 1; fi
wait_ready() { # SECONDS LOG: until the agent ($pid) answers health; exits when it died (printing LOG) or time is up
  local _
  for _ in $(seq 1 "$1"); do
    kill -0 "$pid" 2>/dev/null || { cat "$2" >&2; exit 1; }
    if curl -sf -m 5 -o /dev/null "http://127.0.0.1:$port/api/v1/health"; then return 0; fi
    sleep 1
  done
  echo "the agent did not answer health within $1 s (log: $2)" >&2
  exit 1
}
# valgrind 3.19 cannot read DWARF 5: a copy without debug information, symbols kept.
objcopy --strip-debug "$agent" "$work/agent"
key=$("$work/agent" keys create --role viewer --name profile --file "$work/api-keys" | grep '^vwk_')
settings=(VIWORKS_AUTH_API_KEY_FILE="$work/api-keys" VIWORKS_AUTH_ANONYMOUS_ROLE=viewer VIWORKS_AGENT_INTERVAL=1s VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE=0)
env "${settings[@]}" VIWORKS_AGENT_STATE_DIRECTORY="$work/state" \
  valgrind --tool=callgrind --instr-atstart=no --dump-instr=no --compress-strings=no --compress-pos=no --demangle=no \
  --callgrind-out-file="$work/callgrind.out" \
  "$work/agent" run --config /dev/null --listen 127.0.0.1:$port >"$work/agent.log" 2>&1 &
pid=$!
wait_ready 300 "$work/agent.log"
poll() {
  local path
  for path in metrics api/v1/status api/v1/health; do
    curl -s -m 30 -o /dev/null "http://127.0.0.1:$port/$path" || true
    curl -s -m 30 -o /dev/null -H "X-API-Key: $key" "http://127.0.0.1:$port/$path" || true
  done
}
poll
# Past the start-up memory release (10 s after ready and the history's first flush, 5 s after start) and the first
# rounds' one-time work.
sleep 30
callgrind_control -i on "$pid" >/dev/null 2>&1
end=$((SECONDS + window))
while [ $SECONDS -lt $end ]; do poll; sleep 5; done
callgrind_control -d "$pid" >/dev/null 2>&1
"${PYTHON:-python3}" "$here/order.py" "$work/agent" "$link_map" "$work"/callgrind.out.* >"$work/code.order"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
# The same agent natively, for the data it writes.
env "${settings[@]}" VIWORKS_AGENT_STATE_DIRECTORY="$work/state-native" "$work/agent" run --config /dev/null --listen 127.0.0.1:$port >"$work/agent-native.log" 2>&1 &
pid=$!
wait_ready 60 "$work/agent-native.log"
poll
end=$((SECONDS + 50))
while [ $SECONDS -lt $end ]; do poll; sleep 5; done
"${PYTHON:-python3}" "$here/bss.py" "$pid" "$work/agent" >"$work/bss.order"
cat "$work/code.order" "$work/bss.order"
