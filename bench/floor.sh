#!/usr/bin/env bash
# The bare-PostgreSQL floor that order placement is measured against: what PostgreSQL itself
# does on this machine when each transaction is one INSERT (an order's row) plus one
# conditional UPDATE of a stock row (the oversell guard), with 64 pgbench clients:
#
#   spread   the UPDATE picks one of 100 stock rows at random (orders over 100 variants)
#   hot      every UPDATE hits the same row (one variant in a flash sale)
#
# Prints transactions per second and latency (average, p50, p99 from pgbench's per-transaction
# log) for each, with the load average before and after: the machine is shared, so run it at
# a quiet moment (`uptime` below 1) and read the load beside the figures.
#
#   bash bench/floor.sh                      # 30 s per run
#   DURATION=60 CLIENTS=64 bash bench/floor.sh
set -euo pipefail

DURATION="${DURATION:-30}"
CLIENTS="${CLIENTS:-64}"
THREADS="${THREADS:-2}"
PG="${HUAKAI_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
DB="huakai_floor_$$"
OUT="$(mktemp -d)"

command -v pgbench >/dev/null || { apt-get install -y postgresql-contrib >/dev/null 2>&1 \
  || { apt-get update >/dev/null && apt-get install -y postgresql-contrib >/dev/null; }; }

cleanup() {
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT

psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
# Shaped like the shop's own rows: stock that must never go below zero (a CHECK, as in the
# migrations) and an order row with a generated key and a time.
psql "$PG/$DB" -q >/dev/null <<'SQL'
CREATE TABLE stock (
  id integer PRIMARY KEY,
  available bigint NOT NULL CHECK (available >= 0)
);
CREATE TABLE reservations (
  id bigserial PRIMARY KEY,
  stock_id integer NOT NULL REFERENCES stock (id),
  quantity integer NOT NULL CHECK (quantity > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO stock SELECT id, 1000000000 FROM generate_series(1, 100) AS id;
VACUUM ANALYZE;
SQL

cat > "$OUT/spread.sql" <<'SQL'
\set item random(1, 100)
BEGIN;
INSERT INTO reservations (stock_id, quantity) VALUES (:item, 1);
UPDATE stock SET available = available - 1 WHERE id = :item AND available >= 1;
END;
SQL
sed 's/random(1, 100)/1/' "$OUT/spread.sql" > "$OUT/hot.sql"

echo "pgbench $(pgbench --version | awk '{print $3}'), server $(psql "$PG/postgres" -tAc 'SHOW server_version'), $(nproc) cores"
echo "command: pgbench -n -M prepared -c $CLIENTS -j $THREADS -T $DURATION -f <script> --log"
printf '%-8s %10s %12s %10s %10s  %s\n' run "tx/s" "avg ms" "p50 ms" "p99 ms" "load before -> after"
for run in spread hot; do
  before="$(cut -d' ' -f1 /proc/loadavg)"
  (cd "$OUT" && pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" \
    -f "$OUT/$run.sql" --log --log-prefix="$run" "$PG/$DB" > "$OUT/$run.out" 2>&1)
  after="$(cut -d' ' -f1 /proc/loadavg)"
  tps="$(awk '/^tps = / {printf "%.0f", $3}' "$OUT/$run.out")"
  if [ -z "$tps" ] || [ "$tps" = 0 ]; then
    echo "pgbench did not run (PostgreSQL needs $CLIENTS free connections):" >&2
    tail -n 5 "$OUT/$run.out" >&2
    exit 1
  fi
  average="$(awk '/^latency average/ {print $4}' "$OUT/$run.out")"
  # Each log line: client, transaction, latency in µs, …
  read -r p50 p99 < <(cat "$OUT/$run".* | awk '{print $3}' | sort -n | awk '
    { latency[NR] = $1 }
    END { printf "%.2f %.2f\n", latency[int(NR * 0.50)] / 1000, latency[int(NR * 0.99)] / 1000 }')
  printf '%-8s %10s %12s %10s %10s  %s -> %s\n' "$run" "$tps" "$average" "$p50" "$p99" "$before" "$after"
  # The next run starts from the same table sizes.
  psql "$PG/$DB" -qc "TRUNCATE reservations" -c "UPDATE stock SET available = 1000000000" -c "VACUUM ANALYZE" >/dev/null
done
