"""CPU per request of one kind of request against the served app: what every request pays (issue 23).

    scripts/with-postgres .venv/bin/python bench/request_cpu.py --clinic-url $BASE/clinic_copy \
        [--request "API client"] [--workers 1] [--users 25] [--seconds 15] [--rounds 1] [--json]

``cadenza serve`` (``--workers`` processes) on a clinic bench/clinic_data.py made; ``--users`` therapists,
each logged in with a browser session and an API token before the clock starts, send the same kind of request
(``--request``: one of :data:`REQUESTS`, each user for one of their own clients) back to back, without think
time, for ``--seconds``. Around the clock, bench/proc_cpu.py reads the user + system CPU seconds of the
server's process tree, of the PostgreSQL server's tree and of this process (the users), and the machine's;
the output gives each per request, with the requests per second and the load average. Unlike
bench/web_load.py's mix, one kind of request at a time shows its own fixed cost (thread hand-offs, the login,
the audit row, the pool, the middleware); unlike bench/web_cpu.py, the server runs as it is served (uvicorn,
uvloop, its thread pool under concurrent requests). ``--rounds N`` repeats the run on the same server.

The peer is the same command with ``PYTHONPATH`` at the older ``src``, on another copy of the clinic, run
right after (bench/RESULTS.md, issue 23).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

REQUESTS = {
    "health": lambda client_id: "/health",
    "API client": lambda client_id: f"/api/v1/clients/{client_id}",
    "API measurements": lambda client_id: f"/api/v1/clients/{client_id}/measurements",
    "client page": lambda client_id: f"/clients/{client_id}",
    "dashboard": lambda client_id: "/",
}


async def _user(base_url: str, credentials: dict, path: str, *, stop_at: float, counts: dict) -> None:
    import aiohttp

    headers = {"cookie": credentials["cookie"]}
    if path.startswith("/api/"):
        headers["authorization"] = credentials["authorization"]
    async with aiohttp.ClientSession(base_url=base_url, headers=headers, cookie_jar=aiohttp.DummyCookieJar(),
                                     connector=aiohttp.TCPConnector(limit=1, ssl=False),
                                     timeout=aiohttp.ClientTimeout(total=60)) as http:
        while time.monotonic() < stop_at:
            async with http.get(path, allow_redirects=False) as response:
                await response.read()
                answer = "ok" if response.status == 200 else f"HTTP {response.status}"
                counts[answer] = counts.get(answer, 0) + 1


async def _run(base_url: str, users: list[dict], request: str, seconds: float, split) -> tuple[dict, float]:
    counts: dict[str, int] = {"ok": 0}
    split.start()
    started = time.monotonic()
    await asyncio.gather(*(_user(base_url, user["credentials"], REQUESTS[request](user["client_id"]),
                                 stop_at=started + seconds, counts=counts) for user in users))
    return counts, time.monotonic() - started


def measure(url: str, *, request: str, workers: int, users: int, seconds: float, rounds: int) -> list[dict]:
    import web_load
    from proc_cpu import CpuSplit

    people = web_load.clinic_people(url, clients=0, generated=True)
    rng = random.Random(20261207)
    chosen = people[:users]
    port = web_load._free_port()
    server = web_load.start_server(url, port, workers=workers)
    base_url = f"http://127.0.0.1:{port}"
    results = []
    try:
        async def log_in_all() -> None:
            for person in chosen:
                person["credentials"] = await web_load.log_in(base_url, person["username"])
                person["client_id"] = rng.choice(person["clients"])["client_id"]

        asyncio.run(log_in_all())
        roots = {"workers": server.pid, "load generator": os.getpid()}
        database_pid = web_load.postmaster_pid(url)
        if database_pid is not None:
            roots["postgres"] = database_pid
        for _ in range(rounds):
            split = CpuSplit(roots, alone=("load generator",))
            load_start = os.getloadavg()[0]
            counts, elapsed_s = asyncio.run(_run(base_url, chosen, request, seconds, split))
            spent = split.stop()
            served = sum(counts.values())
            results.append({
                "request": request, "workers": workers, "users": len(chosen), "requests": served,
                "requests_per_s": round(served / elapsed_s, 1), "answers": counts,
                "cpu_ms_per_request": {name: round(1000 * s / max(1, served), 2) for name, s in spent.items()},
                "load_average_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)]})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinic-url", required=True, help="a PostgreSQL clinic bench/clinic_data.py made")
    parser.add_argument("--request", default="API client", choices=sorted(REQUESTS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--users", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.users < 1 or args.seconds <= 0 or args.rounds < 1:
        print(f"request_cpu: --workers, --users and --rounds must be >= 1 and --seconds > 0, got {args.workers}, "
              f"{args.users}, {args.rounds}, {args.seconds}", file=sys.stderr)
        return 2
    results = measure(args.clinic_url, request=args.request, workers=args.workers, users=args.users,
                      seconds=args.seconds, rounds=args.rounds)
    if args.json:
        print(json.dumps(results))
        return 0
    print("| request | workers | users | requests | req/s | workers ms / request | PostgreSQL ms / request "
          "| generator ms / request | elsewhere ms / request | load average start / end |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        cpu = r["cpu_ms_per_request"]
        print(f"| {r['request']} | {r['workers']} | {r['users']} | {r['requests']} | {r['requests_per_s']} | "
              f"{cpu['workers']} | {cpu.get('postgres', '')} | {cpu['load generator']} | {cpu['elsewhere']} | "
              f"{r['load_average_start_end'][0]} / {r['load_average_start_end'][1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
