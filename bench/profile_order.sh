#!/usr/bin/env bash
# What one order costs the database, statement by statement: a release server on a fresh
# database whose statements PostgreSQL logs (`log_statement = all`, for that database only),
# one buyer placing orders one after another (bank transfer, then card against
# bench/stripe_stand_in.py). For each way of paying it prints the median statements and commits
# per `placeOrder` request (authentication included), the statements of one order in the order
# they ran, and whether they ran as named prepared statements that the connection reuses.
#
#   bash bench/profile_order.sh            # 20 orders of each
#   ORDERS=50 bash bench/profile_order.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERS="${ORDERS:-20}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${HUAKAI_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PORT="${PORT:-18291}"
LOG="${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
[ -r "$LOG" ] || { echo "cannot read PostgreSQL's log at $LOG (set PG_LOG)" >&2; exit 1; }
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/huakai"
WORK=$(mktemp -d)
DB="huakai_bench_profile_$$"
PREFIX="huakai-bench-profile-$$:"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  [ -n "${STRIPE:-}" ] && kill "$STRIPE" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "{$PREFIX}*" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 bench/stripe_stand_in.py $((PORT + 1)) &
STRIPE=$!
export DATABASE_URL="$PG/$DB" REDIS_URL="$REDIS" HUAKAI_REDIS_PREFIX="$PREFIX" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
  STRIPE_SECRET_KEY=sk_test_bench STRIPE_WEBHOOK_SECRET=whsec_bench STRIPE_API_BASE="http://127.0.0.1:$((PORT + 1))" \
  HUAKAI_RESERVATION_TTL=1h HUAKAI_UNPAID_ORDERS_PER_BUYER=1000000 HUAKAI_RESERVED_UNITS_PER_BUYER=1000000 \
  HUAKAI_RESERVED_UNITS_PER_VARIANT=1000000
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD="a long operator password" "$BIN" user create --email ops@bench.example --role admin >/dev/null
# Only this database's sessions log their statements, from their first connection on.
psql "$PG/postgres" -qc "ALTER DATABASE $DB SET log_statement = 'all'" >/dev/null
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

gql() { # token query variables-json
  curl -sf "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${1:+-H "authorization: Bearer $1"} \
    -d "$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$2" "$3")"
}
field() { python3 -c "import json, sys; d = json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
OPS=$(gql "" 'mutation { login(email: "ops@bench.example", password: "a long operator password") { token } }' '{}' | field '["data"]["login"]["token"]')
VARIANT=$(gql "$OPS" 'mutation($input: NewProductInput!) { createProduct(input: $input) { product { variants { id } } } }' \
  '{"input": {"slug": "bench-profile", "name": "压测商品", "categorySlug": "shucai", "producerSlug": "sanwang-baihe-hezuoshe",
    "variants": [{"sku": "PROFILE-1", "name": "规格", "price": "12.90", "stock": 1000000}]}}' \
  | field '["data"]["createProduct"]["product"]["variants"][0]["id"]')
BUYER=$(gql "" 'mutation($input: RegisterInput!) { register(input: $input) { token } }' \
  '{"input": {"email": "buyer@bench.example", "password": "a long buyer password", "displayName": "买家"}}' | field '["data"]["register"]["token"]')

place() { # method key
  gql "$BUYER" 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }' \
    "{\"input\": {\"lines\": [{\"variantId\": \"$VARIANT\", \"quantity\": 1}], \"idempotencyKey\": \"$2\", \"paymentMethod\": \"$1\",
      \"shippingAddress\": {\"name\": \"李华\", \"phone\": \"13800138000\", \"province\": \"湖南省\", \"city\": \"株洲市\", \"district\": \"渌口区\", \"line1\": \"朱亭镇 8 号\"}}}" \
    | grep -q '"order":{"id"' || { echo "a $1 order was not placed" >&2; exit 1; }
}

echo "PostgreSQL $(psql "$PG/postgres" -tAc 'SHOW server_version'), $ORDERS orders of each, one at a time, one buyer"
for method in BANK_TRANSFER CARD; do
  # A first order warms the connections (their statement caches) and the caches.
  place "$method" "warm-$method"
  : > "$WORK/slices"
  for i in $(seq 1 "$ORDERS"); do
    start=$(stat -c %s "$LOG")
    place "$method" "profile-$method-$i"
    sleep 0.05
    echo "$start $(stat -c %s "$LOG")" >> "$WORK/slices"
  done
  python3 - "$LOG" "$DB" "$method" "$WORK/slices" <<'PY'
import re, statistics, sys
log, db, method, slices = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
line_re = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S*@(\S+) LOG:  (statement|execute ([^:]+)): (.*)$")
orders = []
with open(log, "rb") as f:
    for start, end in (map(int, l.split()) for l in open(slices)):
        f.seek(start)
        statements = []
        for raw in f.read(end - start).decode(errors="replace").splitlines():
            m = line_re.match(raw)
            if m and m.group(2) == db:
                statements.append((m.group(1), m.group(4) or "simple", m.group(5)))
        orders.append(statements)

def commits(statements):
    """COMMITs, and writes outside a transaction (each one commits by itself)."""
    open_txn, count = set(), 0
    for pid, _, sql in statements:
        word = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if word in ("BEGIN", "START"):
            open_txn.add(pid)
        elif word in ("COMMIT", "END"):
            open_txn.discard(pid); count += 1
        elif word == "ROLLBACK":
            open_txn.discard(pid)
        elif word in ("INSERT", "UPDATE", "DELETE", "WITH") and pid not in open_txn:
            count += 1
    return count

counts = [len(o) for o in orders]
median = statistics.median_low(counts)
typical = next(o for o in orders if len(o) == median)
named = sum(1 for o in orders for _, name, _ in o if name.startswith("sqlx_s_"))
unnamed = sum(1 for o in orders for _, name, _ in o if name == "<unnamed>")
names = [name for o in orders for _, name, _ in o if name.startswith("sqlx_s_")]
print(f"\n{method}: {median} statements per order (min {min(counts)}, max {max(counts)}), "
      f"{statistics.median_low([commits(o) for o in orders])} commits per order")
print(f"  prepared: {named} executions of {len(set(names))} named statements, {unnamed} unnamed")
for pid, name, sql in typical:
    print(f"  [{pid}] {sql[:150]}")
PY
done
psql "$PG/postgres" -qc "ALTER DATABASE $DB RESET log_statement" >/dev/null
