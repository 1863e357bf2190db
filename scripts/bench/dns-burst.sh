#!/usr/bin/env bash
# How many DNS questions the lab's DNS server (one UDP socket) takes at once
# before the kernel drops some: N questions for one name sent back to back, then
# the answers counted for 3 s, and the socket's own drop count from /proc/net/udp.
# A question dropped this way is answered only after the asker retransmits.
#
# Usage: scripts/bench/dns-burst.sh [N...]   (default 100 300 1000 2500)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$#" -gt 0 ] || set -- 100 300 1000 2500
cargo build --release --quiet --example lab
OUT=target/bench
mkdir -p "$OUT"
fifo="$(mktemp -u)"
mkfifo "$fifo"
target/release/examples/lab --delay 50 <"$fifo" >"$OUT/lab-burst.out" &
exec 3>"$fifo"
trap 'exec 3>&-; rm -f "$fifo"' EXIT
for _ in $(seq 1 100); do grep -q 'MD_LAB_FLOOR=' "$OUT/lab-burst.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^export MD_LAB_DNS_PORT=//p' "$OUT/lab-burst.out")
echo "receive buffer by default (net.core.rmem_default): $(cat /proc/sys/net/core/rmem_default) bytes"
for n in "$@"; do
  python3 - "$port" "$n" <<'PY'
import socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])

def drops(p):
    for line in open("/proc/net/udp").readlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == p:
            return int(f[-1])
    return 0

def question(i):
    name = b"".join(bytes([len(w)]) + w.encode() for w in "smtp.office365.com".split("."))
    return struct.pack(">HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + b"\0" + struct.pack(">HH", 1, 1)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
before = drops(port)
for i in range(n):
    s.sendto(question(i), ("127.0.0.1", port))
answers, start = 0, time.time()
while time.time() - start < 3:
    try:
        s.recv(4096)
        answers += 1
    except socket.timeout:
        pass
print(f"{n} questions at once: {answers} answered; dropped by the lab's socket: {drops(port) - before};"
      f" by the asker's: {drops(s.getsockname()[1])}")
PY
done
