#!/usr/bin/env bash
# The tool's CPU per mailbox as instructions executed (valgrind's callgrind, which
# counts them exactly and repeatably, whatever else the machine is doing), against
# a lab with no delay (examples/lab.rs --delay 0):
#   - one full check;
#   - `batch` of SMALL and of LARGE mailboxes (full check each, --concurrency 10);
#     per mailbox = the difference over LARGE - SMALL mailboxes, so that start-up
#     (reading the knowledge base, the trust stores) counts once.
# Prints the counts; writes callgrind files to target/bench/ for callgrind_annotate.
#
# Usage: scripts/bench/cpu.sh [BIN]   (default target/release/mailbox-doctor;
#   LAB=path, SMALL=10, LARGE=30, ZONE=plain|cname)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-target/release/mailbox-doctor}"
LAB="${LAB:-target/release/examples/lab}"
SMALL="${SMALL:-10}"
LARGE="${LARGE:-30}"
ZONE="${ZONE:-plain}"
OUT=target/bench
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 2; }

fifo="$(mktemp -u)"
mkfifo "$fifo"
flags=()
[ "$ZONE" = cname ] && flags=(--cname)
"$LAB" --delay 0 "${flags[@]}" <"$fifo" >"$OUT/cpu-lab.out" &
exec 6>"$fifo"
trap 'exec 6>&-; rm -f "$fifo"' EXIT
for _ in $(seq 1 200); do grep -q 'MD_LAB_FLOOR=' "$OUT/cpu-lab.out" 2>/dev/null && break; sleep 0.05; done
# shellcheck disable=SC1090
source <(grep '^export ' "$OUT/cpu-lab.out")
export MD_BENCH_PW=abcdefghijklmnop MAILBOX_DOCTOR_PASSWORD=abcdefghijklmnop
tag=$(basename "$(dirname "$BIN")")

# ir NAME ARGS...: the instructions the tool executed (all threads).
ir() {
  local name=$1
  shift
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cpu-$tag-$name.cg" "$BIN" "$@" \
    >"$OUT/cpu-$tag-$name.out" 2>"$OUT/cpu-$tag-$name.err" || true
  awk '/^summary:|^totals:/ { print $2; exit }' "$OUT/cpu-$tag-$name.cg"
}
csv() {
  {
    echo "email,provider,smtp,imap,pop,password_env"
    for i in $(seq 1 "$1"); do
      echo "user$i@contoso.com,microsoft365,smtp://$MD_LAB_SMTP,imaps://$MD_LAB_IMAP,pop3s://$MD_LAB_POP,MD_BENCH_PW"
    done
  } >"$2"
}
common=(--dns-server "$MD_LAB_DNS" --ca-file "$MD_LAB_CA" --identity-url "$MD_LAB_IDENTITY" --timeout 60 --json)
one=$(ir check check alice@contoso.com --provider microsoft365 --smtp "smtp://$MD_LAB_SMTP" \
  --imap "imaps://$MD_LAB_IMAP" --pop "pop3s://$MD_LAB_POP" "${common[@]}")
csv "$SMALL" "$OUT/cpu-small.csv"
csv "$LARGE" "$OUT/cpu-large.csv"
small=$(ir small batch "$OUT/cpu-small.csv" --concurrency 10 --per-domain 10 "${common[@]}")
large=$(ir large batch "$OUT/cpu-large.csv" --concurrency 10 --per-domain 10 "${common[@]}")
ok=$(grep -c '"status"' "$OUT/cpu-$tag-large.out" || true)
echo "instructions (callgrind, $BIN, zone $ZONE): one full check ${one};" \
  "batch of ${SMALL} ${small}, of ${LARGE} ${large} (${ok} reports);" \
  "per mailbox $(((large - small) / (LARGE - SMALL)))"
