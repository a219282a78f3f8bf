#!/usr/bin/env bash
# The livestream benchmark, release build on PostgreSQL with Redis, wrk on the same cores:
#  1. a flash sale: 64 buyers ordering one live session item through its code, against the same
#     buyers spread over 100 ordinary variants; then a quota of 500 (10 per buyer) sold out under the same load,
#     checked for units sold beyond it (must be 0);
#  2. `GET /l/{code}` (a promo link's redirect, counting its click) against `GET /healthz`.
#
#   bash bench/livestream.sh          # 15 s per run
#   HUAKAI_BIN=/path/huakai bash bench/livestream.sh   # a binary built before, side by side
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
BUYERS=64
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${HUAKAI_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PORT="${PORT:-18192}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
for tool in wrk bc; do
  command -v $tool >/dev/null || { apt-get install -y $tool >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y $tool >/dev/null; }; }
done
if [ -z "${HUAKAI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN="${HUAKAI_BIN:-$CARGO_TARGET_DIR/release/huakai}"
WORK=$(mktemp -d)
DB="huakai_bench_live_$$"
PREFIX="huakai-bench-live-$$:"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "{$PREFIX}*" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" REDIS_URL="$REDIS" HUAKAI_REDIS_PREFIX="$PREFIX" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
# A load test holds many unpaid orders per buyer: the per-buyer holds are raised. Its buyers all
# register from one address: so is that limit (at 10, the other 54 buyers got no token, and
# their orders were refused as unauthenticated: the flash sale sold 10 buyers × 10 units).
export HUAKAI_RESERVATION_TTL=1h HUAKAI_UNPAID_ORDERS_PER_BUYER=1000000 HUAKAI_RESERVED_UNITS_PER_BUYER=1000000 \
  HUAKAI_RESERVED_UNITS_PER_VARIANT=1000000 HUAKAI_REGISTRATIONS_PER_ADDRESS=1000000
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD="a long operator password" "$BIN" user create --email ops@bench.example --role admin >/dev/null
HUAKAI_USER_PASSWORD="a long host password" "$BIN" user create --email host@bench.example --role host >/dev/null
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
# A session of one item, approved by the operator; prints the code of its link.
live_session() { # variant quota per-buyer-limit
  local now ends session item
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ); ends=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
  session=$(gql "$HOST" 'mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) { session { id items { id } } } }' \
    "{\"input\": {\"title\": \"压测直播\", \"startsAt\": \"$now\", \"endsAt\": \"$ends\", \"items\": [{\"variantId\": \"$1\", \"price\": \"9.90\", \"quota\": $2, \"perBuyerLimit\": $3}]}}")
  item=$(field scheduleLiveSession.session.items.0.id <<<"$session")
  gql "$OPS" 'mutation($id: ID!) { approveLiveSessionItem(itemId: $id) { userErrors { code } } }' "{\"id\": \"$item\"}" >/dev/null
  gql "$HOST" 'mutation($id: ID!) { createPromoLink(input: { sessionId: $id }) { promoLink { code } } }' \
    "{\"id\": \"$(field scheduleLiveSession.session.id <<<"$session")\"}" | field createPromoLink.promoLink.code
}

: > "$WORK/spread"
for p in 1 2 3 4 5; do make_product "bench-spread-$p" "SPREAD$p" 20 1000000 >> "$WORK/spread"; done
make_product bench-live LIVE 1 1000000 > "$WORK/live"
make_product bench-flash FLASH 1 1000000 > "$WORK/flash"
LIVE_CODE=$(live_session "$(cat "$WORK/live")" 100000 100000)
FLASH_CODE=$(live_session "$(cat "$WORK/flash")" 500 10)

: > "$WORK/tokens"
for i in $(seq 1 $BUYERS); do
  gql "" 'mutation($input: RegisterInput!) { register(input: $input) { token } }' \
    "{\"input\": {\"email\": \"buyer$i@bench.example\", \"password\": \"a long buyer password\", \"displayName\": \"买家$i\"}}" \
    | field register.token >> "$WORK/tokens"
done

orders() { psql "$PG/$DB" -Atc "SELECT count(*) FROM orders"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$0 ~ "^"m {s += $2} END {print s + 0}'; }
run() { # name variants-file code
  local before after out secs statements0 batched0 batches0
  before=$(orders); statements0=$(metric huakai_db_statement_duration_seconds_count)
  batched0=$(metric huakai_placing_batch_orders_sum); batches0=$(metric huakai_placing_batch_orders_count)
  out=$(TOKENS_FILE="$WORK/tokens" VARIANTS_FILE="$2" REFERRAL_CODE="$3" wrk -t2 -c$BUYERS -d"$DURATION" --latency -s bench/place_order.lua "http://127.0.0.1:$PORT/graphql")
  after=$(orders)
  secs=${DURATION%s}
  printf '%-8s %8.0f orders/s   p99 %s   (%d orders)   %s statements/order, %s orders per batch\n' \
    "$1" "$(echo "($after - $before) / $secs" | bc -l)" "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$((after - before))" \
    "$(echo "scale=1; ($(metric huakai_db_statement_duration_seconds_count) - $statements0) / ($after - $before + 1)" | bc)" \
    "$(echo "scale=1; ($(metric huakai_placing_batch_orders_sum) - $batched0) / ($(metric huakai_placing_batch_orders_count) - $batches0 + 0.001)" | bc)"
  echo $(( (after - before) / secs )) > "$WORK/rate-$1"
}

echo "wrk, $BUYERS buyers (connections), $DURATION each, on $(nproc) cores shared with the server"
run spread "$WORK/spread" ""
run session "$WORK/live" "$LIVE_CODE"
python3 -c 'import sys; print("session / spread: %.0f%%" % (100 * float(sys.argv[1]) / float(sys.argv[2])))' \
  "$(cat "$WORK/rate-session")" "$(cat "$WORK/rate-spread")"
DURATION=10s run flash "$WORK/flash" "$FLASH_CODE" >/dev/null
psql "$PG/$DB" -Atc "
  WITH item AS (SELECT i.* FROM live_session_items i JOIN variants v ON v.id = i.variant_id WHERE v.sku = 'FLASH-00'),
       held AS (SELECT p.buyer_id, sum(p.quantity) AS units FROM session_purchases p JOIN item ON p.item_id = item.id
                WHERE p.released_at IS NULL GROUP BY p.buyer_id)
  SELECT 'flash sale, quota ' || item.quota || ', limit ' || item.per_buyer_limit || ' per buyer: '
         || (SELECT coalesce(sum(units), 0) FROM held) || ' units sold, '
         || greatest((SELECT coalesce(sum(units), 0) FROM held) - item.quota, 0) || ' over quota, remaining '
         || item.remaining || ', most by one buyer ' || (SELECT coalesce(max(units), 0) FROM held)
  FROM item"
psql "$PG/$DB" -Atc "SELECT 'general stock of the flash variant: ' || (s.on_hand - s.reserved) || ' available (1000000 - 500 set aside)'
  FROM stock_levels s JOIN variants v ON v.id = s.variant_id WHERE v.sku = 'FLASH-00'"

# Redirects against the process's own liveness probe.
LINK=$(gql "$HOST" 'mutation($id: ID!) { createPromoLink(input: { productId: $id }) { promoLink { code } } }' \
  "{\"id\": \"$(gql "" '{ product(slug: "sanwang-xian-baihe") { id } }' '{}' | field product.id)\"}" | field createPromoLink.promoLink.code)
rate() { wrk -t2 -c$BUYERS -d"$DURATION" "$1" | awk '/Requests\/sec/ {print $2}'; }
HEALTHZ=$(rate "http://127.0.0.1:$PORT/healthz")
REDIRECT=$(rate "http://127.0.0.1:$PORT/l/$LINK")
python3 -c 'import sys; h, r = map(float, sys.argv[1:]); print("/healthz %.0f req/s, /l/{code} %.0f req/s: %.0f%%" % (h, r, 100 * r / h))' "$HEALTHZ" "$REDIRECT"
sleep 2
psql "$PG/$DB" -Atc "SELECT 'clicks written: ' || clicks FROM promo_links WHERE code = '$LINK'"
