#!/usr/bin/env bash
# Order placement against the bare-PostgreSQL floor, in one run on one machine (the load of a
# shared machine moves both alike): bench/floor.sh, then bench/orders.sh paid by bank transfer
# and by card, then each order rate as a share of its floor (issue 29's goals: spread at least
# 1/3 of the spread floor, one hot variant at least the hot-row floor).
#
#   bash bench/orders_vs_floor.sh
#   FLOOR_DURATION=30 DURATION=15s bash bench/orders_vs_floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== the floor (bench/floor.sh), load $(cut -d' ' -f1-3 /proc/loadavg)"
DURATION="${FLOOR_DURATION:-30}" bash bench/floor.sh | tee "$OUT/floor"
for method in BANK_TRANSFER CARD; do
  echo "== orders paid by $method (bench/orders.sh), load $(cut -d' ' -f1-3 /proc/loadavg)"
  PAYMENT_METHOD=$method bash bench/orders.sh | tee "$OUT/orders-$method"
done

python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
floor = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(spread|hot)\s+(\d+)", open(f"{out}/floor").read(), re.M)}
print("\n== against the floor (spread %d tx/s, hot %d tx/s)" % (floor["spread"], floor["hot"]))
for method in ("BANK_TRANSFER", "CARD"):
    text = open(f"{out}/orders-{method}").read()
    for run in ("spread", "hot"):
        m = re.search(r"^%s\s+(\d+) orders/s\s+p99 (\S+)" % run, text, re.M)
        if m:
            rate = float(m.group(1))
            print("%-14s %-7s %6d orders/s = %5.1f%% of the %s floor   p99 %s" % (method, run, rate, 100 * rate / floor[run], run, m.group(2)))
PY
