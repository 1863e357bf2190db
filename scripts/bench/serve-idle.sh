#!/usr/bin/env bash
# `serve` under a client that holds many idle connections: the latency of
# `/-/healthy` (each request on a new connection, as a Kubernetes or Prometheus
# probe makes it) with no other client, then while one client holds IDLE idle
# TCP connections and opens CHURN more before each request (replacing those
# serve sheds). Prints p50, p90, p99 and max for both, and how many requests
# failed. The goal: p99 under 100 ms with 2,000 idle connections.
#
# Usage: scripts/bench/serve-idle.sh   (IDLE=2000 REQUESTS=1000 CHURN=10)
#   BIN=path   the binary to measure (default: target/release/mailbox-doctor,
#              built if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
IDLE="${IDLE:-2000}"
REQUESTS="${REQUESTS:-1000}"
CHURN="${CHURN:-10}"
BIN="${BIN:-target/release/mailbox-doctor}"
if [ ! -x "$BIN" ]; then
  cargo build --release --quiet
fi
dir="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
printf 'unused\n' >"$dir/pw"
chmod 600 "$dir/pw"
# One target whose server is never asked: only /-/healthy is measured.
cat >"$dir/serve.toml" <<EOF
[modules.m]
smtp = "smtp://127.0.0.1:9"
only = ["smtp"]

[[targets]]
address = "bench@example.test"
module = "m"
password_file = "$dir/pw"
EOF
"$BIN" serve --config "$dir/serve.toml" --listen 127.0.0.1:0 2>"$dir/log" &
pid=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' "$dir/log" | head -n1)"
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$dir/log" >&2; exit 1; }
echo "serve $("$BIN" --version | head -n1) on $addr, --max-connections 64 (default)"
python3 - "$addr" "$IDLE" "$REQUESTS" "$CHURN" <<'PY'
import resource, socket, sys, time

addr, idle_n, requests, churn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
host, port = addr.rsplit(":", 1)
port = int(port)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = idle_n + 256
if soft < need:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

def healthy():
    start = time.perf_counter()
    try:
        s = socket.create_connection((host, port), timeout=60)
        s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        ok = data.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    return ok, time.perf_counter() - start

def report(label, times, failed):
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1000
    print(f"{label}: {len(times)} requests, {failed} failed; "
          f"p50 {pick(0.50):.2f} ms, p90 {pick(0.90):.2f} ms, "
          f"p99 {pick(0.99):.2f} ms, max {times[-1] * 1000:.2f} ms")

def run(label, idle):
    times, failed = [], 0
    for i in range(requests):
        for _ in range(churn if idle else 0):
            try:
                idle[(i * churn) % len(idle)].close()
                idle[(i * churn) % len(idle)] = socket.create_connection((host, port), timeout=10)
            except OSError:
                pass
        ok, took = healthy()
        times.append(took)
        failed += 0 if ok else 1
    report(label, times, failed)

run("no other client", None)
idle = []
opened = time.perf_counter()
for _ in range(idle_n):
    idle.append(socket.create_connection((host, port), timeout=10))
print(f"{idle_n} idle connections opened in {time.perf_counter() - opened:.2f} s")
run(f"{idle_n} idle connections, {churn} more opened before each request", idle)
for s in idle:
    s.close()
PY
