#!/usr/bin/env bash
# Access-control overhead and TLS throughput of the release build (docs/benchmarks.md, "Access control").
#
#   Benchmarks/access-control/bench.sh [BINARY] [SECONDS] [ROUNDS]
#
# One agent serves /api/v1/status anonymously (loopback, anonymous_role = viewer), with an API key and with an
# HS256 JWT, all three in the same run, interleaved over ROUNDS rounds; the rate limiter runs (with a limit
# no run reaches) so its cost is counted. A second agent serves HTTPS: keep-alive req/s with wrk, and full
# handshakes per second with `openssl s_time -new`. Keys and certificates are made in a temporary directory.
set -euo pipefail
BIN=${1:-.build/release/viworks-agent}
SECONDS_PER_RUN=${2:-10}
ROUNDS=${3:-3}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

PORT=19410
TLS_PORT=19411
KEY=$("$BIN" keys create --role viewer --name bench --file "$WORK/keys" 2>/dev/null)
head -c 48 /dev/urandom | base64 > "$WORK/secret"
SECRET=$(tr -d '\n' < "$WORK/secret")
JWT=$(python3 - "$SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "exp": int(time.time()) + 3600, "role": "viewer"}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
)
cat > "$WORK/agent.toml" <<TOML
[auth]
anonymous_role = "viewer"
api_key_file = "$WORK/keys"
[auth.jwt]
hs256_secret_file = "$WORK/secret"
[rate_limit]
requests_per_minute = 1000000
TOML
"$BIN" check-config --config "$WORK/agent.toml" > /dev/null
"$BIN" run --config "$WORK/agent.toml" --listen 127.0.0.1:$PORT --log-level warning > "$WORK/agent.log" 2>&1 &
AGENT=$!
until curl -sf -o /dev/null http://127.0.0.1:$PORT/api/v1/health; do sleep 0.2; done
sleep 2  # the first collections

curl -sf -o /dev/null -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/api/v1/status || { echo "API key refused"; exit 1; }
curl -sf -o /dev/null -H "Authorization: Bearer $JWT" http://127.0.0.1:$PORT/api/v1/status || { echo "JWT refused"; exit 1; }

rps() { wrk -t1 -c16 -d"${SECONDS_PER_RUN}s" --latency "$@" | awk '/Requests\/sec/ {print $2}'; }
# CPU ticks (user + system) of the agent: CPU time per request is steadier than req/s on a shared machine.
ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
# "req/s µs-of-agent-CPU-per-request" of one wrk run.
measure() {
    local before after out requests
    before=$(ticks)
    out=$(wrk -t1 -c16 -d"${SECONDS_PER_RUN}s" "$@")
    after=$(ticks)
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / $requests" | bc -l | cut -c1-6)"
}
declare -a NONE APIKEY JWTS NONE_CPU APIKEY_CPU JWT_CPU
for round in $(seq "$ROUNDS"); do
    read -r r c < <(measure http://127.0.0.1:$PORT/api/v1/status); NONE+=("$r"); NONE_CPU+=("$c")
    read -r r c < <(measure -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/api/v1/status); APIKEY+=("$r"); APIKEY_CPU+=("$c")
    read -r r c < <(measure -H "Authorization: Bearer $JWT" http://127.0.0.1:$PORT/api/v1/status); JWTS+=("$r"); JWT_CPU+=("$c")
    echo "round $round: none ${NONE[-1]} req/s ${NONE_CPU[-1]} µs CPU/req; API key ${APIKEY[-1]} req/s ${APIKEY_CPU[-1]} µs; JWT ${JWTS[-1]} req/s ${JWT_CPU[-1]} µs"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
N=$(median "${NONE[@]}"); A=$(median "${APIKEY[@]}"); J=$(median "${JWTS[@]}")
NC=$(median "${NONE_CPU[@]}"); AC=$(median "${APIKEY_CPU[@]}"); JC=$(median "${JWT_CPU[@]}")
echo "median req/s: none $N, API key $A, JWT $J"
echo "  ratio (time per request vs unauthenticated): API key $(echo "$N / $A" | bc -l | cut -c1-5)x, JWT $(echo "$N / $J" | bc -l | cut -c1-5)x"
echo "median agent CPU per request: none $NC µs, API key $AC µs, JWT $JC µs"
echo "  ratio: API key $(echo "$AC / $NC" | bc -l | cut -c1-5)x, JWT $(echo "$JC / $NC" | bc -l | cut -c1-5)x"

# TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.pem" -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
VIWORKS_TLS_CERT_FILE="$WORK/tls.pem" VIWORKS_TLS_KEY_FILE="$WORK/tls.key" VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE=0 \
    "$BIN" run --config /dev/null --listen 127.0.0.1:$TLS_PORT --log-level warning > "$WORK/tls.log" 2>&1 &
until curl -skf -o /dev/null https://127.0.0.1:$TLS_PORT/api/v1/health; do sleep 0.2; done
sleep 2
echo "plain keep-alive /api/v1/status (no auth): $(rps http://127.0.0.1:$PORT/api/v1/status) req/s"
echo "TLS keep-alive /api/v1/status: $(rps https://127.0.0.1:$TLS_PORT/api/v1/status) req/s"
echo "TLS new connection per request (wrk, Connection: close): $(rps -H 'Connection: close' https://127.0.0.1:$TLS_PORT/api/v1/health) req/s"
echo "TLS full handshakes (openssl s_time -new, one client):"
openssl s_time -connect 127.0.0.1:$TLS_PORT -new -time "$SECONDS_PER_RUN" 2>/dev/null | grep -E "connections in|connections/user" | head -2
