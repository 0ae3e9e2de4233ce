"""The fixed parts of a request, each measured alone: a thread hand-off, a pool checkout (issue 23).

    .venv/bin/python bench/request_parts.py [--postgres-url URL] [--repeat 3000] [--json]

- **Thread hand-off**: CPU of this process per ``anyio.to_thread.run_sync`` of a function that does nothing,
  on uvloop as ``cadenza serve`` runs it: one request at a time, and 25 at once (a worker under the closed
  loop: the threads then wake each other and contend for the interpreter lock).
- **Pool checkout** (``--postgres-url``, a clinic's or any PostgreSQL database): per checkout of a pooled
  connection followed by one ``SELECT 1``, the CPU of this process and of the PostgreSQL backend serving the
  connection (from ``/proc``, so the server must run on this machine), with ``pool_pre_ping`` (a round trip
  before the statement, the engine's setting before issue 23) and with ``make_engine``'s socket check.

CPU is ``time.process_time`` (this process) and the backend's user + system time; on a machine shared with
other jobs the figures still rise with contention, so the script alternates the variants and prints the
median of three rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

CONCURRENT = 25  # closed-loop users per worker in bench/web_load.py's issue-23 run (50 users, 2 workers)


def hand_off_us(repeat: int, *, concurrent: int) -> float:
    """Microseconds of this process's CPU per thread hand-off."""
    import anyio.to_thread
    import uvloop

    def nothing() -> None:
        return None

    async def hand_offs(count: int) -> None:
        for _ in range(count):
            await anyio.to_thread.run_sync(nothing)

    async def run() -> float:
        await hand_offs(concurrent)  # start the worker threads
        started = time.process_time()
        await asyncio.gather(*(hand_offs(repeat // concurrent) for _ in range(concurrent)))
        return (time.process_time() - started) / (concurrent * (repeat // concurrent)) * 1e6

    return uvloop.run(run())


def _backend_cpu_s(pid: int) -> float:
    import os

    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def checkout_us(url: str, repeat: int, *, pre_ping: bool) -> dict[str, float]:
    """Per checkout + ``SELECT 1``: microseconds of this process's CPU, of the backend's, and of wall time."""
    from cadenza.clinic.db import make_engine

    options = {"pool_pre_ping": True} if pre_ping else {}
    engine = make_engine(url, pool_size=1, max_overflow=0, **options)
    try:
        with engine.connect() as connection:
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            connection.commit()
        cpu, wall, server = time.process_time(), time.perf_counter(), _backend_cpu_s(backend)
        for _ in range(repeat):
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").scalar()
                connection.commit()
        return {"app_cpu_us": (time.process_time() - cpu) / repeat * 1e6,
                "postgres_cpu_us": (_backend_cpu_s(backend) - server) / repeat * 1e6,
                "wall_us": (time.perf_counter() - wall) / repeat * 1e6}
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", help="a PostgreSQL database on this machine (for the pool checkout)")
    parser.add_argument("--repeat", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.repeat < CONCURRENT:
        print(f"request_parts: --repeat must be >= {CONCURRENT}, got {args.repeat}", file=sys.stderr)
        return 2
    import os

    rounds: dict[str, list] = {}
    for _ in range(3):
        rounds.setdefault("hand-off, one at a time", []).append(hand_off_us(args.repeat, concurrent=1))
        rounds.setdefault(f"hand-off, {CONCURRENT} at once", []).append(
            hand_off_us(args.repeat, concurrent=CONCURRENT))
        if args.postgres_url:
            rounds.setdefault("checkout with pool_pre_ping", []).append(
                checkout_us(args.postgres_url, args.repeat, pre_ping=True))
            rounds.setdefault("checkout with the socket check", []).append(
                checkout_us(args.postgres_url, args.repeat, pre_ping=False))
    results: dict[str, dict[str, float]] = {}
    for name, values in rounds.items():
        if isinstance(values[0], dict):
            results[name] = {k: round(statistics.median(v[k] for v in values), 1) for k in values[0]}
        else:
            results[name] = {"app_cpu_us": round(statistics.median(values), 1)}
    load = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps({"load_average_1min": load, "parts": results}))
        return 0
    print(f"load average (1 min) at the end: {load}")
    print("| part | app CPU µs | PostgreSQL backend CPU µs | wall µs |")
    print("| --- | ---: | ---: | ---: |")
    for name, figures in results.items():
        print(f"| {name} | {figures['app_cpu_us']} | {figures.get('postgres_cpu_us', '')} | "
              f"{figures.get('wall_us', '')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
