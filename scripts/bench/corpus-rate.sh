#!/usr/bin/env bash
# The hit rate of a built `explain` on a corpus file, per family: a hit is the
# entry's `expect` code as the first diagnosis. It runs the binary (never the
# library), so it measures any build: the one before a change and the one after.
#
# Usage: scripts/bench/corpus-rate.sh BINARY CORPUS.toml
#   e.g. scripts/bench/corpus-rate.sh target/debug/mailbox-doctor tests/corpus/heldout.toml
set -euo pipefail
BIN="$1"
CORPUS="$2"
python3 - "$BIN" "$CORPUS" <<'PY'
import json, subprocess, sys, tomllib
from collections import OrderedDict
bin_, corpus = sys.argv[1], sys.argv[2]
entries = tomllib.load(open(corpus, "rb"))["entry"]
rate = OrderedDict((f, [0, 0]) for f in ("tls", "network", "oauth", "library", "client", "device", "provider"))
misses = []
for e in entries:
    fam = e.get("family") or e.get("category")
    out = subprocess.run([bin_, "explain", "--format", "json"], input=e["text"].encode(),
                         capture_output=True).stdout
    codes = [d["code"] for d in json.loads(out)["diagnosis"]]
    hit = bool(codes) and codes[0] == e["expect"]
    r = rate.setdefault(fam, [0, 0])
    r[0] += hit
    r[1] += 1
    if not hit:
        misses.append(f"  miss ({fam}): want {e['expect']}, got {codes[:2]}: {e['text'][:70]!r}")
print("| family | entries | first code right | rate |\n|---|---|---|---|")
for f, (h, t) in rate.items():
    if t:
        print(f"| {f} | {t} | {h} | {100*h/t:.0f}% |")
H = sum(h for h, _ in rate.values()); T = sum(t for _, t in rate.values())
print(f"| **all** | {T} | {H} | {100*H/T:.0f}% |")
print("\n".join(misses), file=sys.stderr)
PY
