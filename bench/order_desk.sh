#!/usr/bin/env bash
# The order desk's benchmark: a PostgreSQL database with the demo catalogue and 1,000,000 orders
# (20,000 buyers, a year of dates, statuses and payment methods mixed as a live shop has them,
# one or two lines each), filled by generate_series in SQL; then EXPLAIN (ANALYZE, BUFFERS) of
# the statements `orders(filter:)` and `ProducerAccount.orders` send for the typical filters
# (the statements as the app writes them: see docs/back-office-orders.md), and a summary of
# their execution times.
#
#   bash bench/order_desk.sh              # ORDERS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERS="${ORDERS:-1000000}"
BUYERS="${BUYERS:-20000}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
# Only the schema is the app's here: any build migrates it.
cargo build --quiet
BIN="$CARGO_TARGET_DIR/debug/huakai"
WORK=$(mktemp -d)
DB="huakai_bench_desk_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export DATABASE_URL="$PG/$DB" RUST_LOG=warn
"$BIN" demo load >/dev/null
sql() { psql "$PG/$DB" -v ON_ERROR_STOP=1 -qAt "$@"; }

echo "filling $ORDERS orders of $BUYERS buyers ..."
START=$(date +%s)
sql <<SQL
INSERT INTO users (email, password_hash, display_name, role, created_at)
SELECT 'buyer' || n || '@bench.example', '!', 'buyer ' || n, 'BUYER', now() - interval '2 years'
FROM generate_series(1, $BUYERS) n;

CREATE TEMP TABLE goods AS
SELECT row_number() OVER (ORDER BY v.id) - 1 AS n, v.id AS variant_id, v.product_id, p.producer_id,
       v.price_fen
FROM variants v JOIN products p ON p.id = v.product_id;

-- Newest last: order n is placed (ORDERS - n) × 31.5 s ago, a year for a million.
INSERT INTO orders (number, buyer_id, status, payment_method, total_fen, idempotency_key,
  ship_name, ship_phone, ship_province, ship_city, ship_district, ship_line1, created_at,
  paid_at, allowance_fen, bulk)
SELECT 'HK' || to_char(at, 'YYYYMMDD') || lpad(upper(to_hex(n)), 10, '0'),
       first_buyer + (n::bigint * 7919) % $BUYERS,
       CASE WHEN n % 100 < 3 THEN 'PAID' WHEN n % 100 < 4 THEN 'PENDING_PAYMENT'
            WHEN n % 100 < 9 THEN 'SHIPPED' WHEN n % 100 < 17 THEN 'CANCELLED'
            WHEN n % 100 < 20 THEN 'REFUNDED' WHEN n % 100 < 50 THEN 'DELIVERED' ELSE 'COMPLETED' END,
       CASE WHEN n / 7 % 20 < 6 THEN 'CARD' WHEN n / 7 % 20 < 11 THEN 'ALIPAY'
            WHEN n / 7 % 20 < 18 THEN 'WECHAT_PAY' ELSE 'BANK_TRANSFER' END,
       0, 'bench-' || n, '李华', '13800138000', '湖南省', '株洲市', '渌口区', '朱亭镇幸福路 8 号', at,
       at, 0, false
FROM generate_series(1, $ORDERS) n,
     LATERAL (SELECT now() - ($ORDERS - n) * interval '31.5 seconds' AS at) dated,
     (SELECT min(id) AS first_buyer FROM users WHERE email LIKE '%@bench.example') buyers;

-- One line each, a second on every third order, of variants spread over every producer.
INSERT INTO order_lines (order_id, variant_id, product_id, producer_id, quantity, unit_price_fen,
  line_total_fen, claimed_quantity)
SELECT o.id, g.variant_id, g.product_id, g.producer_id, 1, g.price_fen, g.price_fen, 0
FROM orders o
JOIN LATERAL (SELECT 0 AS k UNION ALL SELECT 1 WHERE o.id % 3 = 0) extra ON true
JOIN goods g ON g.n = (o.id * 31 + extra.k * 17) % (SELECT count(*) FROM goods);
UPDATE orders o SET total_fen = l.total
FROM (SELECT order_id, sum(line_total_fen) AS total FROM order_lines GROUP BY order_id) l
WHERE l.order_id = o.id;
VACUUM ANALYZE users;
VACUUM ANALYZE orders;
VACUUM ANALYZE order_lines;
SQL
echo "filled in $(( $(date +%s) - START )) s"

# What the typical filters look up first (by unique keys), then the statements the app sends.
BUYER=$(sql -c "SELECT id FROM users WHERE email = 'buyer4242@bench.example'")
PRODUCER=$(sql -c "SELECT producer_id FROM order_lines GROUP BY producer_id ORDER BY count(*) DESC LIMIT 1")
NUMBER=$(sql -c "SELECT number FROM orders WHERE id = (SELECT max(id) / 3 FROM orders)")
CURSOR=$(sql -c "SELECT format('(%L::timestamptz, %s)', created_at, id) FROM orders WHERE id = (SELECT max(id) / 2 FROM orders)")
COLUMNS='"orders"."id", "orders"."number", "orders"."buyer_id", "orders"."status", "orders"."payment_method", "orders"."total_fen", "orders"."idempotency_key", "orders"."referral_code", "orders"."union_id", "orders"."ship_name", "orders"."ship_phone", "orders"."ship_province", "orders"."ship_city", "orders"."ship_district", "orders"."ship_line1", "orders"."ship_postal_code", "orders"."reserved_until", "orders"."created_at", "orders"."paid_at", "orders"."shipped_at", "orders"."delivered_at", "orders"."cancelled_at", "orders"."allowance_fen", "orders"."remainder_method", "orders"."bulk"'
PAGE='ORDER BY "orders"."created_at" DESC, "orders"."id" DESC LIMIT 21'
OF_PRODUCER="\"orders\".\"id\" IN (SELECT \"order_id\" FROM \"order_lines\" WHERE \"order_lines\".\"producer_id\" = $PRODUCER)"
declare -a NAMES QUERIES
add() { NAMES+=("$1"); QUERIES+=("$2"); }
add "no filter, first page" "SELECT $COLUMNS FROM \"orders\" $PAGE"
add "no filter, a page half way (after a cursor)" "SELECT $COLUMNS FROM \"orders\" WHERE (\"orders\".\"created_at\", \"orders\".\"id\") < $CURSOR $PAGE"
add "status PAID" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"status\" IN ('PAID') $PAGE"
add "status PAID or SHIPPED, a page half way" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"status\" IN ('PAID', 'SHIPPED') AND (\"orders\".\"created_at\", \"orders\".\"id\") < $CURSOR $PAGE"
add "number" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"number\" = '$NUMBER' $PAGE"
add "buyer email: the lookup" "SELECT \"users\".\"id\" FROM \"users\" WHERE \"users\".\"email\" = 'buyer4242@bench.example' LIMIT 1"
add "buyer email: the orders" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"buyer_id\" = $BUYER $PAGE"
add "producer (its busiest)" "SELECT $COLUMNS FROM \"orders\" WHERE $OF_PRODUCER $PAGE"
add "payment method ALIPAY" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"payment_method\" = 'ALIPAY' $PAGE"
add "placed in one week of March" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"created_at\" >= (now() - interval '270 days') AND \"orders\".\"created_at\" < (now() - interval '263 days') $PAGE"
add "status CANCELLED, paid by card, in a month" "SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"status\" IN ('CANCELLED') AND \"orders\".\"payment_method\" = 'CARD' AND \"orders\".\"created_at\" >= (now() - interval '90 days') AND \"orders\".\"created_at\" < (now() - interval '60 days') $PAGE"
add "a grower's queue: its PAID orders" "SELECT $COLUMNS FROM \"orders\" WHERE $OF_PRODUCER AND \"orders\".\"status\" IN ('PAID') $PAGE"
add "totalCount, status PAID" "SELECT COUNT(*) AS num_items FROM (SELECT $COLUMNS FROM \"orders\" WHERE \"orders\".\"status\" IN ('PAID')) AS \"sub_query\""
add "totalCount, a grower's queue" "SELECT COUNT(*) AS num_items FROM (SELECT $COLUMNS FROM \"orders\" WHERE $OF_PRODUCER AND \"orders\".\"status\" IN ('PAID')) AS \"sub_query\""
add "totalCount, no filter (every order)" "SELECT COUNT(*) AS num_items FROM (SELECT $COLUMNS FROM \"orders\") AS \"sub_query\""

SUMMARY="$WORK/summary"
for i in "${!NAMES[@]}"; do
  sql -c "${QUERIES[$i]}" >/dev/null # warm the cache, as a desk in use has it
  echo
  echo "== ${NAMES[$i]}"
  echo "${QUERIES[$i]}" | sed "s/$COLUMNS/…/"
  sql -c "EXPLAIN (ANALYZE, BUFFERS) ${QUERIES[$i]}" | tee "$WORK/plan"
  printf '%-48s %s\n' "${NAMES[$i]}" "$(grep -o 'Execution Time: .*' "$WORK/plan")" >> "$SUMMARY"
done
echo
echo "== summary ($ORDERS orders)"
cat "$SUMMARY"
