#!/usr/bin/env bash
# `demo` and `explain` on Linux and, for the record, the Windows exe under Wine,
# with hyperfine. Wine is not Windows: these figures say what the Wine runs in
# scripts/windows.sh cost, nothing about speed on Windows.
#
# Usage: scripts/bench/wine.sh   (RUNS=N, default 20; needs the release builds:
#   `cargo build --release` and `scripts/windows.sh release`, which
#   scripts/release.sh makes; as root it installs hyperfine when missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-20}"
OUT=target/bench/wine
mkdir -p "$OUT"
if ! command -v hyperfine >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "missing: hyperfine" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
LINUX=$PWD/target/release/mailbox-doctor
EXE=$PWD/target/windows/x86_64-pc-windows-gnu/release/mailbox-doctor.exe
for f in "$LINUX" "$EXE"; do
  [ -f "$f" ] || { echo "missing $f: build the release binaries first" >&2; exit 2; }
done
eval "$(bash scripts/windows.sh env)"
bash scripts/windows.sh prefix
# A running wineserver is kept between runs, as in a test run; started here once.
wineserver -p 60 2>/dev/null || true
TEXT='535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'

mean() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.0f±%.0f" % (x["mean"] * 1000, x["stddev"] * 1000) for x in r))' "$1"; }

echo "demo and explain, Linux binary and Windows exe under Wine ($RUNS runs each, mean ± sd in ms)"
hyperfine -N -i --style none --warmup 2 --runs "$RUNS" --export-json "$OUT/runs.json" \
  "$LINUX demo --color never" \
  "wine $EXE demo --color never" \
  "$LINUX explain '$TEXT'" \
  "wine $EXE explain '$TEXT'" >/dev/null 2>&1
read -r ldemo wdemo lexp wexp < <(mean "$OUT/runs.json")
echo "   demo:    Linux $ldemo; Wine $wdemo"
echo "   explain: Linux $lexp; Wine $wexp"
