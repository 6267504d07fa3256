#!/usr/bin/env bash
# What a /proc process scan costs the running agent per process, against the C floor of the same reads.
#
# Starts the agent (1 s interval, default configuration), measures its CPU per second and RSS with the host's own
# processes, then with 1,000 and 4,000 more (`sleep` processes), and runs the C floor (stat_floor.c) at each size.
# Usage: Benchmarks/live-processes/run.sh AGENT_BINARY [SECONDS_PER_WINDOW]
set -euo pipefail
agent=$1
window=${2:-40}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/viworks-live-processes.XXXXXX)
gcc -O2 -o "$work/stat_floor" "$here/stat_floor.c"
port=19310
VIWORKS_AGENT_INTERVAL=1s VIWORKS_AGENT_STATE_DIRECTORY="$work/state" "$agent" run --config /dev/null --listen 127.0.0.1:$port >"$work/agent.log" 2>&1 &
pid=$!
sleepers=()
cleanup() {
  kill "${sleepers[@]}" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
sleep 15
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
measure() {
  local processes before after
  processes=$(ls /proc | grep -c '^[0-9]')
  before=$(ticks)
  sleep "$window"
  after=$(ticks)
  printf '%6d processes: agent %6d us CPU per second, %s; floor: %s\n' "$processes" $(((after - before) * 10000 / window)) \
    "$(grep VmRSS "/proc/$pid/status" | tr -s ' \t' ' ')" "$("$work/stat_floor" 20)"
}
measure
for extra in 1000 3000; do
  for _ in $(seq "$extra"); do sleep 900 & sleepers+=($!); done
  sleep 8
  measure
done
