#!/usr/bin/env bash
# How fast `explain` is, as figures (never a timed test), with hyperfine:
#   1. a short reply on the command line, and the same on standard input;
#   2. the longest text of the corpus (tests/corpus/explain.toml), and one that no
#      signature knows (NOT_RECOGNISED: every pattern is tried);
#   3. pasted texts of growing size on standard input, 1 KiB to 1 MiB: the corpus
#      texts one after another (nearly every signature finds its words: the worst
#      case), and a long .NET stack trace under one reply (a log as pasted).
#      explain reads all of its input (up to the 1 MiB cap of standard input) and
#      matches the first 64 KiB (MAX_INPUT in knowledge/normalize.rs).
# Each figure is the mean of RUNS runs (default 200; 50 for the sizes), process
# start-up and the loading of the knowledge base included.
#
# Usage: scripts/bench/explain.sh   (as root it installs hyperfine when missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-200}"
OUT=target/bench/explain
mkdir -p "$OUT"

if ! command -v hyperfine >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq hyperfine >/dev/null
  else
    echo "missing: hyperfine (install it, or run as root)" >&2
    exit 2
  fi
fi
cargo build --release --quiet --bin mailbox-doctor
BIN=$PWD/target/release/mailbox-doctor

# The inputs, from the corpus.
python3 - "$OUT" <<'EOF'
import sys, tomllib
out = sys.argv[1]
entries = tomllib.load(open("tests/corpus/explain.toml", "rb"))["entry"]
texts = [e["text"] for e in entries]
open(f"{out}/short.txt", "w").write("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.")
open(f"{out}/longest.txt", "w").write(max(texts, key=len))
open(f"{out}/unknown.txt", "w").write("The printer says the job could not be sent. Please try again later or call support.\n" * 4)
stream = "\n".join(texts) + "\n"
trace = "System.Net.Mail.SmtpException: Failure sending mail. ---> System.IO.IOException: Unable to read data from the transport connection: net_io_connectionclosed.\n"
frame = "   at System.Net.Mail.SmtpReplyReaderFactory.ProcessRead(Byte[] buffer, Int32 offset, Int32 read, Boolean readLine)\n"
for kib in (1, 16, 64, 256, 1024):
    n = kib * 1024
    data = (stream * (n // len(stream) + 1)).encode()[:n].decode("utf-8", "ignore")
    open(f"{out}/paste-{kib}k.txt", "w").write(data)
    open(f"{out}/log-{kib}k.txt", "w").write((trace + frame * (n // len(frame) + 1))[:n])
print(f"   longest corpus text: {len(max(texts, key=len))} bytes")
EOF

mean() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.1f" % (x["mean"] * 1000) for x in r))' "$1"; }

echo "1. a short reply ($RUNS runs each)"
hyperfine -N -i --style none --warmup 20 --runs "$RUNS" --export-json "$OUT/short.json" \
  "$BIN --version" "$BIN explain '$(cat "$OUT/short.txt")'" >/dev/null 2>&1
read -r version arg < <(mean "$OUT/short.json")
hyperfine -i --style none --warmup 20 --runs "$RUNS" --export-json "$OUT/stdin.json" \
  "$BIN explain < $OUT/short.txt" >/dev/null 2>&1
echo "   --version: $version ms; explain TEXT: $arg ms; explain < TEXT: $(mean "$OUT/stdin.json") ms (mean)"

echo "2. the longest corpus text, and a text nobody knows ($RUNS runs each)"
hyperfine -i --style none --warmup 20 --runs "$RUNS" --export-json "$OUT/corpus.json" \
  "$BIN explain < $OUT/longest.txt" "$BIN explain < $OUT/unknown.txt" >/dev/null 2>&1
read -r longest unknown < <(mean "$OUT/corpus.json")
echo "   longest: $longest ms; not recognised: $unknown ms (mean)"

echo "3. pasted text on standard input, by size (50 runs each)"
for kind in paste log; do
  cmds=()
  for kib in 1 16 64 256 1024; do cmds+=("$BIN explain < $OUT/$kind-${kib}k.txt"); done
  hyperfine -i --style none --warmup 5 --runs 50 --export-json "$OUT/$kind.json" "${cmds[@]}" >/dev/null 2>&1
  read -r s1 s16 s64 s256 s1024 < <(mean "$OUT/$kind.json")
  label=$([ "$kind" = paste ] && echo "corpus texts" || echo "stack trace ")
  echo "   $label 1 KiB: $s1 ms; 16 KiB: $s16 ms; 64 KiB: $s64 ms; 256 KiB: $s256 ms; 1 MiB: $s1024 ms (mean)"
done
