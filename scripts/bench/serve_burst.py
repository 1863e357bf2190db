"""Scrapes for the serve benchmark (scripts/bench/serve.sh), over plain HTTP/1.1
sockets (asyncio, standard library only).

    serve_burst.py PORT burst N FIRST    N scrapes at once of targets FIRST..FIRST+N-1
    serve_burst.py PORT each N FIRST     N scrapes one after another

Prints one JSON line: the latencies (ms) in order, and the HTTP statuses seen.
"""
import asyncio, json, sys, time


async def scrape(port, i):
    t = time.perf_counter()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET /probe?target=user{i}%40contoso.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await w.drain()
    data = await r.read()
    ms = (time.perf_counter() - t) * 1000
    w.close()
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
    cached = b"\nmailbox_doctor_probe_cached 1\n" in data
    return ms, status, cached


async def main():
    port, mode, n, first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "burst":
        res = await asyncio.gather(*(scrape(port, first + k) for k in range(n)))
    else:
        res = [await scrape(port, first + k) for k in range(n)]
    statuses = {}
    for _, s, _ in res:
        statuses[s] = statuses.get(s, 0) + 1
    print(json.dumps({"ms": [m for m, _, _ in res], "statuses": statuses,
                      "cached": sum(1 for *_, c in res if c)}))


asyncio.run(main())
