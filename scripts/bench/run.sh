#!/usr/bin/env bash
# Benchmarks that print figures (never timed tests), against the lab
# (examples/lab.rs): a simulated Exchange Online on 127.0.0.1 whose every server
# (DNS, SMTP, IMAP, POP3, identity) waits D ms before each reply and each TLS
# handshake, as a network with a D ms round trip would.
#   1. a full `check` versus the round-trip floor, and per branch the round
#      trips observed against the branch's floor;
#   2. the same mailbox tested the way a helpdesk does today (dig, openssl
#      s_client, swaks, curl, one after another), and swaks alone versus
#      `check --only smtp`;
#   3. `batch` over many mailboxes: wall time versus the ideal, the per-mailbox
#      tail (p50, p95, max) and the slowest of 3 runs, peak memory;
#   4. scale: `batch` over 10,000 mailboxes at --concurrency 500: wall time versus
#      the ideal, peak memory, open-file limits;
#   5. start-up (`--version`, `explain`) and the release binary's size;
#   6. the full check against the floor in three labs of its own
#      (scripts/bench/floor.sh): the zone without CNAME chains at 50 ms, the zone
#      with Exchange Online's real chains at 50 ms, and with chains at 150 ms;
#   7. `serve` with 10,000 targets (scripts/bench/serve.sh, at D): start-up and
#      memory, a burst of 1,000 scrapes of cached targets, probing scrapes
#      against the floor.
# Every run is checked at the lab: one authentication per protocol and mailbox,
# and no deviation from the recorded dialogue.
#
# The floor is the lab's model of an optimal client that follows the standards
# (`Scenario::floor` in src/sim/replay.rs, from what each server offers): one DNS
# round, one flight per TLS 1.3 handshake, and the replies the cheapest standard
# login needs. The branches run at the same time: the run's floor is the longest.
# Ideals are built from it too, never from what the tool did.
#
# Usage: scripts/bench/run.sh [D_MS]   (default 50)
#   RUNS=N (10) repetitions; MAILBOXES=N (1000) and CONCURRENCY=N (100) for batch;
#   MAILBOXES_SCALE=N (10000) and CONCURRENCY_SCALE=N (500) for scale (0: skip);
#   ZONE=cname for sections 1 to 5 against Exchange Online's CNAME chains (lab --cname).
# Needs hyperfine, swaks, dig, curl, openssl and GNU time; as root it installs
# what is missing from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
D="${1:-50}"
RUNS="${RUNS:-10}"
MAILBOXES="${MAILBOXES:-1000}"
CONCURRENCY="${CONCURRENCY:-100}"
MAILBOXES_SCALE="${MAILBOXES_SCALE:-10000}"
CONCURRENCY_SCALE="${CONCURRENCY_SCALE:-500}"
ZONE="${ZONE:-plain}"
zone_flags=()
[ "$ZONE" = cname ] && zone_flags=(--cname)
OUT=target/bench
mkdir -p "$OUT"

missing=()
for c in hyperfine swaks dig curl openssl /usr/bin/time; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq hyperfine swaks bind9-dnsutils curl openssl time \
      libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl >/dev/null
  else
    echo "missing: ${missing[*]} (install them, or run as root)" >&2
    exit 2
  fi
fi

cargo build --release --quiet --bin mailbox-doctor --example lab
BIN=target/release/mailbox-doctor

# The lab serves until its standard input closes (this script's fd 3). It may
# use every file descriptor the hard limit allows, so that at scale it is never
# the lab that runs out; the tool keeps the limits this script was started with.
fifo="$(mktemp -u)"
mkfifo "$fifo"
(
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  exec target/release/examples/lab --delay "$D" "${zone_flags[@]}"
) <"$fifo" >"$OUT/lab.out" &
lab_pid=$!
exec 3>"$fifo"
trap 'exec 3>&-; rm -f "$fifo"' EXIT
for _ in $(seq 1 100); do grep -q 'MD_LAB_FLOOR=' "$OUT/lab.out" 2>/dev/null && break; sleep 0.05; done
# shellcheck disable=SC1090
source <(grep '^export ' "$OUT/lab.out")
export MD_BENCH_PW=abcdefghijklmnop
problems=0

# What the lab's servers saw since the last call: one JSON line, the one written
# after this call's question (each call waits for its answer, so the count of
# lines before the question is that of the answers so far; it is taken here, as
# callers run this in a subshell).
lab_stats() {
  local before
  before=$(wc -l <"$OUT/lab.out")
  echo stats >&3
  for _ in $(seq 1 1500); do
    [ "$(wc -l <"$OUT/lab.out")" -gt "$before" ] && break
    sleep 0.02
  done
  [ "$(wc -l <"$OUT/lab.out")" -gt "$before" ] || { echo "the lab did not answer stats" >&2; exit 1; }
  sed -n "$((before + 1))p" "$OUT/lab.out"
}
# The lab's CPU time so far (user + system), in ms.
lab_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$lab_pid/stat"; }
# Says what the servers saw; fails when the logins or connections differ from
# what was expected (one login per protocol and mailbox), or a client deviated
# from the dialogue (but for ALLOWED, a known deviation's start).
verify() { # verify STATS "proto:logins:connections ..." ALLOWED
  python3 - "$@" <<'PY'
import json, sys
stats, specs, allow = json.loads(sys.argv[1]), sys.argv[2].split(), sys.argv[3]
bad, said = [], []
for spec in specs:
    p, logins, conns = spec.split(":")
    s = stats[p]
    said.append(f"{p} {s['auth_attempts']} logins over {s['connections']} connections")
    if s["auth_attempts"] != int(logins) or s["connections"] != int(conns):
        bad.append(f"{p}: expected {logins} logins over {conns} connections")
    bad += [f"{p}: {m}" for m in s["mismatches"] if not (allow and m.startswith(allow))]
print("   lab saw: " + ", ".join(said) + f", {stats['dns_queries']} DNS queries, "
      + f"{stats['identity_requests']} identity requests; "
      + ("no deviation" if not bad else "PROBLEMS: " + "; ".join(bad)))
sys.exit(1 if bad else 0)
PY
}
# field FILE INDEX KEY: a figure from a hyperfine JSON export, in ms.
field() {
  python3 -c 'import json,sys,statistics as s; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; k=sys.argv[3]; v={"median":r["median"],"mean":r["mean"],"cpu":r["user"]+r["system"]}[k]; print(f"{v*1000:.1f}")' "$@"
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
figures() { python3 scripts/bench/figures.py "$@"; }

check_args=(check alice@contoso.com --provider microsoft365
  --smtp "smtp://$MD_LAB_SMTP" --imap "imaps://$MD_LAB_IMAP" --pop "pop3s://$MD_LAB_POP"
  --dns-server "$MD_LAB_DNS" --ca-file "$MD_LAB_CA" --identity-url "$MD_LAB_IDENTITY" --json)
export MAILBOX_DOCTOR_PASSWORD="$MD_BENCH_PW"
"$BIN" "${check_args[@]}" >"$OUT/check.json" || true
lab_stats >/dev/null

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r), $(rustc --version)"
echo "== lab: D = ${D} ms per reply and per TLS handshake; zone: ${ZONE}"
echo
echo "1. full check (credentials, dns, tls, smtp, imap, pop, tenant), ${RUNS} runs"
hyperfine -N -i --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/check-hf.json" \
  "$BIN ${check_args[*]}" >/dev/null 2>&1
n=$((RUNS + 1))
verify "$(lab_stats)" "smtp:$n:$n imap:$n:$n pop:$n:$n" "" || problems=1
wall=$(field "$OUT/check-hf.json" 0 median)
floor=$((MD_LAB_FLOOR * D))
echo "   wall time (median): ${wall} ms; floor: ${MD_LAB_FLOOR} x ${D} = ${floor} ms (the longest branch); ratio: $(ratio "$wall" "$floor")"
# The same check again, keeping each JSON report: its per-check times and the
# lab's count of the flights each connection waited for, branch by branch.
rm -f "$OUT"/check-run-*.json
for i in $(seq 1 "$RUNS"); do
  "$BIN" "${check_args[@]}" >"$OUT/check-run-$i.json" || true
done
st="$(lab_stats)"
verify "$st" "smtp:$RUNS:$RUNS imap:$RUNS:$RUNS pop:$RUNS:$RUNS" "" || problems=1
figures branches "$D" "$st" "$OUT"/check-run-*.json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("   report:", d["status"], " ".join(c["id"]+"="+c["status"] for c in d["checks"]))' "$OUT/check.json"

echo
echo "2. the helpdesk's sequence (scripts/bench/helpdesk.sh: 3 x dig, openssl s_client -starttls smtp, swaks, curl imaps) vs one check, ${RUNS} runs"
# swaks sends AUTH LOGIN bare: it gets the lab's SMTP server that prompts for the
# username first (the same recorded dialogue; MD_LAB_SMTP_BARE_PORT).
swaks_args=(--server "127.0.0.1:$MD_LAB_SMTP_BARE_PORT" --tls --tls-verify --tls-ca-path "$MD_LAB_CA"
  --tls-sni smtp.office365.com --auth LOGIN --auth-user alice@contoso.com
  --auth-password "$MD_BENCH_PW" --quit-after AUTH)
smtp_args=(check alice@contoso.com --provider microsoft365 --only smtp
  --smtp "smtp://$MD_LAB_SMTP" --dns-server "$MD_LAB_DNS" --ca-file "$MD_LAB_CA" --json)
hyperfine -N -i --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/helpdesk-hf.json" \
  "bash scripts/bench/helpdesk.sh" >/dev/null 2>&1
# openssl s_client only looks at TLS, then hangs up: its one deviation.
verify "$(lab_stats)" "smtp_bare:$n:$((2 * n)) imap:$n:$n" "client closed; expected \`EHLO" || problems=1
seq_wall=$(field "$OUT/helpdesk-hf.json" 0 median)
echo "   helpdesk sequence: ${seq_wall} ms; mailbox-doctor check: ${wall} ms; mailbox-doctor is $(ratio "$seq_wall" "$wall") x faster"
hyperfine -N -i --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/swaks-hf.json" \
  "swaks ${swaks_args[*]}" "$BIN ${smtp_args[*]}" >/dev/null 2>&1
verify "$(lab_stats)" "smtp_bare:$n:$n smtp:$n:$n" "" || problems=1
smtp_wall=$(field "$OUT/swaks-hf.json" 1 median)
echo "   swaks alone: $(field "$OUT/swaks-hf.json" 0 median) ms wall, $(field "$OUT/swaks-hf.json" 0 cpu) ms CPU;" \
  "check --only smtp: ${smtp_wall} ms wall, $(field "$OUT/swaks-hf.json" 1 cpu) ms CPU"
echo "   SMTP branch floor: ${MD_LAB_SMTP_FLOOR} x ${D} = $((MD_LAB_SMTP_FLOOR * D)) ms; check --only smtp ratio: $(ratio "$smtp_wall" "$((MD_LAB_SMTP_FLOOR * D))")"

echo
echo "3. batch: ${MAILBOXES} mailboxes (full check each), --concurrency ${CONCURRENCY}, 3 runs"
# mailboxes N FILE: a CSV of N mailboxes of one tenant, on the lab's servers.
mailboxes() {
  {
    echo "email,provider,smtp,imap,pop,password_env"
    for i in $(seq 1 "$1"); do
      echo "user$i@contoso.com,microsoft365,smtp://$MD_LAB_SMTP,imaps://$MD_LAB_IMAP,pop3s://$MD_LAB_POP,MD_BENCH_PW"
    done
  } >"$2"
}
# The kernel's count of UDP datagrams dropped on receipt (InErrors, RcvbufErrors;
# the whole machine's): a DNS answer or question lost in a burst shows here.
udp_drops() { awk '/^Udp:/ { if (seen) print $4 + $6; seen = 1 }' /proc/net/snmp; }
# batch_run CSV CONCURRENCY NAME: one timed batch; sets run_wall (ms), run_rss
# (KiB), run_cpu and run_lab_cpu (user + system, ms) and run_udp_drops.
batch_run() {
  local drops_before lab_before u s
  drops_before=$(udp_drops)
  lab_before=$(lab_cpu)
  /usr/bin/time -f '%e %M %U %S' -o "$OUT/$3.time" "$BIN" batch "$1" --concurrency "$2" --per-domain "$2" \
    --dns-server "$MD_LAB_DNS" --ca-file "$MD_LAB_CA" --identity-url "$MD_LAB_IDENTITY" --json \
    >"$OUT/$3.jsonl" 2>"$OUT/$3.err" || true
  read -r w run_rss u s < <(tail -n 1 "$OUT/$3.time")
  run_wall=$(python3 -c "import sys; print(f'{float(sys.argv[1])*1000:.0f}')" "$w")
  run_cpu=$(python3 -c "import sys; print(f'{(float(sys.argv[1])+float(sys.argv[2]))*1000:.0f}')" "$u" "$s")
  run_udp_drops=$(($(udp_drops) - drops_before))
  run_lab_cpu=$(($(lab_cpu) - lab_before))
}
csv="$OUT/batch.csv"
mailboxes "$MAILBOXES" "$csv"
walls=()
runs=()
rss=0
drops=()
cpus=()
for k in 1 2 3; do
  batch_run "$csv" "$CONCURRENCY" "batch-$k"
  walls+=("$run_wall")
  drops+=("$run_udp_drops")
  cpus+=("${run_cpu}/${run_lab_cpu}")
  runs+=("$OUT/batch-$k.jsonl:$run_wall")
  [ "$run_rss" -gt "$rss" ] && rss=$run_rss
done
m=$((3 * MAILBOXES))
st="$(lab_stats)"
verify "$st" "smtp:$m:$m imap:$m:$m pop:$m:$m" "" || problems=1
figures dns "$st" 3
reports=$(cat "$OUT"/batch-[123].jsonl | wc -l)
bwall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
slowest=$(printf '%s\n' "${walls[@]}" | sort -n | tail -n 1)
ideal=$(python3 scripts/bench/figures.py ideal "$D" "$MD_LAB_FLOOR" "$MAILBOXES" "$CONCURRENCY")
waves=$(( (MAILBOXES + CONCURRENCY - 1) / CONCURRENCY ))
ideal_single=$(python3 -c "print(f'{$MAILBOXES / $CONCURRENCY * $wall:.0f}')")
echo "   ${reports} reports over 3 runs; wall time (runs: ${walls[*]} ms): median ${bwall} ms, slowest ${slowest} ms"
echo "   ideal from the floor: one DNS round for the run, then ${waves} waves of ${MD_LAB_FLOOR} - 1 round trips: (1 + ${waves} x $((MD_LAB_FLOOR - 1))) x ${D} = ${ideal} ms; ratio: median $(ratio "$bwall" "$ideal"), slowest $(ratio "$slowest" "$ideal")"
echo "   against one check's wall time: ${MAILBOXES}/${CONCURRENCY} x ${wall} ms = ${ideal_single} ms; ratio: median $(ratio "$bwall" "$ideal_single"), slowest $(ratio "$slowest" "$ideal_single")"
figures batch "$D" "$MD_LAB_FLOOR" "$CONCURRENCY" "$wall" "${runs[@]}"
echo "   CPU time (user + system) of the tool / of the lab, runs 1, 2, 3: ${cpus[*]} ms, on $(nproc) cores"
echo "   UDP datagrams dropped on receipt during runs 1, 2, 3 (kernel, whole machine): ${drops[*]}"
echo "   peak RSS: $((rss / 1024)) MiB ($rss KiB)"

if [ "$MAILBOXES_SCALE" -gt 0 ]; then
  echo
  echo "4. scale: batch over ${MAILBOXES_SCALE} mailboxes, --concurrency ${CONCURRENCY_SCALE}, 1 run"
  echo "   open files (ulimit -n) for the tool: soft $(ulimit -Sn), hard $(ulimit -Hn)"
  mailboxes "$MAILBOXES_SCALE" "$OUT/scale.csv"
  batch_run "$OUT/scale.csv" "$CONCURRENCY_SCALE" scale
  st="$(lab_stats)"
  verify "$st" "smtp:$MAILBOXES_SCALE:$MAILBOXES_SCALE imap:$MAILBOXES_SCALE:$MAILBOXES_SCALE pop:$MAILBOXES_SCALE:$MAILBOXES_SCALE" "" || problems=1
  figures dns "$st" 1
  ideal=$(python3 scripts/bench/figures.py ideal "$D" "$MD_LAB_FLOOR" "$MAILBOXES_SCALE" "$CONCURRENCY_SCALE")
  waves=$(( (MAILBOXES_SCALE + CONCURRENCY_SCALE - 1) / CONCURRENCY_SCALE ))
  ideal_single=$(python3 -c "print(f'{$MAILBOXES_SCALE / $CONCURRENCY_SCALE * $wall:.0f}')")
  echo "   $(wc -l <"$OUT/scale.jsonl") reports; wall time ${run_wall} ms;" \
    "ideal from the floor (1 + ${waves} x $((MD_LAB_FLOOR - 1))) x ${D} = ${ideal} ms (ratio $(ratio "$run_wall" "$ideal"));" \
    "against one check's wall time ${ideal_single} ms (ratio $(ratio "$run_wall" "$ideal_single"))"
  figures batch "$D" "$MD_LAB_FLOOR" "$CONCURRENCY_SCALE" "$wall" "$OUT/scale.jsonl:$run_wall"
  echo "   CPU time (user + system): the tool ${run_cpu} ms, the lab ${run_lab_cpu} ms, on $(nproc) cores"
  echo "   UDP datagrams dropped on receipt (kernel, whole machine): ${run_udp_drops}"
  echo "   peak RSS: $((run_rss / 1024)) MiB ($run_rss KiB)"
  nofile=$(cat "$OUT/scale.err" "$OUT/scale.jsonl" | grep -ci 'too many open files' || true)
  if [ "$nofile" -gt 0 ]; then
    echo "   OPEN-FILE LIMIT: ${nofile} lines of the output say 'too many open files'"
    problems=1
  fi
  if [ -s "$OUT/scale.err" ]; then echo "   standard error: $(head -c 300 "$OUT/scale.err")"; fi
fi

echo
echo "5. start-up (hyperfine -N, 200 runs)"
text='535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'
hyperfine -N -i --style none --warmup 20 --runs 200 --export-json "$OUT/startup-hf.json" \
  "$BIN --version" "$BIN explain '$text'" >/dev/null 2>&1
echo "   --version: $(field "$OUT/startup-hf.json" 0 mean) ms mean; explain: $(field "$OUT/startup-hf.json" 1 mean) ms mean"
echo "   release binary: $(stat -c %s "$BIN") bytes"

echo
floor_out=$(RUNS="$RUNS" bash scripts/bench/floor.sh) || problems=1
echo "6. $floor_out"

echo
serve_out=$(bash scripts/bench/serve.sh "$D") || problems=1
echo "7. $serve_out"
exit "$problems"
