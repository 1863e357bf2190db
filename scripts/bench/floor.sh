#!/usr/bin/env bash
# A full `check` against the round-trip floor in three labs (examples/lab.rs),
# each started for its own figure and stopped after it:
#   - the zone without CNAME chains, D = 50 ms;
#   - the zone with Exchange Online's real CNAME chains (--cname: each host
#     behind two aliases, an A record at the end, NODATA with the SOA for AAAA),
#     D = 50 ms;
#   - the same zone with chains at D = 150 ms (a user on another continent).
# For each: the median wall time of RUNS runs (hyperfine), the floor (the lab's
# MD_LAB_FLOOR round trips x D: one DNS round, the TLS handshakes, the replies of
# the cheapest standard login; the longest branch), their ratio, and the address
# questions the lab's DNS server saw per run, host by host (a chain's names
# included): one A and one AAAA per host is the floor.
#
# Usage: scripts/bench/floor.sh   (RUNS=N, default 10). Run by scripts/bench/run.sh,
# which builds the release binary and the lab first.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-10}"
BIN="${BIN:-target/release/mailbox-doctor}"
LAB="${LAB:-target/release/examples/lab}"
OUT=target/bench
mkdir -p "$OUT"

# one D ZONE: one lab, one figure.
one() {
  local d=$1 zone=$2 tag="floor-$2-$1" fifo lab_pid flags=()
  [ "$zone" = cname ] && flags=(--cname)
  fifo="$(mktemp -u)"
  mkfifo "$fifo"
  "$LAB" --delay "$d" "${flags[@]}" <"$fifo" >"$OUT/$tag.lab" &
  lab_pid=$!
  exec 4>"$fifo"
  for _ in $(seq 1 200); do grep -q 'MD_LAB_FLOOR=' "$OUT/$tag.lab" 2>/dev/null && break; sleep 0.05; done
  (
    # shellcheck disable=SC1090
    source <(grep '^export ' "$OUT/$tag.lab")
    export MAILBOX_DOCTOR_PASSWORD=abcdefghijklmnop
    args=(check alice@contoso.com --provider microsoft365
      --smtp "smtp://$MD_LAB_SMTP" --imap "imaps://$MD_LAB_IMAP" --pop "pop3s://$MD_LAB_POP"
      --dns-server "$MD_LAB_DNS" --ca-file "$MD_LAB_CA" --identity-url "$MD_LAB_IDENTITY" --json)
    "$BIN" "${args[@]}" >"$OUT/$tag.json" || true
    hyperfine -N -i --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/$tag-hf.json" \
      "$BIN ${args[*]}" >/dev/null 2>&1
    before=$(wc -l <"$OUT/$tag.lab")
    echo stats >&4
    for _ in $(seq 1 500); do [ "$(wc -l <"$OUT/$tag.lab")" -gt "$before" ] && break; sleep 0.02; done
    stats=$(sed -n "$((before + 1))p" "$OUT/$tag.lab")
    python3 - "$OUT/$tag-hf.json" "$stats" "$d" "$zone" "$MD_LAB_FLOOR" "$((RUNS + 2))" <<'PY'
import json, sys
hf, stats, d, zone, floor, n = sys.argv[1:]
r = json.load(open(hf))["results"][0]
median = r["median"] * 1000
floor_ms = int(floor) * float(d)
asked = json.loads(stats).get("dns_asked", {})
per = ", ".join(f"{k} {v / int(n):g}" for k, v in sorted(asked.items()) if v)
zone_words = "with CNAME chains" if zone == "cname" else "without CNAME chains"
print(f"   zone {zone_words}, D = {d} ms: median {median:.1f} ms (min {r['min']*1000:.1f}, max {r['max']*1000:.1f});"
      f" floor {floor} x {d} = {floor_ms:.0f} ms; ratio {median / floor_ms:.2f}")
print(f"      address questions per run: {per}")
PY
  )
  exec 4>&-
  wait "$lab_pid" 2>/dev/null || true
  rm -f "$fifo"
}

echo "full check against the floor, ${RUNS} runs each (hyperfine -N, median)"
one 50 plain
one 50 cname
one 150 cname
