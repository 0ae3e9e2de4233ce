"""The fixed parts of a request, each measured alone: a thread hand-off, a pool checkout (issue 23).

    .venv/bin/python bench/request_parts.py [--postgres-url URL] [--clinic-url URL] [--repeat 3000] [--json]

- **Thread hand-off**: CPU of this process per ``anyio.to_thread.run_sync`` of a function that does nothing,
  on uvloop as ``cadenza serve`` runs it: one request at a time, and 25 at once (a worker under the closed
  loop: the threads then wake each other and contend for the interpreter lock).
- **A page's dependency chain**: CPU of this process per request of a stub page (no database) whose
  dependencies have the shape of a page view's: the unit of work as a generator, the login, the two-factor
  check, the temporary-password check and the route, all plain ``def`` (before issue 23: six hand-offs), or
  as ``cadenza.web.deps`` has them now (a coroutine unit of work that commits on a thread, the login and the
  route as ``def``, the checks as coroutines: three hand-offs); sent through httpx's ASGI transport on
  uvloop, 25 at once.
- **Pool checkout** (``--postgres-url``, a clinic's or any PostgreSQL database): per checkout of a pooled
  connection followed by one ``SELECT 1``, the CPU of this process and of the PostgreSQL backend serving the
  connection (from ``/proc``, so the server must run on this machine), with ``pool_pre_ping`` (a round trip
  before the statement, the engine's setting before issue 23) and with ``make_engine``'s socket check.

- **Per request** (``--clinic-url``, a clinic bench/clinic_data.py made, SQLite or PostgreSQL; used as it is):
  the thread hand-offs, pool checkouts, pings and commits of each request bench/web_load.py sends (plus
  ``/health``), counted in this process with the app behind Starlette's TestClient, the audit sealer stopped
  so only the request's own work counts (the median of 20 requests each).

- **One part alone** (``--only``, with ``--clinic-url``; three rounds): ``caseload-raise``, the caseload-version
  ``UPDATE`` a session write's flush sends (its client and session; in a transaction rolled back at the end);
  ``sealing-round`` (PostgreSQL), a background sealer's round that seals three pending audit events (each
  round's events committed first, untimed; the events stay in the clinic, sealed); ``tool-alerts``, each tool's
  ``overview_many`` (the dashboard's alerts) for the 50 client rows of the busiest therapist's first page;
  ``begin`` (PostgreSQL), a transaction of one ``SELECT 1`` on a bare psycopg connection against the statement
  in autocommit: what psycopg's ``BEGIN``, sent as a round trip of its own, costs at most.

CPU is ``time.process_time`` (this process) and the backend's user + system time; on a machine shared with
other jobs the figures still rise with contention, so the script alternates the variants and prints the
median of three rounds. The counts are exact.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from fastapi.responses import HTMLResponse

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


class _Unit:
    """A stand-in for the request's database session: the stub page measures the dependencies alone."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


@contextmanager
def _unit_of_work() -> Iterator[_Unit]:
    unit = _Unit()
    try:
        yield unit
        unit.commit()
    except BaseException:
        unit.rollback()
        raise
    finally:
        unit.close()


def _plain_db() -> Iterator[_Unit]:
    with _unit_of_work() as unit:
        yield unit


async def _coroutine_db() -> AsyncIterator[_Unit]:
    import anyio
    import anyio.to_thread

    scope = _unit_of_work()
    unit = scope.__enter__()
    try:
        yield unit
    except BaseException as exc:
        await anyio.to_thread.run_sync(scope.__exit__, type(exc), exc, exc.__traceback__,
                                       limiter=anyio.CapacityLimiter(1))
        raise
    await anyio.to_thread.run_sync(scope.__exit__, None, None, None, limiter=anyio.CapacityLimiter(1))


PlainDb = Annotated[_Unit, Depends(_plain_db, scope="function")]
CoroutineDb = Annotated[_Unit, Depends(_coroutine_db, scope="function")]


def _plain_login(db: PlainDb) -> int:
    return 1


def _plain_enrolled(db: PlainDb, user: Annotated[int, Depends(_plain_login)]) -> int:
    return user


def _plain_settled(user: Annotated[int, Depends(_plain_enrolled)]) -> int:
    return user


def _plain_page(db: PlainDb, user: Annotated[int, Depends(_plain_settled)]) -> HTMLResponse:
    return HTMLResponse("page")


def _login(db: CoroutineDb) -> int:
    return 1


async def _enrolled(db: CoroutineDb, user: Annotated[int, Depends(_login)]) -> int:
    return user


async def _settled(user: Annotated[int, Depends(_enrolled)]) -> int:
    return user


def _page(db: CoroutineDb, user: Annotated[int, Depends(_settled)]) -> HTMLResponse:
    return HTMLResponse("page")


def page_chain_us(repeat: int, *, coroutines: bool, concurrent: int = CONCURRENT) -> float:
    """Microseconds of this process's CPU per request of the stub page (see the module doc)."""
    import httpx
    import uvloop
    from fastapi import FastAPI

    app = FastAPI()
    app.add_api_route("/page", _page if coroutines else _plain_page, methods=["GET"])

    async def run() -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            async def views(count: int) -> None:
                for _ in range(count):
                    assert (await http.get("/page")).status_code == 200

            await views(20)
            started = time.process_time()
            await asyncio.gather(*(views(repeat // concurrent) for _ in range(concurrent)))
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


def caseload_raise_us(url: str, repeat: int) -> dict[str, float]:
    """Per caseload-version raise of a session write's shape (its client and its session; the raise a session
    write's flush sends): microseconds of this process's CPU, statement and execution included, in one
    transaction rolled back at the end (the clinic is left as it was)."""
    from sqlalchemy import func, select

    from cadenza.clinic import caseload_version
    from cadenza.clinic.db import make_engine, make_session_factory
    from cadenza.clinic.models import TherapySession

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            client_id, session_id = db.execute(select(TherapySession.client_id, func.max(TherapySession.id))
                                               .group_by(TherapySession.client_id).limit(1)).one()
            connection = db.connection()

            def raise_once() -> None:
                db.info.pop(caseload_version._DONE_KEY, None)
                caseload, roster = caseload_version._Touched(), caseload_version._Touched()
                caseload.clients.add(client_id)
                caseload.sessions.add(session_id)
                caseload_version._raise(db, connection, caseload, roster)

            for _ in range(20):
                raise_once()
            started = time.process_time()
            for _ in range(repeat):
                raise_once()
            spent_us = (time.process_time() - started) / repeat * 1e6
            db.rollback()
        return {"app_cpu_us": spent_us}
    finally:
        engine.dispose()


def tool_alerts_us(url: str, repeat: int) -> dict[str, dict[str, float]]:
    """Per call of each tool's ``overview_many`` (the dashboard's alerts) for the first page of the busiest
    therapist's client list (the dashboard's 50 rows): microseconds of this process's CPU, in one transaction
    rolled back at the end."""
    from sqlalchemy import func, select

    from cadenza.clinic import dashboard_lists
    from cadenza.clinic.db import make_engine, make_session_factory
    from cadenza.clinic.models import Client, Therapist
    from cadenza.plugins import load_target
    from cadenza.web.routes import CLIENT_TOOLS

    engine = make_engine(url)
    found: dict[str, dict[str, float]] = {}
    try:
        with make_session_factory(engine)() as db:
            therapist_id = db.execute(select(Client.therapist_id, func.count()).group_by(Client.therapist_id)
                                      .order_by(func.count().desc(), Client.therapist_id).limit(1)).one()[0]
            actor = db.get(Therapist, therapist_id)
            lines = dashboard_lists.client_lines_page(db, actor=actor, limit=50).items
            for tool in CLIENT_TOOLS:
                if not tool.overview_many:
                    continue
                many = load_target(tool.overview_many)
                for _ in range(20):
                    many(db, lines)
                started = time.process_time()
                for _ in range(repeat):
                    many(db, lines)
                found[tool.title] = {"app_cpu_us": (time.process_time() - started) / repeat * 1e6}
            db.rollback()
        return found
    finally:
        engine.dispose()


def begin_round_trip_us(url: str, repeat: int) -> dict[str, dict[str, float]]:
    """What psycopg's ``BEGIN`` costs: per transaction of one ``SELECT 1`` on a bare psycopg connection, as
    SQLAlchemy's transactions run (``BEGIN`` sent on its own before the statement, then ``COMMIT``: three round
    trips) and in autocommit (the statement alone, one round trip: the floor no transaction can reach); the
    process's CPU, the backend's and wall time, microseconds."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    found: dict[str, dict[str, float]] = {}
    for name, autocommit in (("transaction: BEGIN, SELECT 1, COMMIT", False), ("autocommit: SELECT 1", True)):
        with psycopg.connect(dsn, autocommit=autocommit) as connection:
            backend = connection.info.backend_pid
            for _ in range(50):
                connection.execute("SELECT 1").fetchone()
                connection.commit()
            cpu, wall, server = time.process_time(), time.perf_counter(), _backend_cpu_s(backend)
            for _ in range(repeat):
                connection.execute("SELECT 1").fetchone()
                connection.commit()
            found[name] = {"app_cpu_us": (time.process_time() - cpu) / repeat * 1e6,
                           "postgres_cpu_us": (_backend_cpu_s(backend) - server) / repeat * 1e6,
                           "wall_us": (time.perf_counter() - wall) / repeat * 1e6}
    return found


class _QuietSealer:
    """Stands in for a worker's background sealer: commits leave their events pending for the timed round."""

    def nudge(self) -> None: ...


def sealing_round_us(url: str, repeat: int, *, events: int = 3) -> dict[str, float]:
    """Per sealing round of ``events`` pending audit events (PostgreSQL: the chain lock, the pending rows, the
    head, the seals, the spent pending rows): microseconds of this process's CPU and of wall time. Each round's
    events are committed first (untimed) with the background sealer held off; every event is sealed."""
    from sqlalchemy import select

    from cadenza.clinic import audit_chain
    from cadenza.clinic.audit import audit
    from cadenza.clinic.db import make_engine, make_session_factory
    from cadenza.clinic.models import Therapist

    engine = make_engine(url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("request_parts: a sealing round is PostgreSQL's (SQLite seals at commit)")
    audit_chain._SEALERS[engine] = _QuietSealer()
    factory = make_session_factory(engine)
    try:
        cpu_s = wall_s = 0.0
        for n in range(repeat + 20):  # 20 to warm up
            with factory() as db:
                actor = db.scalar(select(Therapist).order_by(Therapist.id).limit(1))
                for _ in range(events):
                    audit(db, actor, "list", "client")
                db.commit()
            cpu, wall = time.process_time(), time.perf_counter()
            sealed = audit_chain.seal_pending(engine, wait=False)
            if n >= 20:
                cpu_s += time.process_time() - cpu
                wall_s += time.perf_counter() - wall
            if sealed != events:
                raise SystemExit(f"request_parts: a sealing round sealed {sealed!r} of {events} events")
        return {"app_cpu_us": cpu_s / repeat * 1e6, "wall_us": wall_s / repeat * 1e6}
    finally:
        audit_chain._SEALERS.pop(engine, None)
        engine.dispose()


def count_per_request(url: str, *, requests: int = 20) -> dict[str, dict[str, float]]:
    """Per kind of request: median thread hand-offs, pool checkouts, pings and commits (see the module doc)."""
    import re
    import tempfile

    import anyio.to_thread
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import web_cpu

    from cadenza.clinic import audit_chain
    from cadenza.settings import Settings
    from cadenza.web.main import create_app

    username, client_id, _ = web_cpu._subject(url)
    counts = dict.fromkeys(("hand-offs", "checkouts", "pings", "commits"), 0)
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        counts["hand-offs"] += 1
        return await run_sync(func, *args, **kwargs)

    anyio.to_thread.run_sync = counted
    try:
        app = create_app(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="cadenza-parts-"))))
        engine = app.state.session_factory.kw["bind"]
        sealer = audit_chain.background_sealer(engine)
        if sealer is not None:
            sealer.stop(final_seal=False)
        event.listen(engine, "checkout", lambda *_: counts.__setitem__("checkouts", counts["checkouts"] + 1))
        event.listen(engine, "commit", lambda *_: counts.__setitem__("commits", counts["commits"] + 1))
        ping = engine.dialect.do_ping
        engine.dialect.do_ping = lambda connection: counts.__setitem__("pings", counts["pings"] + 1) or ping(connection)
        paths = {"health": "/health", "API client": f"/api/v1/clients/{client_id}",
                 "API sessions": f"/api/v1/clients/{client_id}/sessions",
                 "API measurements": f"/api/v1/clients/{client_id}/measurements",
                 "client page": f"/clients/{client_id}", "dashboard": "/",
                 "API session write": f"/api/v1/clients/{client_id}/sessions"}
        found: dict[str, dict[str, float]] = {}
        with TestClient(app, follow_redirects=False) as http:
            login = http.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
            http.post("/login", data={"username": username, "password": web_cpu.PASSWORD, "csrf_token": csrf})
            token = http.post("/api/v1/auth/token", json={"username": username, "password": web_cpu.PASSWORD})
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            for name, path in paths.items():
                headers = bearer if path.startswith("/api/") else None
                seen: dict[str, list[int]] = {key: [] for key in counts}
                for n in range(requests + 2):  # two to warm up
                    for key in counts:
                        counts[key] = 0
                    if name == "API session write":
                        answer = http.post(path, headers=headers, json=web_cpu._session_body(n))
                    else:
                        answer = http.get(path, headers=headers)
                    if answer.status_code not in (200, 201):
                        raise SystemExit(f"request_parts: {path} answered {answer.status_code}")
                    if n >= 2:
                        for key in counts:
                            seen[key].append(counts[key])
                found[name] = {key: statistics.median(values) for key, values in seen.items()}
        if sealer is not None:
            audit_chain.seal_pending(engine)
        engine.dispose()
    finally:
        anyio.to_thread.run_sync = run_sync
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", help="a PostgreSQL database on this machine (for the pool checkout)")
    parser.add_argument("--clinic-url", help="a clinic bench/clinic_data.py made (SQLite or PostgreSQL) for the "
                                             "per-request counts (a session is written to it per write request)")
    parser.add_argument("--repeat", type=int, default=3000)
    parser.add_argument("--counts-only", action="store_true", help="only the per-request counts (--clinic-url)")
    parser.add_argument("--only", choices=("caseload-raise", "sealing-round", "tool-alerts", "begin"),
                        help="only this part (with --clinic-url), three alternating rounds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.only and not args.clinic_url:
        print("request_parts: --only needs --clinic-url", file=sys.stderr)
        return 2
    if args.repeat < CONCURRENT:
        print(f"request_parts: --repeat must be >= {CONCURRENT}, got {args.repeat}", file=sys.stderr)
        return 2
    import os

    rounds: dict[str, list] = {}
    for _ in range(3 if args.only else 0):
        if args.only == "caseload-raise":
            rounds.setdefault("caseload-version raise of a session write", []).append(
                caseload_raise_us(args.clinic_url, args.repeat))
        elif args.only == "begin":
            for title, figures in begin_round_trip_us(args.clinic_url, args.repeat).items():
                rounds.setdefault(title, []).append(figures)
        elif args.only == "tool-alerts":
            for title, figures in tool_alerts_us(args.clinic_url, args.repeat).items():
                rounds.setdefault(f"alerts of 50 clients: {title}", []).append(figures)
        elif args.only == "sealing-round":
            rounds.setdefault("audit sealing round of 3 events", []).append(
                sealing_round_us(args.clinic_url, args.repeat))
    for _ in range(0 if args.counts_only or args.only else 3):
        rounds.setdefault("hand-off, one at a time", []).append(hand_off_us(args.repeat, concurrent=1))
        rounds.setdefault(f"hand-off, {CONCURRENT} at once", []).append(
            hand_off_us(args.repeat, concurrent=CONCURRENT))
        rounds.setdefault("page dependency chain, all def (before)", []).append(
            page_chain_us(args.repeat, coroutines=False))
        rounds.setdefault("page dependency chain, as now", []).append(page_chain_us(args.repeat, coroutines=True))
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
    per_request = count_per_request(args.clinic_url) if args.clinic_url and not args.only else {}
    load = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps({"load_average_1min": load, "parts": results, "per_request": per_request}))
        return 0
    print(f"load average (1 min) at the end: {load}")
    if results:
        print("| part | app CPU µs | PostgreSQL backend CPU µs | wall µs |")
        print("| --- | ---: | ---: | ---: |")
    for name, figures in results.items():
        print(f"| {name} | {figures['app_cpu_us']} | {figures.get('postgres_cpu_us', '')} | "
              f"{figures.get('wall_us', '')} |")
    if per_request:
        print("\n| request | thread hand-offs | pool checkouts | pings | commits |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, figures in per_request.items():
            print(f"| {name} | {figures['hand-offs']:g} | {figures['checkouts']:g} | {figures['pings']:g} | "
                  f"{figures['commits']:g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
