#!/usr/bin/env bash
# The `signins` benchmark (figures, never a timed test): generates made-up Entra
# sign-in log exports of ROWS rows (examples/signins_export.rs, the generator the
# tests use: the portal's CSV with its real header, and the portal's JSON download),
# runs `mailbox-doctor signins` on each under GNU time, and prints rows per second
# and the peak resident memory. The goal is under 50 MB for 250,000 rows.
#
# Usage: scripts/bench/signins.sh   (ROWS=N, default 250000; RUNS=N, default 3;
#        FORMATS="csv json", default both). Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${ROWS:-250000}"
RUNS="${RUNS:-3}"
FORMATS="${FORMATS:-csv json}"
OUT=target/bench/signins
mkdir -p "$OUT"
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  else
    echo "missing: GNU time (/usr/bin/time)" >&2
    exit 2
  fi
fi
cargo build --release --quiet --bin mailbox-doctor --example signins_export
BIN=target/release/mailbox-doctor
for fmt in $FORMATS; do
  file="$OUT/export-$ROWS.$fmt"
  target/release/examples/signins_export "$ROWS" "$fmt" > "$file"
  size=$(stat -c %s "$file")
  echo "signins on $ROWS rows, $fmt, $((size / 1000000)) MB ($file), $RUNS runs:"
  for run in $(seq "$RUNS"); do
    set +e
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" signins "$file" --json \
      --now 2026-12-01 --expected-country DE,AT > "$OUT/report.json"
    code=$?
    set -e
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    read_rows=$(grep -m1 '"rows_read"' "$OUT/report.json" | tr -dc 0-9)
    awk -v r="$read_rows" -v s="$secs" -v k="$kb" -v c="$code" -v n="$run" 'BEGIN {
      printf "  run %d: %s rows in %.2f s = %.0f rows/s, peak RSS %.1f MB, exit %d\n", n, r, s, (s > 0 ? r / s : 0), k / 1024, c }'
  done
  rm -f "$file" # hundreds of MB; the generator makes it again
done
