#!/usr/bin/env bash
# The `signins --graph` memory benchmark (figures, never a timed test): the
# simulated Microsoft Graph (examples/graph_sim.rs) serves ROWS made-up sign-ins
# (the tests' generator) over HTTPS on 127.0.0.1 in pages of 1,000, and
# `mailbox-doctor signins --graph` reads them all under GNU time: rows read, wall
# time, and the reader's peak resident memory (the server runs in its own
# process and is not counted).
#
# Usage: scripts/bench/signins_graph.sh   (ROWS=N, default 1000000; PROFILE=debug
#        or release, default release). Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${ROWS:-1000000}"
PROFILE="${PROFILE:-release}"
OUT=target/bench/signins-graph
mkdir -p "$OUT"
if [ "$PROFILE" = release ]; then
  cargo build --release --quiet --bin mailbox-doctor --example graph_sim
else
  cargo build --quiet --bin mailbox-doctor --example graph_sim
fi
DIR=target/$PROFILE
TOKEN="bench-token-$$"
# The server serves until its standard input closes: a FIFO held open by this script.
rm -f "$OUT/in"
mkfifo "$OUT/in"
"$DIR/examples/graph_sim" "$ROWS" "$OUT/ca.pem" "$TOKEN" < "$OUT/in" > "$OUT/url" &
SIM=$!
exec 3> "$OUT/in"
trap 'exec 3>&-; wait "$SIM" 2>/dev/null || true; rm -f "$OUT/in"' EXIT
for _ in $(seq 100); do
  [ -s "$OUT/url" ] && break
  sleep 0.1
done
URL=$(head -n 1 "$OUT/url")
set +e
echo "$TOKEN" | /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$DIR/mailbox-doctor" signins \
  --graph --token-stdin --graph-url "$URL" --ca-file "$OUT/ca.pem" --json \
  --now 2026-12-01 --expected-country DE,AT --graph-deadline 3600 > "$OUT/report.json"
code=$?
set -e
read -r secs kb < <(tail -n 1 "$OUT/time.txt")
read_rows=$(grep -m1 '"rows_read"' "$OUT/report.json" | tr -dc 0-9)
pages=$(grep -m1 '"pages"' "$OUT/report.json" | tr -dc 0-9)
awk -v r="$read_rows" -v p="$pages" -v s="$secs" -v k="$kb" -v c="$code" -v f="$PROFILE" 'BEGIN {
  printf "signins --graph (%s build): %s rows in %s pages, %.1f s = %.0f rows/s, peak RSS %.1f MB, exit %d\n", f, r, p, s, (s > 0 ? r / s : 0), k / 1024, c }'
