#!/usr/bin/env bash
# The storefront benchmark: the cached product list (20 products with variants and stock)
# against the same server's /healthz, 32 connections, wrk on the same machine.
# The server runs the release build on PostgreSQL with Redis, as in production.
#
#   bash bench/storefront.sh            # 15 s per run
#   DURATION=30s bash bench/storefront.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${HUAKAI_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PORT="${PORT:-18181}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/huakai"

DB="huakai_bench_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
PREFIX="huakai-bench-$$:"
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "{$PREFIX}*" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" REDIS_URL="$REDIS" HUAKAI_REDIS_PREFIX="$PREFIX" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
"$BIN" demo load >/dev/null
"$BIN" serve 2>/dev/null &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# The product list: 20 products with village, producer, price range and variants; the second
# form also shows stock (inStock, available), which a hit fills in fresh from the database.
CATALOGUE='{ products(first: 20) { totalCount nodes { id slug name priceRange { min { amount currency } } village { name } producer { name kind } variants { id sku name price { amount currency } } } } }'
WITH_STOCK='{ products(first: 20) { totalCount nodes { id slug name inStock priceRange { min { amount currency } } village { name } producer { name kind } variants { id sku name price { amount currency } available } } } }'
url_of() { echo "http://127.0.0.1:$PORT/graphql?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")"; }
URL=$(url_of "$CATALOGUE")
URL_STOCK=$(url_of "$WITH_STOCK")
curl -sf "$URL_STOCK" | python3 -c 'import json, sys; d = json.load(sys.stdin)["data"]["products"]["nodes"]; assert len(d) == 20, d; print("storefront page: %d products, %d variants" % (len(d), sum(len(p["variants"]) for p in d)))'

run() {
  local name=$1 url=$2
  curl -sf "$url" >/dev/null
  local out; out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '%-28s %10s req/s   p99 %s\n' "$name" "$rps" "$p99"
  echo "$rps" > "/tmp/huakai-bench-$name"
}

hits() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^huakai_cache_hits_total/ {s += $2} END {print s + 0}'; }
misses() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^huakai_cache_misses_total/ {s += $2} END {print s + 0}'; }

echo "wrk, $CONNECTIONS connections, $DURATION each, on $(nproc) cores shared with the server"
run healthz "http://127.0.0.1:$PORT/healthz"
run storefront-cached "$URL"
run storefront-cached-stock "$URL_STOCK"
python3 - <<PY
healthz = float(open("/tmp/huakai-bench-healthz").read())
for name in ["storefront-cached", "storefront-cached-stock"]:
    rate = float(open("/tmp/huakai-bench-" + name).read())
    print("%-28s %3.0f%% of healthz" % (name, 100 * rate / healthz))
PY
echo "cache hits $(hits), misses $(misses)"
