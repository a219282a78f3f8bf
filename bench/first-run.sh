#!/usr/bin/env bash
# A newcomer's first run: the time from starting the release binary in an empty folder (the
# embedded default: it creates huakai.db, migrates it and loads the demo shop) to its first
# GraphQL answer, then the same with the database already there; and the binary's size.
#
#   bash bench/first-run.sh            # uses the release build (builds it if needed)
#   COLD_BUILD=1 bash bench/first-run.sh
#                                      # also times a cold `cargo build --release` in a fresh
#                                      # target folder, deleted afterwards (about 10 minutes
#                                      # on 2 cores: run it when nothing else is building)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huakai-target}"
PORT="${PORT:-18191}"

if [ "${COLD_BUILD:-}" = 1 ]; then
  COLD="$(mktemp -d /var/tmp/huakai-cold-XXXX)"
  started=$(date +%s.%N)
  CARGO_TARGET_DIR="$COLD" cargo build --release --quiet
  ended=$(date +%s.%N)
  printf 'cold cargo build --release: %.0f s on %s cores\n' "$(echo "$ended - $started" | bc)" "$(nproc)"
  rm -rf "$COLD"
fi
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/huakai"
printf 'binary: %s MiB\n' "$(( $(stat -c %s "$BIN") / 1048576 ))"

DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
first_answer() {
  local started ended server
  started=$(date +%s.%N)
  (cd "$DIR" && exec env -u DATABASE_URL -u REDIS_URL HUAKAI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn "$BIN" 2>/dev/null) &
  server=$!
  until curl -sf -m 2 "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
      -d '{"query":"{ products(first: 1) { totalCount } }"}' 2>/dev/null | grep -q totalCount; do
    sleep 0.01
  done
  ended=$(date +%s.%N)
  kill "$server"; wait "$server" 2>/dev/null || true
  printf '%s: first answer after %.2f s\n' "$1" "$(echo "$ended - $started" | bc)"
}
first_answer "empty folder (creates, migrates and fills huakai.db)"
first_answer "second start (huakai.db there)"
