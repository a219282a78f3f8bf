#!/usr/bin/env bash
# `huakai catalogue import` of a 5,000-row 目录 list (1,000 products of 5 variants under 1,000
# catalogue entries) into the demo catalogue, on SQLite and on PostgreSQL: a first import that
# creates every row, then the same file again, which updates every row (price and stock).
#
#   bash bench/catalogue_import.sh                 # the debug build, ROWS=5000
#   PROFILE=release bash bench/catalogue_import.sh
#   POSTGRES=postgres://postgres@127.0.0.1:5432 bash bench/catalogue_import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
PROFILE="${PROFILE:-debug}"
ROWS="${ROWS:-5000}"
POSTGRES="${POSTGRES:-postgres://postgres@127.0.0.1:5432}"
if [ "$PROFILE" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
BIN="$CARGO_TARGET_DIR/$PROFILE/huakai"

DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
export HUAKAI_MEDIA_DIR="$DIR/media"   # the demo pictures
FILE="$DIR/mulu.csv"
{
  printf '\xef\xbb\xbfcatalogue_code,product_slug,product_name,category_slug,producer_slug,village_slug,issuer,valid_from,valid_to,variant_sku,variant_name,price,stock\r\n'
  for ((i = 0; i < ROWS; i++)); do
    p=$((i / 5))
    printf 'BENCH-%05d,bench-product-%05d,测试商品 %d,shucai,sanwang-baihe-hezuoshe,,渌口区农业农村局,2026-01-01,2028-12-31,BENCH-%06d,规格 %d,%d.%02d,%d\r\n' \
      "$p" "$p" "$p" "$i" "$((i % 5))" "$((10 + i % 90))" "$((i % 100))" "$((i % 50))"
  done
} > "$FILE"
printf '%s rows, %s KiB; load average %s\n' "$ROWS" "$(( $(stat -c %s "$FILE") / 1024 ))" "$(cut -d' ' -f1-3 /proc/loadavg)"

timed() {
  local label=$1 url=$2 started ended
  started=$(date +%s.%N)
  DATABASE_URL="$url" RUST_LOG=warn "$BIN" catalogue import "$FILE" 2>"$DIR/progress" >"$DIR/out"
  ended=$(date +%s.%N)
  printf '%-28s %6.2f s  %s (%s progress lines)\n' "$label" "$(echo "$ended - $started" | bc)" \
    "$(cat "$DIR/out")" "$(grep -c 'rows written' "$DIR/progress")"
}

run_on() {
  local name=$1 url=$2
  DATABASE_URL="$url" RUST_LOG=warn "$BIN" migrate >/dev/null
  DATABASE_URL="$url" RUST_LOG=warn "$BIN" demo load >/dev/null
  timed "$name, every row new" "$url"
  timed "$name, every row again" "$url"
}

run_on sqlite "sqlite://$DIR/bench.db?mode=rwc"
DB="huakai_import_bench_$$"
if psql "$POSTGRES/postgres" -qc "CREATE DATABASE $DB" 2>/dev/null; then
  run_on postgresql "$POSTGRES/$DB"
  psql "$POSTGRES/postgres" -qc "DROP DATABASE $DB"
else
  echo "postgresql: $POSTGRES is not reachable; skipped"
fi
