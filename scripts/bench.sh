#!/usr/bin/env bash
# Benchmarks that print figures (never timed tests):
#   1. a full `check` (dns, tls, smtp, imap, pop, tenant) against the lab, whose
#      servers wait D ms before every reply, versus the round-trip floor (the
#      replies on the longest branch x D);
#   2. start-up: `--version` and `explain`;
#   3. the release binary's size.
# Usage: scripts/bench.sh [D_MS] ; RUNS=N sets the repetitions (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
D="${1:-50}"
RUNS="${RUNS:-7}"
cargo build --release --quiet --bin mailbox-doctor --example lab
BIN=target/release/mailbox-doctor

fifo="$(mktemp -u)"; mkfifo "$fifo"
target/release/examples/lab --delay "$D" < "$fifo" > target/lab.env &
exec 3>"$fifo"
trap 'exec 3>&-; rm -f "$fifo"' EXIT
for _ in $(seq 1 100); do grep -q MD_LAB_FLOOR target/lab.env 2>/dev/null && break; sleep 0.05; done
# shellcheck disable=SC1091
source target/lab.env

ms() { python3 -c 'import time; print(int(time.monotonic()*1000))'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

check_once() {
  "$BIN" check alice@contoso.com --password-stdin --provider microsoft365 \
    --smtp "smtp://$MD_LAB_SMTP" --imap "imaps://$MD_LAB_IMAP" --pop "pop3s://$MD_LAB_POP" \
    --dns-server "$MD_LAB_DNS" --ca-file "$MD_LAB_CA" --identity-url "$MD_LAB_IDENTITY" \
    --json <<< "abcdefghijklmnop" > target/bench-report.json || true
}

check_once # warm-up
times=()
for _ in $(seq 1 "$RUNS"); do
  t0=$(ms); check_once; t1=$(ms); times+=($((t1 - t0)))
done
wall=$(printf '%s\n' "${times[@]}" | median)
floor=$((MD_LAB_FLOOR_ROUND_TRIPS * D))
status=$(python3 -c 'import json; d=json.load(open("target/bench-report.json")); print(d["status"], [c["id"]+":"+c["status"] for c in d["checks"]])')
echo "1. full check, D=${D} ms per reply, ${RUNS} runs"
echo "   replies awaited: smtp ${MD_LAB_SMTP_ROUND_TRIPS}, imap ${MD_LAB_IMAP_ROUND_TRIPS}, pop ${MD_LAB_POP_ROUND_TRIPS}"
echo "   wall time (median): ${wall} ms; floor: ${MD_LAB_FLOOR_ROUND_TRIPS} x ${D} = ${floor} ms; ratio: $(python3 -c "print(f'{${wall}/${floor}:.2f}')")"
echo "   report: ${status}"

startup() {
  local t0 t1 n=50
  t0=$(ms); for _ in $(seq 1 $n); do "$@" > /dev/null || true; done; t1=$(ms)
  python3 -c "print(f'{($t1-$t0)/$n:.1f}')"
}
echo "2. start-up (mean of 50, including process spawn by bash)"
echo "   --version: $(startup "$BIN" --version) ms"
echo "   explain:   $(startup "$BIN" explain '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.') ms"
echo "   true:      $(startup true) ms (the shell's own cost of starting a process)"
echo "3. release binary: $(stat -c %s "$BIN") bytes"
