#!/usr/bin/env bash
# The storefront benchmark: what every viewer of a flash sale reloads, against the same
# server's /healthz, 32 connections, wrk on the same machine.
#
# The shop holds the demo catalogue and 180 more products of 2 variants each (200 products);
# the first page of 20 products is the newest ones. While the storefront runs, buyers place and
# cancel orders on six variants of that page, so their stock changes all the time. Each
# request is measured with the cache on (PostgreSQL with Redis, as in production) and with
# HUAKAI_CACHE=off, each server's /healthz beside it; the server's peak resident memory is read
# from /proc when it stops.
#
#   bash bench/storefront.sh            # 15 s per run
#   DURATION=30s bash bench/storefront.sh
#   PROFILE=list-stock-cached BIN=/path/to/unstripped/huakai bash bench/storefront.sh
#                                       # also samples that run with perf (10 s, call graphs)
#                                       # into /tmp/huakai-bench-profile.txt
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${HUAKAI_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PORT="${PORT:-18181}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
# BIN runs a binary built already (one built before a change, side by side).
if [ -z "${BIN:-}" ]; then cargo build --release --quiet; fi
BIN="${BIN:-$CARGO_TARGET_DIR/release/huakai}"

DB="huakai_bench_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
PREFIX="huakai-bench-$$:"
OUT="$(mktemp -d)"
cleanup() {
  [ -n "${ORDERS:-}" ] && kill "$ORDERS" 2>/dev/null && wait "$ORDERS" 2>/dev/null || true
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  for pattern in "$PREFIX*" "{$PREFIX*"; do
    redis-cli -u "$REDIS" --scan --pattern "$pattern" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
  done
  rm -rf "$OUT"
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" HUAKAI_REDIS_PREFIX="$PREFIX" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD='a long bench password' "$BIN" user create --email bench-admin@example.com --role admin >/dev/null
HUAKAI_USER_PASSWORD='a long bench password' "$BIN" user create --email bench-buyer@example.com --role buyer >/dev/null

BASE="http://127.0.0.1:$PORT"
start_server() {
  "$BIN" serve 2>/dev/null &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2; exit 1
}
stop_server() {
  # Peak resident memory (VmHWM) of the server's whole life.
  awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$SERVER/status" > "$OUT/peak-$1"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
}

export REDIS_URL="$REDIS"
start_server

# 180 more products of 2 variants each, with stock no run can exhaust.
python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def gql(query, variables=None, token=None):
    request = urllib.request.Request(base + "/graphql", json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     {"content-type": "application/json", **({"authorization": "Bearer " + token} if token else {})})
    answer = json.load(urllib.request.urlopen(request))
    assert "errors" not in answer, answer
    return answer["data"]
token = gql('mutation { login(email: "bench-admin@example.com", password: "a long bench password") { token } }')["login"]["token"]
for i in range(180):
    created = gql("""mutation($input: NewProductInput!) { createProduct(input: $input) { userErrors { code message } } }""", {"input": {
        "slug": "bench-product-%03d" % i, "name": "压测商品 %03d" % i, "categorySlug": "shuiguo",
        "producerSlug": "changyuan-longxia-hezuoshe", "catalogueCode": None,
        "variants": [{"sku": "BENCH-%03d-%d" % (i, v), "name": "%d kg" % (v + 1), "price": "%d.80" % (20 + v), "weightGrams": 1000, "stock": 1000000} for v in range(2)]}}, token)
    assert created["createProduct"]["userErrors"] == [], created
PY

# The product list: 20 products with village, producer, price range and variants; with stock
# (inStock, available) as a storefront shows it, and without. The product page by slug.
CATALOGUE='{ products(first: 20) { totalCount nodes { id slug name priceRange { min { amount currency } } village { name } producer { name kind } variants { id sku name price { amount currency } } } } }'
WITH_STOCK='{ products(first: 20) { totalCount nodes { id slug name inStock priceRange { min { amount currency } } village { name } producer { name kind } variants { id sku name price { amount currency } available } } } }'
BY_SLUG='{ product(slug: "bench-product-179") { id slug name description inStock catalogueCode priceRange { min { amount currency } max { amount currency } } village { name town } producer { name kind } variants { id sku name price { amount currency } available } } }'
url_of() { echo "$BASE/graphql?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")"; }
URL=$(url_of "$CATALOGUE")
URL_STOCK=$(url_of "$WITH_STOCK")
URL_SLUG=$(url_of "$BY_SLUG")
curl -sf "$URL_STOCK" | python3 -c 'import json, sys; d = json.load(sys.stdin)["data"]["products"]; n = d["nodes"]; assert len(n) == 20, n; print("storefront: %d products; first page %d products, %d variants" % (d["totalCount"], len(n), sum(len(p["variants"]) for p in n)))'

# Buyers placing and cancelling orders on six variants of the first page, as fast as one
# client goes: the stock figures on the measured pages change all the time.
python3 - "$BASE" "$OUT/orders" <<'PY' &
import json, signal, sys, time, urllib.request
base, out = sys.argv[1], sys.argv[2]
def gql(query, variables=None, token=None):
    request = urllib.request.Request(base + "/graphql", json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     {"content-type": "application/json", **({"authorization": "Bearer " + token} if token else {})})
    return json.load(urllib.request.urlopen(request))["data"]
token = gql('mutation { login(email: "bench-buyer@example.com", password: "a long bench password") { token } }')["login"]["token"]
variants = [v["id"] for slug in ("bench-product-179", "bench-product-178", "bench-product-170")
            for v in gql('query($s: String!) { product(slug: $s) { variants { id } } }', {"s": slug})["product"]["variants"]]
address = {"name": "压测", "phone": "13800000000", "province": "广东省", "city": "广州市", "district": "天河区", "line1": "1号"}
placed = 0
def stop(*_):
    open(out, "w").write(str(placed)); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    try:
        order = gql("""mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }""", {"input": {
            "lines": [{"variantId": v, "quantity": 1 + placed % 3} for v in variants[placed % 2::2]],
            "shippingAddress": address, "idempotencyKey": "bench-%d" % placed, "paymentMethod": "BANK_TRANSFER"}}, token)["placeOrder"]
        placed += 1
        if order["order"]:
            gql('mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }', {"id": order["order"]["id"]}, token)
    except OSError:
        # Between the two servers: carry on when the next one answers.
        time.sleep(0.1)
PY
ORDERS=$!

# Redis's own CPU (user + system) during a row, when it runs on this machine: the share of the
# cores a hit's round trip costs outside the server.
REDIS_PID=$(redis-cli -u "$REDIS" info server | awk -F: '/^process_id/ {print $2 + 0}')
redis_cpu_ticks() { if [ -r "/proc/$REDIS_PID/stat" ]; then awk '{print $14 + $15}' "/proc/$REDIS_PID/stat"; else echo 0; fi; }

run() {
  local name=$1 url=$2
  curl -sf "$url" >/dev/null
  local perf=
  if [ "${PROFILE:-}" = "$name" ]; then
    (sleep 2; perf record -q -F 499 -g -p "$SERVER" -o "$OUT/perf.data" -- sleep 10 >/dev/null 2>&1) &
    perf=$!
  fi
  local redis_before; redis_before=$(redis_cpu_ticks)
  local out; out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  if [ -n "$perf" ]; then
    wait "$perf" || true
    perf report -i "$OUT/perf.data" --no-children --percent-limit 0.7 --stdio -g none 2>/dev/null > /tmp/huakai-bench-profile.txt || true
    perf report -i "$OUT/perf.data" --children --percent-limit 3 --stdio -g none 2>/dev/null > /tmp/huakai-bench-profile-children.txt || true
  fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local redis_cpu; redis_cpu=$(awk -v t=$(( $(redis_cpu_ticks) - redis_before )) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')
  printf '%-34s %10s req/s   p99 %-8s Redis CPU %s s\n' "$name" "$rps" "$p99" "$redis_cpu"
  echo "$rps $p99" > "$OUT/run-$name"
}
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {print s + 0}'; }

echo "wrk, $CONNECTIONS connections, $DURATION each, on $(nproc) cores shared with the server, PostgreSQL, Redis and the order client"
run healthz "$BASE/healthz"
run list-catalogue-cached "$URL"
run list-stock-cached "$URL_STOCK"
run by-slug-cached "$URL_SLUG"
echo "cache hits $(metric huakai_cache_hits_total), misses $(metric huakai_cache_misses_total)"
stop_server cached

export HUAKAI_CACHE=off
start_server
run healthz-cache-off "$BASE/healthz"
run list-stock-cache-off "$URL_STOCK"
run by-slug-cache-off "$URL_SLUG"
stop_server off
kill "$ORDERS"; wait "$ORDERS" 2>/dev/null || true; ORDERS=

python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
def run(name):
    rps, p99 = open(os.path.join(out, "run-" + name)).read().split()
    return float(rps), p99
print()
print("| request | req/s | p99 | of the same process's /healthz |")
print("| --- | ---: | ---: | ---: |")
for server, healthz, names in [("cached", "healthz", ["healthz", "list-catalogue-cached", "list-stock-cached", "by-slug-cached"]),
                               ("off", "healthz-cache-off", ["healthz-cache-off", "list-stock-cache-off", "by-slug-cache-off"])]:
    base, _ = run(healthz)
    for name in names:
        rps, p99 = run(name)
        print("| %s | %s | %s | %.0f%% |" % (name, format(round(rps), ","), p99, 100 * rps / base))
print()
print("peak resident memory: %s with the cache (Redis), %s with HUAKAI_CACHE=off" % (
    open(os.path.join(out, "peak-cached")).read(), open(os.path.join(out, "peak-off")).read()))
print("orders placed (and cancelled) during the runs: %s" % open(os.path.join(out, "orders")).read())
PY
