#!/usr/bin/env python3
"""Figures for scripts/bench/run.sh, from the tool's JSON reports and the lab's stats.

    figures.py branches D STATS REPORT.json...   observed round trips per branch
    figures.py batch D FLOOR CONCURRENCY SINGLE_MS RUN.jsonl:WALL_MS...
                                                 per-mailbox tail, per run
    figures.py dns STATS RUNS                    address questions per host, per run

Floors come from the lab's model (MD_LAB_*_FLOOR, in the environment), never from
what the tool did.
"""
import json
import os
import statistics
import sys

HOSTS = {
    "smtp": "smtp.office365.com",
    "imap": "outlook.office365.com",
    "pop": "outlook.office365.com",
    "tenant": "login.microsoftonline.com",
}


def env_floor(branch):
    v = os.environ.get(f"MD_LAB_{branch.upper()}_FLOOR")
    parts = os.environ.get(f"MD_LAB_{branch.upper()}_FLOOR_PARTS", "")
    return (int(v) if v else None), parts


def branches(d, stats, reports):
    d = float(d)
    stats = json.loads(stats)
    runs = [json.load(open(p)) for p in reports]
    n = len(runs)

    def check(run, cid):
        return next((c for c in run["checks"] if c["id"] == cid), None)

    def median_ms(cid):
        v = [c["duration_ms"] for c in (check(r, cid) for r in runs) if c]
        return statistics.median(v) if v else None

    def dns_ms(host):
        v = []
        for r in runs:
            c = check(r, "dns")
            h = ((c or {}).get("details") or {}).get("hosts", {}).get(host)
            if h and "ms" in h:
                v.append(h["ms"])
        return statistics.median(v) if v else None

    asked = stats.get("dns_asked", {})
    print(f"   per branch, in round trips of D = {d:g} ms (observed: median of {n} runs' JSON reports):")
    for b in ["smtp", "imap", "pop", "tenant"]:
        floor, parts = env_floor(b)
        ms = median_ms(b)
        if ms is None or floor is None:
            print(f"   {b:6} floor {floor}: no {b} check in the reports")
            continue
        obs = ms / d
        host = HOSTS[b]
        q = [f"{t} {asked.get(f'{host} {t}', 0) / n:g}" for t in ("A", "AAAA")]
        words = [f"{b:6} floor {floor} ({parts}); observed {obs:.1f} ({ms:g} ms)"]
        s = stats.get(b)
        if s and s.get("connections"):
            flights = s["flights"] / s["connections"]
            dns_floor = int(parts.split()[0]) if parts else 0
            words.append(
                f"= {flights:g} flights served (floor {floor - dns_floor})"
                f" + {obs - flights:.1f} before the first (floor {dns_floor})"
            )
        else:
            words.append(f"with {stats.get('identity_requests', 0) / n:g} requests per run")
        hm = dns_ms(host)
        if hm is not None:
            words.append(f"(its host's DNS: {hm / d:.1f})")
        words.append(f"; DNS questions per run for {host}: " + ", ".join(q))
        print("   " + " ".join(words).replace(" ;", ";"))
    ms = median_ms("dns")
    if ms is not None:
        print(f"   dns check: {ms / d:.1f} round trips ({ms:g} ms); {stats.get('dns_queries', 0) / n:g} DNS queries per run")


def pct(sorted_values, p):
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


def batch_ideal(d, floor, mailboxes, concurrency):
    """The ideal wall time of a batch: one DNS round for the whole run (its one
    resolver answers the rest from its cache), then ceil(mailboxes / concurrency)
    waves of the floor without its DNS round."""
    waves = -(-int(mailboxes) // int(concurrency))
    return (1 + waves * (int(floor) - 1)) * float(d)


def batch(d, floor, concurrency, single_ms, runs):
    d, floor, concurrency, single_ms = float(d), int(floor), int(concurrency), float(single_ms)
    per_mailbox = floor * d
    everything = []
    for i, spec in enumerate(runs, 1):
        path, wall = spec.rsplit(":", 1)
        wall = float(wall)
        reports = [json.loads(line) for line in open(path) if line.strip()]
        durations = sorted(r["duration_ms"] for r in reports)
        everything += durations
        if not durations:
            print(f"   run {i}: no reports")
            continue
        slowest = max(reports, key=lambda r: r["duration_ms"])
        slow_checks = sorted(slowest["checks"], key=lambda c: -c["duration_ms"])[:3]
        ideal = batch_ideal(d, floor, len(reports), concurrency)
        print(
            f"   run {i}: wall {wall:.0f} ms (ideal {ideal:.0f}: ratio {wall / ideal:.2f});"
            f" per mailbox p50 {pct(durations, 50)} / p95 {pct(durations, 95)} / max {durations[-1]} ms;"
            f" slowest: {slowest['target'].get('user', '?')} ("
            + ", ".join(f"{c['id']} {c['duration_ms']} ms" for c in slow_checks)
            + ")"
        )
    if everything:
        everything.sort()
        mx = everything[-1]
        over = sum(1 for v in everything if v > 2 * per_mailbox)
        print(
            f"   all runs, {len(everything)} mailboxes: p50 {pct(everything, 50)} ms, p95 {pct(everything, 95)} ms,"
            f" max {mx} ms; floor per mailbox {floor} x {d:g} = {per_mailbox:.0f} ms:"
            f" max / floor {mx / per_mailbox:.2f}, max / single check ({single_ms:g} ms) {mx / single_ms:.2f};"
            f" {over} over twice the floor"
        )


def dns(stats, runs):
    stats, runs = json.loads(stats), int(runs)
    asked = stats.get("dns_asked", {})
    print(
        "   address questions per run: "
        + ", ".join(f"{k} {v / runs:g}" for k, v in sorted(asked.items()))
        + f" ({stats.get('dns_queries', 0) / runs:g} queries in all)"
    )


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "branches":
        branches(args[0], args[1], args[2:])
    elif cmd == "batch":
        batch(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "dns":
        dns(args[0], args[1])
    elif cmd == "ideal":
        print(f"{batch_ideal(*args):.0f}")
    else:
        sys.exit(f"unknown command {cmd}")
