#!/usr/bin/env bash
# The bulk-order benchmark: a union's 中秋 order of 2,000 recipient lines (one parcel each, over
# four variants of two producers), placed through the API on a release build on PostgreSQL, five
# times with new keys; then once more paid from the organisation's fund. The issue's bound: under
# 5 s each.
#
#   bash bench/bulk_order.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
LINES="${LINES:-2000}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18193}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/huakai"
WORK=$(mktemp -d)
DB="huakai_bench_bulk_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$PG/$DB" HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
# Every run's bulk order stays unpaid: room for all of them in the organisation's holds.
export HUAKAI_UNPAID_BULK_ORDERS_PER_ORGANISATION=100 HUAKAI_RESERVED_UNITS_PER_ORGANISATION=10000000
"$BIN" demo load >/dev/null
HUAKAI_USER_PASSWORD="a long operator password" "$BIN" user create --email ops@bench.example --role admin >/dev/null
HUAKAI_USER_PASSWORD="a long union password" "$BIN" user create --email union@bench.example --role buyer >/dev/null
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
ADMIN=$(login union@bench.example "a long union password")
ADMIN_ID=$(gql "$ADMIN" '{ me { id } }' "$(vars '{}')" | field 'd["me"]["id"]')
ORG=$(gql "$OPS" 'mutation { createOrganisation(input: { name: "压测市总工会", kind: UNION }) { organisation { id } } }' "$(vars '{}')" \
  | field 'd["createOrganisation"]["organisation"]["id"]')
gql "$OPS" 'mutation($o: ID!, $u: ID!) { addOrganisationAdmin(organisationId: $o, userId: $u) { userErrors { code } } }' \
  "$(vars "{\"o\": \"$ORG\", \"u\": \"$ADMIN_ID\"}")" >/dev/null
ADMIN=$(login union@bench.example "a long union password") # the token now carries UNION_ADMIN
gql "$OPS" 'mutation($o: ID!) { recordOrganisationDeposit(organisationId: $o, amount: "100000000", reference: "BENCH-1") { userErrors { code } } }' \
  "$(vars "{\"o\": \"$ORG\"}")" >/dev/null

# Four catalogue (目录) variants of two producers, each with stock for every run.
: > "$WORK/variants"
for slug in sanwang-xian-baihe sanwang-baihe-gan huachong-sungan longtan-linxia-xianggu; do
  id=$(gql "" 'query($s: String!) { product(slug: $s) { variants { id } } }' "$(vars "{\"s\": \"$slug\"}")" | field 'd["product"]["variants"][0]["id"]')
  gql "$OPS" 'mutation($id: ID!) { adjustStock(variantId: $id, delta: 100000, reason: "bench") { userErrors { code } } }' \
    "$(vars "{\"id\": \"$id\"}")" >/dev/null
  echo "$id" >> "$WORK/variants"
done

place() { # key method: seconds for one placeBulkOrder of $LINES lines
  python3 - "$ORG" "$1" "$2" "$LINES" "$WORK/variants" <<'PY' > "$WORK/order.json"
import json, sys
org, key, method, lines, variants = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), open(sys.argv[5]).read().split()
recipients = [{"name": "职工%04d" % i, "phone": "138%08d" % i, "province": "湖南省", "city": "株洲市", "district": "芦淞区",
               "line1": "建设路 %d 号" % i, "variantId": variants[i % len(variants)], "quantity": 1 + i % 3} for i in range(lines)]
print(json.dumps({"query": "mutation($input: BulkOrderInput!) { placeBulkOrder(input: $input) { order { status } userErrors { code } } }",
                  "variables": {"input": {"organisationId": org, "recipients": recipients, "idempotencyKey": key, "paymentMethod": method}}}))
PY
  curl -s -o "$WORK/answer.json" -w '%{time_total}' "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
    -H "authorization: Bearer $ADMIN" --data-binary @"$WORK/order.json"
  python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); o = a["data"]["placeBulkOrder"]; sys.exit(json.dumps(a)) if o["userErrors"] else None' "$WORK/answer.json"
}

echo "placeBulkOrder, $LINES recipient lines over $(wc -l < "$WORK/variants") variants, release build on PostgreSQL, $(nproc) cores"
times=()
for run in $(seq 1 "$RUNS"); do
  t=$(place "bank-$run" BANK_TRANSFER)
  times+=("$t")
  printf '  bank transfer, run %d: %.2f s\n' "$run" "$t"
done
printf '  paid from the fund:    %.2f s\n' "$(place fund-1 ORGANISATION_FUND)"
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "median %.2f s, slowest %.2f s\n", a[int((NR + 1) / 2)], a[NR]}'
psql "$PG/$DB" -Atc "SELECT 'shipments: ' || count(*) || ', with distinct codes: ' || count(DISTINCT acceptance_code) FROM shipments WHERE acceptance_code IS NOT NULL"
