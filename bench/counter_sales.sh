#!/usr/bin/env bash
# The counter benchmark: recordCounterSale at one relief supermarket's shelf from 8 tills at
# once (8 wrk connections, one clerk), one unit of one of four variants a sale, paid in cash;
# on PostgreSQL, a release build by default (BUILD=debug for the test build). Prints sales per
# second and the latency distribution, then checks the shelf and the ledger add up.
#
#   bash bench/counter_sales.sh            # DURATION=20s TILLS=8
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-20s}"
TILLS="${TILLS:-8}"
BUILD="${BUILD:-release}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18194}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
if [ "$BUILD" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
BIN="$CARGO_TARGET_DIR/$BUILD/huakai"
WORK=$(mktemp -d)
DB="huakai_bench_counter_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD="a long operator password" "$BIN" user create --email ops@bench.example --role admin >/dev/null
HUAKAI_USER_PASSWORD="a long clerk password" "$BIN" user create --email clerk@bench.example --role buyer >/dev/null
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

gql() { # token query variables-json-file: the answer's data, or the whole answer on stderr and exit
  curl -sf "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${1:+-H "authorization: Bearer $1"} \
    --data-binary @<(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.load(open(sys.argv[2]))}))' "$2" "$3") \
    | python3 -c 'import json, sys; a = json.load(sys.stdin); sys.exit(json.dumps(a)) if a.get("errors") else print(json.dumps(a["data"]))'
}
field() { python3 -c "import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }
vars() { echo "$1" > "$WORK/vars.json"; echo "$WORK/vars.json"; }
login() { gql "" 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }' "$(vars "{\"e\": \"$1\", \"p\": \"$2\"}")" | field 'd["login"]["token"]'; }
OPS=$(login ops@bench.example "a long operator password")
CLERK=$(login clerk@bench.example "a long clerk password")
CLERK_ID=$(gql "$CLERK" '{ me { id } }' "$(vars '{}')" | field 'd["me"]["id"]')
STORE=$(gql "$OPS" 'mutation { createStore(input: { slug: "bench", name: "压测扶贫超市", address: "龙门镇 1 号" }) { store { id } } }' \
  "$(vars '{}')" | field 'd["createStore"]["store"]["id"]')
gql "$OPS" 'mutation($s: ID!, $u: ID!) { addStoreClerk(storeId: $s, userId: $u) { userErrors { code } } }' \
  "$(vars "{\"s\": \"$STORE\", \"u\": \"$CLERK_ID\"}")" >/dev/null

# Four variants, each with 200,000 units moved to the shelf.
: > "$WORK/variants"
for slug in sanwang-xian-baihe sanwang-baihe-gan huachong-sungan longtan-linxia-xianggu; do
  id=$(gql "" 'query($s: String!) { product(slug: $s) { variants { id } } }' "$(vars "{\"s\": \"$slug\"}")" | field 'd["product"]["variants"][0]["id"]')
  gql "$OPS" 'mutation($id: ID!) { adjustStock(variantId: $id, delta: 200000, reason: "bench") { userErrors { code } } }' \
    "$(vars "{\"id\": \"$id\"}")" >/dev/null
  gql "$OPS" 'mutation($s: ID!, $v: ID!) { transferStock(input: { storeId: $s, variantId: $v, quantity: 100000 }) { userErrors { code } } }' \
    "$(vars "{\"s\": \"$STORE\", \"v\": \"$id\"}")" >/dev/null
  gql "$OPS" 'mutation($s: ID!, $v: ID!) { transferStock(input: { storeId: $s, variantId: $v, quantity: 100000 }) { userErrors { code } } }' \
    "$(vars "{\"s\": \"$STORE\", \"v\": \"$id\"}")" >/dev/null
  echo "$id" >> "$WORK/variants"
done

echo "recordCounterSale, $TILLS tills on one store's shelf (4 variants), $BUILD build on PostgreSQL, $(nproc) cores shared with the server, $DURATION"
STORE_ID="$STORE" TOKEN="$CLERK" VARIANTS_FILE="$WORK/variants" \
  wrk -t2 -c"$TILLS" -d"$DURATION" --latency -s bench/counter_sale.lua "http://127.0.0.1:$PORT/graphql" 2>"$WORK/refused.txt" \
  | grep -E 'Requests/sec|Latency|50%|90%|99%|requests in'
echo "answers that were not a sale: $(wc -l < "$WORK/refused.txt")"
# What they were, most common first (a status line or a GraphQL answer each).
sort "$WORK/refused.txt" | uniq -c | sort -rn | head -3 | cut -c1-300
psql "$PG/$DB" -Atc "SELECT 'sales: ' || count(*) || ', units off the shelf: ' || -(SELECT COALESCE(sum(delta), 0) FROM shelf_movements WHERE reason = 'counter sale') || ', on the shelf now: ' || (SELECT sum(on_shelf) FROM shelf_stock) FROM counter_sales"
