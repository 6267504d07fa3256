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
until curl -sf -o /dev/null http://127.0.0.1:$PORT/api/v1/health; do sleep 0.2; done
sleep 2  # the first collections

curl -sf -o /dev/null -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/api/v1/status || { echo "API key refused"; exit 1; }
curl -sf -o /dev/null -H "Authorization: Bearer $JWT" http://127.0.0.1:$PORT/api/v1/status || { echo "JWT refused"; exit 1; }

rps() { wrk -t1 -c16 -d"${SECONDS_PER_RUN}s" --latency "$@" | awk '/Requests\/sec/ {print $2}'; }
declare -a NONE APIKEY JWTS
for round in $(seq "$ROUNDS"); do
    NONE+=("$(rps http://127.0.0.1:$PORT/api/v1/status)")
    APIKEY+=("$(rps -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/api/v1/status)")
    JWTS+=("$(rps -H "Authorization: Bearer $JWT" http://127.0.0.1:$PORT/api/v1/status)")
    echo "round $round: none ${NONE[-1]} req/s, API key ${APIKEY[-1]} req/s, JWT ${JWTS[-1]} req/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
N=$(median "${NONE[@]}"); A=$(median "${APIKEY[@]}"); J=$(median "${JWTS[@]}")
echo "median req/s: none $N, API key $A, JWT $J"
echo "time per request relative to unauthenticated: API key $(echo "$N / $A" | bc -l | cut -c1-5)x, JWT $(echo "$N / $J" | bc -l | cut -c1-5)x"

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
