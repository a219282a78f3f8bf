#!/usr/bin/env bash
# The order benchmark: orders per second on one hot variant against orders spread over 100
# variants, 64 concurrent buyers, release build on PostgreSQL with Redis; the storefront cache
# hit ratio while the hot run goes on; then a flash sale of limited stock checked for oversell.
# Beside each run's rate: the server's and PostgreSQL's CPU per order (from /proc: the server
# process, and the bench database's backends), statements per order (the server's own count)
# and how many of PostgreSQL's active backends were waiting on a lock (sampled every 50 ms).
#
#   bash bench/orders.sh                        # 15 s per run, bank transfer
#   PAYMENT_METHOD=CARD bash bench/orders.sh    # card, against bench/stripe_stand_in.py
#   HUAKAI_BIN=/path/huakai bash bench/orders.sh  # a binary built before, side by side
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
BUYERS=64
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${HUAKAI_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PORT="${PORT:-18191}"
PAYMENT_METHOD="${PAYMENT_METHOD:-BANK_TRANSFER}"
export PAYMENT_METHOD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
for tool in wrk bc; do
  command -v $tool >/dev/null || { apt-get install -y $tool >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y $tool >/dev/null; }; }
done
if [ -z "${HUAKAI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN="${HUAKAI_BIN:-$CARGO_TARGET_DIR/release/huakai}"
WORK=$(mktemp -d)
DB="huakai_bench_orders_$$"
PREFIX="huakai-bench-orders-$$:"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
# Every 50 ms: the bench database's active backends and those of them waiting on a lock. In a
# process group of its own, which stop_sampler ends whole: killing the background job alone left
# its loop and psql running (querying through every later run, and holding the script's output
# open, so that a pipe from it never ended).
sample_locks() { # file
  setsid bash -c 'while :; do echo "$1"; sleep 0.05; done | psql "$2" -At -F" " > "$3" 2>/dev/null' _ \
    "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid();" \
    "$PG/postgres" "$1" &
  SAMPLER=$!
}
stop_sampler() {
  if [ -n "${SAMPLER:-}" ]; then kill -- "-$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; fi
  SAMPLER=
}

cleanup() {
  stop_sampler
  [ -n "${STRIPE:-}" ] && kill "$STRIPE" 2>/dev/null || true
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "{$PREFIX}*" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" REDIS_URL="$REDIS" HUAKAI_REDIS_PREFIX="$PREFIX" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
# A load test holds many unpaid orders per buyer, and registers all its buyers from one
# address: those limits are raised (at their defaults most requests were refused, not placed).
export HUAKAI_RESERVATION_TTL=1h HUAKAI_UNPAID_ORDERS_PER_BUYER=1000000 HUAKAI_RESERVED_UNITS_PER_BUYER=1000000 \
  HUAKAI_RESERVED_UNITS_PER_VARIANT=1000000 HUAKAI_REGISTRATIONS_PER_ADDRESS=1000000
if [ "$PAYMENT_METHOD" = CARD ]; then
  python3 bench/stripe_stand_in.py $((PORT + 1)) &
  STRIPE=$!
  export STRIPE_SECRET_KEY=sk_test_bench STRIPE_WEBHOOK_SECRET=whsec_bench STRIPE_API_BASE="http://127.0.0.1:$((PORT + 1))"
fi
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD="a long operator password" "$BIN" user create --email ops@bench.example --role admin >/dev/null
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

gql() { # token query variables-json
  curl -sf "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${1:+-H "authorization: Bearer $1"} \
    -d "$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$2" "$3")"
}
OPS=$(gql "" 'mutation { login(email: "ops@bench.example", password: "a long operator password") { token } }' '{}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["login"]["token"])')

# 100 spread variants (5 products x 20) and one hot variant, each with ample stock.
make_product() { # slug skuprefix count stock
  python3 - "$1" "$2" "$3" "$4" <<'PY' > "$WORK/input.json"
import json, sys
slug, prefix, count, stock = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"input": {"slug": slug, "name": "压测商品 " + slug, "categorySlug": "shucai", "producerSlug": "sanwang-baihe-hezuoshe",
  "variants": [{"sku": "%s-%02d" % (prefix, i), "name": "规格 %d" % i, "price": "%d.90" % (10 + i), "stock": stock} for i in range(count)]}}))
PY
  gql "$OPS" 'mutation($input: NewProductInput!) { createProduct(input: $input) { product { variants { id } } userErrors { code } } }' "$(cat "$WORK/input.json")" \
    | python3 -c 'import json, sys; [print(v["id"]) for v in json.load(sys.stdin)["data"]["createProduct"]["product"]["variants"]]'
}
: > "$WORK/spread"
for p in 1 2 3 4 5; do make_product "bench-spread-$p" "SPREAD$p" 20 1000000 >> "$WORK/spread"; done
make_product bench-hot HOT 1 1000000 > "$WORK/hot"

: > "$WORK/tokens"
for i in $(seq 1 $BUYERS); do
  gql "" 'mutation($input: RegisterInput!) { register(input: $input) { token } }' \
    "{\"input\": {\"email\": \"buyer$i@bench.example\", \"password\": \"a long buyer password\", \"displayName\": \"买家$i\"}}" \
    | python3 -c 'import json, sys; t = json.load(sys.stdin)["data"]["register"]["token"]; sys.exit("no token") if t is None else print(t)' >> "$WORK/tokens"
done

orders() { psql "$PG/$DB" -Atc "SELECT count(*) FROM orders"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$0 ~ "^"m {s += $2} END {print s + 0}'; }

# CPU ticks (1/100 s) used so far by the server, and by the bench database's backends.
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
backend_ticks() {
  for pid in $(psql "$PG/postgres" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$DB'"); do
    [ -r "/proc/$pid/stat" ] && echo "$pid $(awk '{print $14 + $15}' "/proc/$pid/stat")"
  done
}
run() { # name variants-file
  local before after out secs server0 statements0 batched0 batches0 placed
  before=$(orders); server0=$(server_ticks); backend_ticks > "$WORK/pg0"; statements0=$(metric huakai_db_statement_duration_seconds_count)
  batched0=$(metric huakai_placing_batch_orders_sum); batches0=$(metric huakai_placing_batch_orders_count)
  sample_locks "$WORK/locks-$1"
  out=$(TOKENS_FILE="$WORK/tokens" VARIANTS_FILE="$2" wrk -t2 -c$BUYERS -d"$DURATION" --latency -s bench/place_order.lua "http://127.0.0.1:$PORT/graphql")
  stop_sampler
  after=$(orders)
  secs=${DURATION%s}
  placed=$((after - before))
  backend_ticks > "$WORK/pg1"
  printf '%-8s %8.0f orders/s   p99 %s   (%d orders)   %s\n' "$1" "$(echo "$placed / $secs" | bc -l)" "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$placed" \
    "$(python3 - "$placed" "$((($(server_ticks) - server0)))" "$(($(metric huakai_db_statement_duration_seconds_count) - statements0))" "$WORK/pg0" "$WORK/pg1" "$WORK/locks-$1" \
      "$(($(metric huakai_placing_batch_orders_sum) - batched0))" "$(($(metric huakai_placing_batch_orders_count) - batches0))" <<'PY'
import sys
placed, server, statements = (max(1, int(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]))
batched, batches = int(sys.argv[7]), int(sys.argv[8])
read = lambda path: dict(line.split() for line in open(path) if line.strip())
before, after = read(sys.argv[4]), read(sys.argv[5])
backends = sum(int(t) - int(before.get(pid, 0)) for pid, t in after.items())
samples = [tuple(map(int, line.split())) for line in open(sys.argv[6]) if len(line.split()) == 2]
active = sum(a for a, _ in samples) / max(1, len(samples))
waiting = sum(w for _, w in samples) / max(1, len(samples))
print("server %.2f ms CPU/order, PostgreSQL %.2f ms CPU/order, %.1f statements/order, backends active %.1f of which waiting on a lock %.1f, %s"
      % (10 * server / placed, 10 * backends / placed, statements / placed, active, waiting,
         "%.1f orders per batch" % (batched / batches) if batches else "no batches"))
PY
)"
  echo $(( placed / secs )) > "$WORK/rate-$1"
}

echo "wrk, $BUYERS buyers (connections), $DURATION each, on $(nproc) cores shared with the server"
run spread "$WORK/spread"

# The hot run, with shoppers reading the hot product's page (stock included) meanwhile.
HOT_PAGE="http://127.0.0.1:$PORT/graphql?query=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("{ product(slug: \"bench-hot\") { name inStock priceRange { min { amount } } variants { id sku price { amount } available } } }"))')"
curl -sf "$HOT_PAGE" >/dev/null
HITS=$(metric huakai_cache_hits_total); MISSES=$(metric huakai_cache_misses_total)
wrk -t1 -c8 -d"$DURATION" "$HOT_PAGE" > "$WORK/storefront.txt" &
READERS=$!
run hot "$WORK/hot"
wait $READERS
HITS=$(( $(metric huakai_cache_hits_total) - HITS )); MISSES=$(( $(metric huakai_cache_misses_total) - MISSES ))
python3 - "$(cat "$WORK/rate-hot")" "$(cat "$WORK/rate-spread")" "$HITS" "$MISSES" <<'PY'
import sys
hot, spread, hits, misses = map(float, sys.argv[1:])
print("hot / spread: %.0f%%" % (100 * hot / spread))
print("storefront cache during the hot run: %d hits, %d misses, hit ratio %.1f%%" % (hits, misses, 100 * hits / max(1, hits + misses)))
PY

# A flash sale: 2,000 units, more buyers than units; nothing may be oversold.
make_product bench-flash FLASH 1 2000 > "$WORK/flash"
DURATION=10s run flash "$WORK/flash" >/dev/null
psql "$PG/$DB" -Atc "
  SELECT 'flash sale: ' || count(o.id) || ' orders for 2000 units, on hand ' || s.on_hand || ', reserved ' || s.reserved
         || ', available ' || (s.on_hand - s.reserved)
  FROM variants v JOIN stock_levels s ON s.variant_id = v.id
  LEFT JOIN order_lines l ON l.variant_id = v.id LEFT JOIN orders o ON o.id = l.order_id
  WHERE v.sku = 'FLASH-00' GROUP BY s.on_hand, s.reserved"
psql "$PG/$DB" -Atc "SELECT 'variants below zero anywhere: ' || count(*) FROM stock_levels WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand"
