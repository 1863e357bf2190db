#!/usr/bin/env bash
# `serve` at scale, against its own lab (examples/lab.rs, D ms per flight):
#   1. start-up: 10,000 configured targets (TARGETS), the time from launch until
#      /-/healthy answers, and the resident memory then (VmRSS);
#   2. PRIME targets probed (a burst of scrapes, each a full check), so that
#      their results are cached;
#   3. a burst of BURST concurrent scrapes of those cached targets: median, p99
#      and max latency as the client sees it (scripts/bench/serve_burst.py,
#      asyncio, connect to last byte), and VmRSS after;
#   4. probing scrapes, one after another, of targets never probed: median
#      against the lab's floor (MD_LAB_FLOOR x D).
# Every scrape is checked: status 200, and cached when it should be.
#
# Usage: scripts/bench/serve.sh [D_MS]   (default 50; TARGETS=10000, PRIME=1000,
# BURST=1000, PROBES=10). Run by scripts/bench/run.sh, which builds first.
set -euo pipefail
cd "$(dirname "$0")/../.."
D="${1:-50}"
TARGETS="${TARGETS:-10000}"
PRIME="${PRIME:-1000}"
BURST="${BURST:-1000}"
PROBES="${PROBES:-10}"
BIN="${BIN:-target/release/mailbox-doctor}"
LAB="${LAB:-target/release/examples/lab}"
OUT=target/bench
mkdir -p "$OUT"

fifo="$(mktemp -u)"
mkfifo "$fifo"
(
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  exec "$LAB" --delay "$D"
) <"$fifo" >"$OUT/serve-lab.out" &
exec 5>"$fifo"
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  exec 5>&-
  rm -f "$fifo"
}
trap cleanup EXIT
for _ in $(seq 1 200); do grep -q 'MD_LAB_FLOOR=' "$OUT/serve-lab.out" 2>/dev/null && break; sleep 0.05; done
# shellcheck disable=SC1090
source <(grep '^export ' "$OUT/serve-lab.out")
export MD_BENCH_PW=abcdefghijklmnop

cfg="$OUT/serve.toml"
{
  echo '[modules.exo]'
  echo "smtp = \"smtp://$MD_LAB_SMTP\""
  echo "imap = \"imaps://$MD_LAB_IMAP\""
  echo "pop = \"pop3s://$MD_LAB_POP\""
  echo 'provider = "microsoft365"'
  echo "dns_server = \"$MD_LAB_DNS\""
  echo "ca_file = \"$MD_LAB_CA\""
  echo "identity_url = \"$MD_LAB_IDENTITY\""
  echo 'timeout = 10'
  echo 'min_interval = "1h"'
  for i in $(seq 1 "$TARGETS"); do
    printf '[[targets]]\naddress = "user%d@contoso.com"\nmodule = "exo"\npassword_env = "MD_BENCH_PW"\n' "$i"
  done
} >"$cfg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
t0=$(date +%s%N)
"$BIN" serve --config "$cfg" --listen "127.0.0.1:$port" --concurrency 200 --per-domain 200 \
  --max-connections 2000 2>"$OUT/serve.err" &
serve_pid=$!
for _ in $(seq 1 2000); do
  curl -fs "http://127.0.0.1:$port/-/healthy" >/dev/null 2>&1 && break
  sleep 0.005
done
t1=$(date +%s%N)
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$serve_pid/status"; }
echo "serve with ${TARGETS} targets (lab D = ${D} ms)"
echo "   start-up until /-/healthy answers: $(((t1 - t0) / 1000000)) ms; RSS then: $(($(rss) / 1024)) MiB ($(rss) KiB)"

summary() { # summary JSON NAME EXPECT_CACHED
  python3 - "$@" <<'PY'
import json, statistics, sys
r, name, want = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
ms = sorted(r["ms"])
p99 = ms[min(len(ms) - 1, int(round(0.99 * len(ms))) - 1)]
bad = {k: v for k, v in r["statuses"].items() if k != "200"}
print(f"   {name}: {len(ms)} scrapes; median {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms;"
      f" {r['cached']} cached" + (f"; NOT 200: {bad}" if bad else ""))
if bad or (want == "all" and r["cached"] != len(ms)):
    sys.exit(1)
PY
}
problems=0
prime=$(python3 scripts/bench/serve_burst.py "$port" burst "$PRIME" 1)
summary "$prime" "priming burst (each a full check, 200 probes at once)" none || problems=1
burst=$(python3 scripts/bench/serve_burst.py "$port" burst "$BURST" 1)
summary "$burst" "burst of ${BURST} concurrent scrapes of cached targets" all || problems=1
echo "   RSS after: $(($(rss) / 1024)) MiB ($(rss) KiB)"
# The same cached scrapes from a client in C (ApacheBench), whose own cost does
# not count in the latencies as Python's does: one at a time (the server's own
# time per scrape), then BURST at once, each on a connection of its own.
if command -v ab >/dev/null 2>&1; then
  url="http://127.0.0.1:$port/probe?target=user1%40contoso.com"
  for c in 1 "$BURST"; do
    ab -q -n "$BURST" -c "$c" "$url" >"$OUT/serve-ab-$c.txt" 2>&1 || problems=1
    awk -v c="$c" '/^Failed requests/ { f = $3 } /^Non-2xx/ { n = $3 } /^  50%/ { p50 = $2 } /^  99%/ { p99 = $2 } /^ 100%/ { mx = $2 }
      END { printf "   ab, %s cached scrapes, %s at a time: p50 %s ms, p99 %s ms, max %s ms; failed %s%s\n", '"$BURST"', c, p50, p99, mx, f, (n ? "; non-2xx " n : "") }' "$OUT/serve-ab-$c.txt"
  done
else
  echo "   ab (apache2-utils) missing: the C client's figures were not taken"
fi
probes=$(python3 scripts/bench/serve_burst.py "$port" each "$PROBES" $((PRIME + 1)))
summary "$probes" "probing scrapes, one after another" none || problems=1
python3 - "$probes" "$MD_LAB_FLOOR" "$D" <<'PY'
import json, statistics, sys
r, floor, d = json.loads(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
m = statistics.median(r["ms"])
print(f"   probing scrape: median {m:.1f} ms; floor {floor} x {d:g} = {floor * d:.0f} ms; ratio {m / (floor * d):.2f}")
PY
exit "$problems"
