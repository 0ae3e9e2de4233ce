"""CPU time and SQL statements per request of the hot pages, on a large clinic (issue 23).

Usage (a SQLite copy of bench/clinic_data.py's clinic, or a PostgreSQL URL):

    .venv/bin/python bench/clinic_data.py sqlite:////tmp/clinic10k.db          # once, ~3 min
    .venv/bin/python bench/web_cpu.py sqlite:////tmp/clinic10k.db [--requests 40] [--json]
    .venv/bin/python bench/web_cpu.py sqlite:////tmp/clinic10k.db --profile "client page"   # cProfile it

A SQLite file is copied (with its ``audit.key``) into a scratch folder first, so the audit rows and the
sessions the requests write never grow the generated clinic; a PostgreSQL URL is used as it is (the
"API session write" row stores its sessions there). The app runs in this
process behind Starlette's TestClient; the therapist is the one whose client has the most sessions. For
each page the table gives the median CPU time of the whole process per request (``time.process_time``:
the server's threads and the test client's, which is small and the same for every page), the templates'
share of it, the median wall time, how long the request held the audit chain's lock (from taking it to
the end of the commit: the part no other request can overlap), and the SQL statements the request sent
(a SQLAlchemy ``before_cursor_execute`` listener). On a machine shared with other jobs, CPU time is the
steady figure; the wall time depends on the load average printed with it.

The dashboard appears three times: "dashboard" is the view as a therapist sees it again (its lists kept from the
previous view while the caseload has not changed: cadenza.web.dashboard_cache), "dashboard, computed" the
view after a change (the kept lists dropped before each request), "dashboard after a session write" the
view after an (untimed) session write through the API, the most common change under bench/web_load.py's
mix (what is kept across it depends on the code: cadenza.clinic.caseload_version). The pages are those
bench/web_load.py requests (the client JSON, session list, measurements, client page, dashboard and a
session write) and the client list and session page.

The peer is the same code before a change: run the script with ``PYTHONPATH`` at the older ``src``
(bench/RESULTS.md, issue 23, has both).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load-test-passphrase-2026"  # bench/clinic_data.py's password for every account


def _copy_sqlite(url: str, scratch: Path) -> str:
    from sqlalchemy.engine import make_url

    from cadenza.clinic.audit_chain import KEY_FILE_NAME

    source = Path(make_url(url).database)
    if not source.exists():
        raise SystemExit(f"web_cpu: {source} does not exist; make it with bench/clinic_data.py")
    import sqlite3

    target = scratch / source.name
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # a consistent copy, WAL included
    key = source.parent / KEY_FILE_NAME
    if key.exists():
        shutil.copy2(key, scratch / KEY_FILE_NAME)
    from cadenza.clinic.db import migrate

    copy = f"sqlite:///{target}"
    migrate(copy)  # the copy gains the code's newer columns (a no-op when the clinic is current)
    return copy


def _subject(url: str) -> tuple[str, int, int]:
    """(username, client id, session id): the therapist of the client with the most sessions, and that
    client's newest session."""
    from sqlalchemy import func, select

    from cadenza.clinic.db import make_engine
    from cadenza.clinic.models import Client, Therapist, TherapySession

    engine = make_engine(url)
    with engine.connect() as connection:
        client_id, _ = connection.execute(
            select(TherapySession.client_id, func.count()).group_by(TherapySession.client_id)
            .order_by(func.count().desc(), TherapySession.client_id).limit(1)).one()
        username = connection.scalar(select(Therapist.username).join(Client, Client.therapist_id == Therapist.id)
                                     .where(Client.id == client_id))
        session_id = connection.scalar(select(func.max(TherapySession.id)).where(TherapySession.client_id == client_id))
    engine.dispose()
    return username, client_id, session_id


def _time_the_chain_lock(factory) -> list[float]:
    """A list that collects, per commit, the seconds from taking the audit chain's lock (PostgreSQL's advisory
    lock; on SQLite the seal runs under the write lock) to the end of the commit: the part of a request that
    no other request can overlap."""
    from sqlalchemy import event

    from cadenza.clinic import audit_chain

    held: list[float] = []
    taken: list[float] = []
    name = "_lock_head" if hasattr(audit_chain, "_lock_head") else "append_seals"  # the code before issue 23
    locking = getattr(audit_chain, name)

    def timed(*args, **kwargs):
        taken.append(time.perf_counter())
        return locking(*args, **kwargs)

    setattr(audit_chain, name, timed)

    @event.listens_for(factory, "after_commit")
    def _released(_session) -> None:
        if taken:
            held.append(time.perf_counter() - taken.pop())

    return held


def _profile_worker_threads() -> cProfile.Profile:
    """A profiler enabled around every call the server hands to a worker thread (routes and dependencies
    are plain ``def``: that is where a request's own work runs); cProfile only sees the thread that enabled it.
    Its clock is that thread's CPU time, so waiting for the database or for the interpreter lock counts nothing."""
    import anyio.to_thread

    profiler = cProfile.Profile(time.thread_time)
    run_sync = anyio.to_thread.run_sync

    async def profiled(func, *args, **kwargs):
        def call(*inner):
            profiler.enable()
            try:
                return func(*inner)
            finally:
                profiler.disable()

        return await run_sync(call, *args, **kwargs)

    anyio.to_thread.run_sync = profiled
    return profiler


def pages(client_id: int, session_id: int) -> dict[str, str]:
    return {
        "dashboard": "/",
        COMPUTED: "/",
        AFTER_WRITE: "/",
        "client list": "/clients",
        "client page": f"/clients/{client_id}",
        "session page": f"/clients/{client_id}/sessions/{session_id}",
        "API clients": "/api/v1/clients",
        "API sessions": f"/api/v1/clients/{client_id}/sessions",
        "API measurements": f"/api/v1/clients/{client_id}/measurements",
        "API client": f"/api/v1/clients/{client_id}",
        WRITE: f"/api/v1/clients/{client_id}/sessions",
    }


COMPUTED = "dashboard, computed"  # its kept lists dropped before each request (the view after a change)
AFTER_WRITE = "dashboard after a session write"  # an untimed session write through the API, then the view
WRITE = "API session write"  # POSTed: a session with two measurements and its intervention, like web_load's writes


def _session_body(n: int) -> dict:
    import datetime as dt

    return {"session_date": (dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)).isoformat(), "minutes": 45,
            "intervention_code": "receptive_listening",
            "plan": "web_cpu", "measurements": [{"instrument_code": "vas_anxiety", "value": 40 + n % 20},
                                                {"instrument_code": "vas_anxiety", "value": 30 + n % 20}]}


class GcClock:
    """CPU time the cyclic garbage collector takes (``gc.callbacks``, any thread), and how many collections of
    the oldest generation ran: a request's median CPU hides it, as only some requests pay for a collection."""

    def __init__(self) -> None:
        import gc

        self.seconds, self.full_collections, self._started = 0.0, 0, 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.full_collections += info.get("generation") == 2

    def reset(self) -> None:
        self.seconds, self.full_collections = 0.0, 0


def measure(url: str, *, requests: int, profile: str | None = None, show_sql: bool = False,
            warmup: int = 3, gc_freeze: bool = False) -> dict[str, dict]:
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from cadenza.settings import Settings
    from cadenza.web.main import create_app

    from cadenza.web import templating

    username, client_id, session_id = _subject(url)
    template_s = [0.0]
    template_response = templating.templates.TemplateResponse

    def timed_template(*args, **kwargs):
        started = time.thread_time()
        try:
            return template_response(*args, **kwargs)
        finally:
            template_s[0] += time.thread_time() - started

    templating.templates.TemplateResponse = timed_template
    app = create_app(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="cadenza-cpu-"))))
    if gc_freeze:
        from cadenza.web.main import freeze_startup_objects

        freeze_startup_objects()
    gc_clock = GcClock()
    engine = app.state.session_factory.kw["bind"]
    lock_held_s = _time_the_chain_lock(app.state.session_factory)
    statements = [0]
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_connection, _cursor, statement, *_args) -> None:
        statements[0] += 1
        sent.append(" ".join(statement.split())[:240])

    results: dict[str, dict] = {}
    with TestClient(app, follow_redirects=False) as http:
        login = http.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        answer = http.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
        if answer.status_code != 303:
            raise SystemExit(f"web_cpu: login of {username!r} answered {answer.status_code}")
        token = http.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}).json()
        api = {"Authorization": f"Bearer {token['access_token']}"}
        for name, path in pages(client_id, session_id).items():
            if profile is not None and name != profile:
                continue
            headers = api if path.startswith("/api/") else None
            sent_so_far = [0]

            def request(path=path, headers=headers, name=name):
                kept = getattr(app.state, "dashboard_cache", None)  # issue 23; the code before has none
                if name == COMPUTED and kept is not None:
                    kept.clear()
                if name != WRITE:
                    return http.get(path, headers=headers)
                sent_so_far[0] += 1
                return http.post(path, headers=headers, json=_session_body(sent_so_far[0]))

            def before(name=name, client_id=client_id):
                if name == AFTER_WRITE:
                    sent_so_far[0] += 1
                    answer = http.post(f"/api/v1/clients/{client_id}/sessions", headers=api,
                                       json=_session_body(1000 + sent_so_far[0]))
                    if answer.status_code != 201:
                        raise SystemExit(f"web_cpu: the session write answered {answer.status_code}")

            for _ in range(warmup):
                before()
                request()
            cpu_ms, wall_ms, counts, render_ms, lock_ms = [], [], [], [], []
            profiler = _profile_worker_threads() if profile else None
            gc_clock.reset()
            for _ in range(requests):
                before()
                statements[0] = 0
                template_s[0] = 0.0
                lock_held_s.clear()
                sent.clear()
                cpu, wall = time.process_time(), time.perf_counter()
                response = request()
                cpu_ms.append((time.process_time() - cpu) * 1000)
                wall_ms.append((time.perf_counter() - wall) * 1000)
                counts.append(statements[0])
                render_ms.append(template_s[0] * 1000)
                lock_ms.append(sum(lock_held_s) * 1000)
                if response.status_code != (201 if name == WRITE else 200):
                    raise SystemExit(f"web_cpu: {path} answered {response.status_code}: {response.text[:300]}")
            results[name] = {"path": path, "cpu_ms": round(statistics.median(cpu_ms), 1),
                             "cpu_ms_mean": round(statistics.fmean(cpu_ms), 1),
                             "gc_ms_mean": round(gc_clock.seconds * 1000 / requests, 2),
                             "full_gc_collections": gc_clock.full_collections,
                             "wall_ms": round(statistics.median(wall_ms), 1),
                             "template_cpu_ms": round(statistics.median(render_ms), 1),
                             "chain_lock_ms": round(statistics.median(lock_ms), 2),
                             "queries": max(counts), "bytes": len(response.content)}
            if show_sql:
                print(f"-- {name}: {path}", *sent, sep="\n", file=sys.stderr)
            if profiler:
                pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("WEB_CPU_SORT", "cumulative")).print_stats(45)
    engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the clinic: a SQLite URL (copied first) or a PostgreSQL URL (used as is)")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page (after 3 warm-ups)")
    parser.add_argument("--profile", metavar="PAGE", help="cProfile one page (a name from the table) to stderr")
    parser.add_argument("--sql", action="store_true", help="print the statements of each page's last request to stderr")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="freeze the objects made at start-up out of the garbage collector's reach, as "
                             "`cadenza serve` does in each worker (cadenza.web.main.freeze_startup_objects)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.requests < 1:
        print(f"web_cpu: --requests must be >= 1, got {args.requests}", file=sys.stderr)
        return 2
    if args.profile is not None and args.profile not in pages(1, 1):
        print(f"web_cpu: --profile must be one of {sorted(pages(1, 1))}, got {args.profile!r}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cadenza-cpu-") as scratch:
        url = _copy_sqlite(args.url, Path(scratch)) if args.url.startswith("sqlite") else args.url
        results = measure(url, requests=args.requests, profile=args.profile, show_sql=args.sql,
                          gc_freeze=args.gc_freeze)
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"load_average_1min": load, "pages": results}))
        return 0
    print(f"load average (1 min) at the end: {load:.1f}")
    print("| page | CPU ms / request (median) | mean | of which garbage collection (mean) | full collections | "
          "of which templates | wall ms (median) | chain lock held ms | SQL statements | bytes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['cpu_ms']} | {r['cpu_ms_mean']} | {r['gc_ms_mean']} | {r['full_gc_collections']} | "
              f"{r['template_cpu_ms']} | {r['wall_ms']} | {r['chain_lock_ms']} | {r['queries']} | {r['bytes']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
