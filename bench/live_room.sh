#!/usr/bin/env bash
# The live room: VIEWERS (10,000) WebSocket subscribers of one live session's `sessionStock` on
# one server process (release build, PostgreSQL + Redis), while one buyer sells the quota one
# unit a second. Reports how long after each order was sent every viewer showed the quota it
# left (p50, p99, max), the server's peak RSS, and the database's statements and transactions
# per second, idle and selling, with 10 viewers and with VIEWERS. The client is
# bench/live_room_client.mjs (Node 20 and the `ws` package, installed under /var/tmp).
#
#   bash bench/live_room.sh                  # 10,000 viewers, 30 sales
#   VIEWERS=2000 SALES=10 bash bench/live_room.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS="${VIEWERS:-10000}"
SALES="${SALES:-30}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${HUAKAI_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PORT="${PORT:-18193}"
NODE_DIR="${NODE_DIR:-/var/tmp/huakai-bench-node}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
# A socket is a file on each side: the server and the client each need VIEWERS and some.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((VIEWERS + 1000)) ] || { echo "the open-file limit $(ulimit -n) is too low for $VIEWERS viewers"; exit 1; }
[ -d "$NODE_DIR/node_modules/ws" ] || npm install --silent --prefix "$NODE_DIR" ws@8 >/dev/null
# HUAKAI_BIN runs a binary built already (the figures in the docs are a release build's).
if [ -z "${HUAKAI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN="${HUAKAI_BIN:-$CARGO_TARGET_DIR/release/huakai}"
WORK=$(mktemp -d)
DB="huakai_bench_room_$$"
PREFIX="huakai-bench-room-$$:"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "{$PREFIX}*" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" REDIS_URL="$REDIS" HUAKAI_REDIS_PREFIX="$PREFIX" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
export HUAKAI_WS_MAX_CONNECTIONS=$((VIEWERS + 100)) HUAKAI_RESERVATION_TTL=1h \
  HUAKAI_UNPAID_ORDERS_PER_BUYER=1000000 HUAKAI_RESERVED_UNITS_PER_BUYER=1000000 HUAKAI_RESERVED_UNITS_PER_VARIANT=1000000
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD="a long operator password" "$BIN" user create --email ops@bench.example --role admin >/dev/null
HUAKAI_USER_PASSWORD="a long host password" "$BIN" user create --email host@bench.example --role host >/dev/null
HUAKAI_USER_PASSWORD="a long buyer password" "$BIN" user create --email buyer@bench.example --role buyer >/dev/null
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

gql() { # token query variables-json
  curl -sf "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${1:+-H "authorization: Bearer $1"} \
    -d "$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$2" "$3")"
}
field() { python3 -c 'import json, sys; a = json.load(sys.stdin); d = a["data"]
for k in sys.argv[1].split("."): d = d[int(k)] if k.isdigit() else d[k]
if d is None: sys.exit("no %s in %s" % (sys.argv[1], json.dumps(a, ensure_ascii=False)))
print(d)' "$1"; }
login() { gql "" 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }' "{\"e\": \"$1\", \"p\": \"$2\"}" | field login.token; }
OPS=$(login ops@bench.example "a long operator password")
HOST=$(login host@bench.example "a long host password")
BUYER=$(login buyer@bench.example "a long buyer password")

VARIANT=$(gql "" '{ product(slug: "sanwang-xian-baihe") { variants { id } } }' '{}' | field product.variants.0.id)
gql "$OPS" 'mutation($id: ID!) { adjustStock(variantId: $id, delta: 10000, reason: "bench") { userErrors { code } } }' "{\"id\": \"$VARIANT\"}" >/dev/null
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ); ENDS=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
SCHEDULED=$(gql "$HOST" 'mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) { session { id items { id } } } }' \
  "{\"input\": {\"title\": \"压测直播间\", \"startsAt\": \"$NOW\", \"endsAt\": \"$ENDS\", \"items\": [{\"variantId\": \"$VARIANT\", \"price\": \"9.90\", \"quota\": 5000, \"perBuyerLimit\": 5000}]}}")
SESSION=$(field scheduleLiveSession.session.id <<<"$SCHEDULED")
gql "$OPS" 'mutation($id: ID!) { approveLiveSessionItem(itemId: $id) { userErrors { code } } }' \
  "{\"id\": \"$(field scheduleLiveSession.session.items.0.id <<<"$SCHEDULED")\"}" >/dev/null
CODE=$(gql "$HOST" 'mutation($id: ID!) { createPromoLink(input: { sessionId: $id }) { promoLink { code } } }' "{\"id\": \"$SESSION\"}" | field createPromoLink.promoLink.code)

room() { # viewers
  BASE="http://127.0.0.1:$PORT" SESSION="$SESSION" VARIANT="$VARIANT" CODE="$CODE" TOKEN="$BUYER" VIEWERS="$1" SALES="$SALES" \
    INTERVAL_MS=1000 IDLE_MS=10000 WS_MODULE="$NODE_DIR/node_modules/ws" \
    COUNT_CMD="psql '$PG/$DB' -Atc \"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()\"" \
    node bench/live_room_client.mjs
}
echo "server: $(nproc) cores shared with the client; $SALES one-unit sales, one a second"
echo "10 viewers:      $(room 10)"
echo "$VIEWERS viewers: $(room "$VIEWERS")"
echo "server peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$SERVER/status"), now $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$SERVER/status")"
psql "$PG/$DB" -Atc "SELECT 'quota ' || quota || ', remaining ' || remaining || ', sold ' || (quota - remaining) FROM live_session_items"
