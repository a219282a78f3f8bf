#!/usr/bin/env bash
# The overload guard under far more connections than the server can serve: 2,000 connections
# send an expensive, uncached query to a release build allowed 32 requests in flight. Shows how
# many got a fast 503 (with Retry-After) rather than queueing, the server's peak memory against
# the pod's 256 MiB, and that it serves normally again by itself right after.
#
#   bash bench/overload.sh
#   CONNECTIONS=5000 DURATION=30s MAX_IN_FLIGHT=64 bash bench/overload.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-2000}"
MAX_IN_FLIGHT="${MAX_IN_FLIGHT:-32}"
MEMORY_LIMIT_MIB="${MEMORY_LIMIT_MIB:-256}"
PORT="${PORT:-18183}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/huakai"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

DIR=$(mktemp -d)
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

# The cache off, so every request does the full work of a 100-product page.
export DATABASE_URL="sqlite://$DIR/bench.db?mode=rwc" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=error \
  HUAKAI_CACHE=off HUAKAI_MAX_IN_FLIGHT="$MAX_IN_FLIGHT" HUAKAI_REQUEST_TIMEOUT=10s
"$BIN" demo load >/dev/null
"$BIN" serve 2>/dev/null &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

QUERY='{ products(first: 100) { totalCount nodes { id slug name description inStock priceRange { min { amount } max { amount } } village { name town } producer { name kind } variants { id sku name price { amount } available } } } }'
URL="http://127.0.0.1:$PORT/graphql?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$QUERY")"
curl -sf "$URL" >/dev/null

# Counts answers by status, and the latency of the 503s alone.
cat > "$DIR/statuses.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() ok = 0; shed = 0; other = 0 end
function response(status)
  if status == 200 then ok = ok + 1 elseif status == 503 then shed = shed + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local o, s, x = 0, 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); s = s + t:get("shed"); x = x + t:get("other") end
  io.write(string.format("answers: %d ok (200), %d shed (503), %d other; socket errors: %d connect, %d timeout\n",
    o, s, x, summary.errors.connect, summary.errors.timeout))
end
LUA

echo "server: $MAX_IN_FLIGHT in flight at most; load: $CONNECTIONS connections for $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 15s --latency -s "$DIR/statuses.lua" "$URL" \
  | grep -E "answers:|Latency|50%|99%|Requests/sec"

PEAK_KIB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
echo "peak memory: $((PEAK_KIB / 1024)) MiB (limit ${MEMORY_LIMIT_MIB} MiB)"
[ $((PEAK_KIB / 1024)) -lt "$MEMORY_LIMIT_MIB" ] || { echo "over the memory limit" >&2; exit 1; }

# Recovery: no restart, no manual step.
sleep 1
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$URL")
echo "right after the load: $STATUS"
[ "$STATUS" = 200 ] || { echo "did not recover" >&2; exit 1; }
