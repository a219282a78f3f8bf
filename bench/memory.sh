#!/usr/bin/env bash
# The peak memory of the servers a benchmark runs: runs the benchmarks given (all of bench/'s
# server benchmarks by default) and samples, every 200 ms, the peak resident memory (VmHWM) of
# every `huakai serve` process they start. deploy/k8s's requests and limits come from these.
#
#   bash bench/memory.sh                                   # storefront, orders, livestream, overload
#   bash bench/memory.sh bench/orders.sh                   # one of them
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
cargo build --release --quiet
BIN="$(readlink -f "$CARGO_TARGET_DIR/release/huakai")"
[ "$#" -gt 0 ] || set -- bench/storefront.sh bench/orders.sh bench/livestream.sh bench/overload.sh

for bench in "$@"; do
  log="$(mktemp)"
  peaks="$(mktemp)"
  bash "$bench" > "$log" 2>&1 &
  runner=$!
  # Every server process of this binary: its pid and peak (kB), kept at the last reading,
  # since VmHWM only grows.
  while kill -0 "$runner" 2>/dev/null; do
    for status in /proc/[0-9]*/status; do
      pid="${status#/proc/}"; pid="${pid%/status}"
      [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$BIN" ] || continue
      tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q ' serve' || continue
      peak="$(awk '/VmHWM/ {print $2}' "$status" 2>/dev/null || true)"
      [ -n "$peak" ] && echo "$pid $peak" >> "$peaks"
    done
    sleep 0.2
  done
  wait "$runner" || { echo "$bench failed:" >&2; tail -n 20 "$log" >&2; }
  echo "== $bench"
  grep -E 'MiB|req/s|orders/s|tx/s|p99' "$log" | head -n 20 || true
  awk '{ if ($2 > peak[$1]) peak[$1] = $2 } END {
         for (pid in peak) { n++; if (peak[pid] > most) most = peak[pid] }
         printf "servers seen: %d; highest peak resident memory: %.0f MiB\n", n, most / 1024 }' "$peaks"
  rm -f "$log" "$peaks"
done
