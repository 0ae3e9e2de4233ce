"""Web load benchmark: concurrent therapists against a local server on PostgreSQL.

Usage (PostgreSQL from the throwaway server of scripts/with-postgres):

    scripts/with-postgres .venv/bin/python bench/web_load.py [--users 50] [--seconds 60] [--json]
    .venv/bin/python bench/web_load.py --backend sqlite [...]      # the embedded default backend
    # issue 23: the generated 10,000-client clinic, one worker then two, closed-loop then think-time users,
    # and one user's client page and dashboard:
    scripts/with-postgres .venv/bin/python bench/web_load.py --clinic 10000 --workers 1,2 \
        --users 50 --think-users 200 --think-s 5 --single-user 200

``--clinic-url URL`` runs against a clinic bench/clinic_data.py already made (and keeps it), so two versions
of the server (``PYTHONPATH`` at each one's ``src``) meet the same record on the same machine.

With ``--clinic N`` the record is bench/clinic_data.py's clinic (100 therapists, N clients, 5 years of
sessions, measurements and sealed audit rows) instead of the small seed. ``--workers 1,2`` runs the same
load against ``cadenza serve --workers 1`` and then ``--workers 2`` on the same database.

A fresh database is created on the server in CADENZA_TEST_POSTGRES_URL, migrated and seeded
(``--therapists`` accounts, ``--clients-per-therapist`` clients each, one goal per client). The app
runs in its own process (uvicorn, one worker), the load in this one: ``--users`` virtual users,
each logged in as a therapist with an API token and a browser session, loop without think time
over a mix of reads (client record JSON, session list, measurements, the HTML client page,
the dashboard) and writes (a session with STAI-6 and VAS measurements, ``--write-share`` of
requests). At the end the rows the server acknowledged (201) are compared with the rows stored:
they must be equal, and every stored session must have its audit event.

Around each run's clock the CPU seconds of the server's workers, of PostgreSQL (when it runs on this machine)
and of this process (the load generator) are read from /proc (bench/proc_cpu.py), and PostgreSQL's transaction
counters; the output gives both per request. The virtual users speak HTTP through aiohttp when it is installed
(the ``bench`` extra), else httpx (``--client``): each request is timed from its start to its whole answer read.
``--no-lock-sampling`` leaves out the lock sampler, whose statements every 50 ms would count in both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load-test-passphrase-2026"
STAI = {"calm": 3, "tense": 2, "upset": 1, "relaxed": 3, "content": 2, "worried": 2}


@dataclass
class Tally:
    latencies_s: dict[str, list[float]] = field(default_factory=lambda: {"read": [], "write": []})
    errors: dict[str, int] = field(default_factory=dict)
    sessions_written: int = 0
    measurements_written: int = 0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group (bench/proc_cpu.py)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index] * 1000


def create_database(base_url: str) -> str:
    from sqlalchemy.engine import make_url

    from cadenza.clinic.db import make_engine

    base = make_url(base_url)
    name = f"cadenza_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    from cadenza.clinic.db import make_engine

    admin = make_engine(make_url(base_url).render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def seed(url: str, *, therapists: int, clients_per_therapist: int) -> list[dict]:
    """Accounts, clients and one STAI-6 goal per client; returns what the virtual users need."""
    from cadenza.clinic import service
    from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope

    migrate(url)
    engine = make_engine(url)
    people = []
    with session_scope(make_session_factory(engine)) as db:
        for t in range(therapists):
            therapist = service.create_therapist(db, actor=None, username=f"load{t:02d}", password=PASSWORD)
            clients = []
            for c in range(clients_per_therapist):
                client = service.create_client(db, actor=therapist, code=f"T{t:02d}C{c:02d}")
                goal = service.create_goal(db, actor=therapist, client_id=client.id, instrument_code="stai6",
                                           baseline=60, target=40)
                clients.append({"client_id": client.id, "goal_id": goal.id})
            people.append({"username": therapist.username, "clients": clients})
    engine.dispose()
    return people


def count_rows(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from cadenza.clinic.db import make_engine
    from cadenza.clinic.models import AuditEvent, Measurement, TherapySession

    engine = make_engine(url)
    with engine.connect() as connection:
        counts = {
            "sessions": connection.scalar(select(func.count()).select_from(TherapySession)),
            "measurements": connection.scalar(select(func.count()).select_from(Measurement)),
            "audit_events": connection.scalar(select(func.count()).select_from(AuditEvent)),
            "session_audit": connection.scalar(
                select(func.count()).select_from(AuditEvent)
                .where(AuditEvent.entity == "therapy_session", AuditEvent.action == "create")
            ),
        }
    engine.dispose()
    return counts


def clinic_people(url: str, *, clients: int, therapists: int = 100, generated: bool = False) -> list[dict]:
    """bench/clinic_data.py's clinic (made here unless ``generated``); returns what the virtual users need
    (their clients; no goal ids)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import clinic_data
    from sqlalchemy import select

    from cadenza.clinic.db import make_engine, migrate
    from cadenza.clinic.models import Client, Therapist

    global PASSWORD
    PASSWORD = clinic_data.PASSWORD
    if not generated:
        migrate(url)
        made = clinic_data.generate(url, therapists=therapists, clients=clients)
        print(f"clinic: {made.clients} clients, {made.sessions} sessions, {made.measurements} measurements, "
              f"{made.audit_events} audit events, generated in {made.seconds:.0f} s", file=sys.stderr)
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(Therapist.username, Client.id, Client.birth_year)
                                  .join(Client, Client.therapist_id == Therapist.id)
                                  .where(Therapist.role == "therapist", Client.birth_year <= 2006)).all()
    engine.dispose()
    by_therapist: dict[str, list[dict]] = {}
    for username, client_id, _ in rows:  # adults: the write carries a STAI-6
        by_therapist.setdefault(username, []).append({"client_id": client_id, "goal_id": None})
    return [{"username": u, "clients": c} for u, c in sorted(by_therapist.items())]


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process when it runs on this machine (the parent of our backend), else None."""
    from sqlalchemy import text

    from cadenza.clinic.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:  # read while the backend lives: it exits with its connection
            backend = int(connection.scalar(text("SELECT pg_backend_pid()")))
            try:
                stat = Path(f"/proc/{backend}/stat").read_text()
            except OSError:
                return None  # another machine, or no /proc
    finally:
        engine.dispose()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def database_counters(url: str) -> dict[str, int]:
    """PostgreSQL's counters for the database (``pg_stat_database``): transactions committed and rolled back.
    Read before and after a run, their difference per request shows the work behind a request that the app's
    statement counts do not (the pool's pings, the audit sealer's rounds). Another backend's statistics reach
    the view when its transaction ends, at most ~1 s late (``stats_fetch_consistency``, PostgreSQL 15)."""
    from sqlalchemy import text

    from cadenza.clinic.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            row = connection.execute(text(
                "SELECT xact_commit, xact_rollback, tup_inserted, tup_deleted, tup_updated FROM pg_stat_database "
                "WHERE datname = current_database()")).one()
    finally:
        engine.dispose()
    return dict(zip(("commits", "rollbacks", "rows_inserted", "rows_deleted", "rows_updated"), map(int, row)))


def start_server(url: str, port: int, *, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "CADENZA_DATABASE_URL": url}
    env.setdefault("CADENZA_DATA_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"cadenza-load-{port}"))
    process = subprocess.Popen(
        [sys.executable, "-m", "cadenza.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-format", "text"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the server did not answer /health within 120 s")


class WaitSampler:
    """Samples PostgreSQL while a run's clock runs (every ``interval_s``, in a thread of this process): how many
    of the app's backends wait on an advisory lock (the audit chain's, or a login's) or on another lock, how
    many are active, whether the audit chain's lock is held, and how many audit events await their seal.

    The mean number of waiters divided by the requests per second is the mean wait per request (Little's law).
    """

    def __init__(self, url: str, *, interval_s: float = 0.05) -> None:
        self.url, self.interval_s = url, interval_s
        self.samples: list[tuple[int, int, int, int, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        n = max(1, len(self.samples))
        columns = list(zip(*self.samples)) or [(), (), (), (), ()]
        advisory, other, active, chain_held, pending = (list(c) for c in columns)
        return {"samples": len(self.samples),
                "advisory_waiters_mean": round(sum(advisory) / n, 2),
                "other_lock_waiters_mean": round(sum(other) / n, 2),
                "active_backends_mean": round(sum(active) / n, 2),
                "chain_lock_held_share": round(sum(chain_held) / n, 3),
                "pending_seals_mean": round(sum(pending) / n, 1) if pending else 0.0,
                "pending_seals_max": max(pending, default=0)}

    def _run(self) -> None:
        from sqlalchemy import text

        from cadenza.clinic.audit_chain import PG_CHAIN_LOCK_ID
        from cadenza.clinic.db import make_engine

        engine = make_engine(self.url)
        lock_parts = {"classid": PG_CHAIN_LOCK_ID >> 32, "objid": PG_CHAIN_LOCK_ID & 0xFFFFFFFF}
        try:
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                has_pending = connection.scalar(text("SELECT to_regclass('audit_pending') IS NOT NULL"))
                while not self._stop.wait(self.interval_s):
                    rows = connection.execute(text(
                        "SELECT wait_event_type, wait_event, state FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'")).all()
                    held = connection.scalar(text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND classid = :classid AND objid = :objid"), lock_parts)
                    pending = connection.scalar(text("SELECT count(*) FROM audit_pending")) if has_pending else 0
                    self.samples.append((
                        sum(1 for r in rows if r.wait_event_type == "Lock" and r.wait_event == "advisory"),
                        sum(1 for r in rows if r.wait_event_type == "Lock" and r.wait_event != "advisory"),
                        sum(1 for r in rows if r.state == "active"), int(held > 0), int(pending)))
        finally:
            engine.dispose()


_TLS: list = []


def _tls_context():
    """One TLS context for every virtual user: httpx builds one per client otherwise (loading the CA bundle,
    ~10-200 ms of CPU each), and 200 users doing that on the event loop ate the whole run on a busy machine
    (0 requests in 30 s). The server is plain HTTP; the context is never used."""
    import ssl

    if not _TLS:
        _TLS.append(ssl.create_default_context())
    return _TLS[0]


async def log_in(base_url: str, username: str) -> dict[str, str]:
    """A browser session cookie and an API token for one therapist (before the clock starts:
    argon2 is deliberately slow, and logging in is not what this benchmark measures)."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=120, follow_redirects=False) as http:
        page = await http.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = await http.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
        if response.status_code != 303:
            raise RuntimeError(f"login of {username} failed with {response.status_code}")
        token = await http.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        return {"cookie": f"cadenza_session={response.cookies['cadenza_session']}",
                "authorization": f"Bearer {token.json()['access_token']}"}


class _HttpxUser:
    """One virtual user's kept-alive connection through httpx (the project's test client library)."""

    errors: tuple[type[BaseException], ...] = ()

    def __init__(self, base_url: str, cookie: str) -> None:
        import httpx

        type(self).errors = (httpx.HTTPError,)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False, verify=_tls_context(),
                                      headers={"cookie": cookie})

    async def send(self, method: str, path: str, headers: dict | None, body: dict | None) -> tuple[int, bytes]:
        response = await self.http.request(method, path, headers=headers, json=body)
        return response.status_code, response.content  # httpx has read the whole body here

    async def close(self) -> None:
        await self.http.aclose()


class _AiohttpUser:
    """The same through aiohttp's client (C HTTP parser; about a third of httpx's CPU per request here, so the
    load generator takes less of the cores the server shares with it). One connection per user, kept alive;
    cookies are sent as a header and never parsed from answers; the body is read in full before the clock stops."""

    errors: tuple[type[BaseException], ...] = ()

    def __init__(self, base_url: str, cookie: str) -> None:
        import aiohttp

        type(self).errors = (aiohttp.ClientError, asyncio.TimeoutError)
        self.http = aiohttp.ClientSession(
            base_url=base_url, headers={"cookie": cookie}, cookie_jar=aiohttp.DummyCookieJar(),
            connector=aiohttp.TCPConnector(limit=1, force_close=False, ssl=False),
            timeout=aiohttp.ClientTimeout(total=30))

    async def send(self, method: str, path: str, headers: dict | None, body: dict | None) -> tuple[int, bytes]:
        async with self.http.request(method, path, headers=headers, json=body, allow_redirects=False) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.http.close()


CLIENTS = {"httpx": _HttpxUser, "aiohttp": _AiohttpUser}


def default_client() -> str:
    """aiohttp when it is installed (``pip install -e .[bench]``), else httpx."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return "httpx"
    return "aiohttp"


async def virtual_user(base_url: str, person: dict, *, stop_at: float, write_share: float, tally: Tally,
                       rng: random.Random, think_s: float = 0.0, client: str = "httpx") -> None:
    credentials = person["credentials"]
    http = CLIENTS[client](base_url, credentials["cookie"])
    try:
        headers = {"Authorization": credentials["authorization"]}
        day = 0
        if think_s:
            await asyncio.sleep(rng.uniform(0, think_s))  # users arrive spread over one think time
        while time.monotonic() < stop_at:
            if think_s:
                await asyncio.sleep(rng.expovariate(1 / think_s))
                if time.monotonic() >= stop_at:
                    break
            target = rng.choice(person["clients"])
            cid = target["client_id"]
            if rng.random() < write_share:
                kind = "write"
                day += 1
                body = {"session_date": f"2026-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}", "minutes": 45,
                        "intervention_code": "receptive_listening", "plan": "load test",
                        "measurements": [{"instrument_code": "stai6", "items": STAI, "goal_id": target["goal_id"]},
                                         {"instrument_code": "vas_anxiety", "value": rng.randint(0, 100)}]}
                if target["goal_id"] is None:
                    del body["measurements"][0]["goal_id"]
                method, path, sent_headers, expected = "POST", f"/api/v1/clients/{cid}/sessions", headers, 201
            else:
                kind = "read"
                path = rng.choice([f"/api/v1/clients/{cid}", f"/api/v1/clients/{cid}/sessions",
                                   f"/api/v1/clients/{cid}/measurements", f"/clients/{cid}", "/"])
                method, body, expected = "GET", None, 200
                sent_headers = headers if path.startswith("/api/") else None
            started = time.perf_counter()  # from the request's start to its whole answer read
            try:
                status, content = await http.send(method, path, sent_headers, body)
            except http.errors as exc:
                tally.error(type(exc).__name__)
                continue
            tally.latencies_s[kind].append(time.perf_counter() - started)
            if status != expected:
                tally.error(f"HTTP {status}")
                if os.environ.get("WEB_LOAD_DEBUG"):
                    print(kind, status, content[:300], file=sys.stderr)
            elif kind == "write":
                tally.sessions_written += 1
                tally.measurements_written += len(json.loads(content)["measurements"])
    finally:
        await http.close()


async def run_load(base_url: str, people: list[dict], *, users: int, seconds: float, write_share: float,
                   seed_value: int, think_s: float = 0.0, sampler: WaitSampler | None = None,
                   cpu_split=None, client: str = "httpx") -> tuple[Tally, float]:
    tally = Tally()
    rng = random.Random(seed_value)
    people = people[:users]
    for person in people:
        person["credentials"] = await log_in(base_url, person["username"])
    if sampler is not None:
        sampler.start()
    if cpu_split is not None:
        cpu_split.start()
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    tasks = [
        virtual_user(base_url, people[i % len(people)], stop_at=stop_at, write_share=write_share, tally=tally,
                     rng=random.Random(rng.random()), think_s=think_s, client=client)
        for i in range(users)
    ]
    await asyncio.gather(*tasks)
    elapsed_s = time.monotonic() - started
    if cpu_split is not None:
        tally.cpu_s = cpu_split.stop()
    return tally, elapsed_s


async def single_user(base_url: str, person: dict, *, requests: int) -> dict[str, dict[str, float]]:
    """One therapist alone: the busiest client's page and the dashboard, one after the other."""
    import httpx

    credentials = await log_in(base_url, person["username"])
    client_id = person["clients"][0]["client_id"]
    timings: dict[str, list[float]] = {"client page": [], "dashboard": []}
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers={"cookie": credentials["cookie"]}) as http:
        for path in (f"/clients/{client_id}", "/"):  # warm-up
            await http.get(path)
        for _ in range(requests):
            for name, path in (("client page", f"/clients/{client_id}"), ("dashboard", "/")):
                started = time.perf_counter()
                response = await http.get(path)
                timings[name].append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}")
    return {name: {"p50_ms": round(_percentile_ms(v, 50), 1), "p95_ms": round(_percentile_ms(v, 95), 1)}
            for name, v in timings.items()}


def seconds_until_sealed(url: str, *, timeout_s: float = 10.0) -> float:
    """After a run: how long until every committed audit event carries its seal (0 when none waited)."""
    from sqlalchemy import text

    from cadenza.clinic.db import make_engine

    engine = make_engine(url)
    started = time.monotonic()
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            unsealed = ("SELECT count(*) FROM audit_event e WHERE e.id > (SELECT coalesce(max(event_id), 0) - 100000 "
                        "FROM audit_seal) AND NOT EXISTS (SELECT 1 FROM audit_seal s WHERE s.event_id = e.id)")
            asked = started
            while connection.scalar(text(unsealed)):  # the answer is as of when it was asked, not when it came
                if time.monotonic() - started > timeout_s:
                    return float("inf")
                time.sleep(0.02)
                asked = time.monotonic()
    finally:
        engine.dispose()
    return round(asked - started, 3)


def _summary(label: str, tally: Tally, elapsed_s: float, before: dict, after: dict) -> dict:
    stored_sessions = after["sessions"] - before["sessions"]
    stored_measurements = after["measurements"] - before["measurements"]
    all_latencies = tally.latencies_s["read"] + tally.latencies_s["write"]
    result = {
        "run": label,
        "seconds": round(elapsed_s, 1),
        "requests": len(all_latencies),
        "requests_per_s": round(len(all_latencies) / elapsed_s, 1),
        "reads": len(tally.latencies_s["read"]),
        "writes": len(tally.latencies_s["write"]),
        "p50_ms": round(_percentile_ms(all_latencies, 50), 1),
        "p95_ms": round(_percentile_ms(all_latencies, 95), 1),
        "read_p95_ms": round(_percentile_ms(tally.latencies_s["read"], 95), 1),
        "write_p95_ms": round(_percentile_ms(tally.latencies_s["write"], 95), 1),
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "sessions_written": tally.sessions_written,
        "sessions_stored": stored_sessions,
        "measurements_written": tally.measurements_written,
        "measurements_stored": stored_measurements,
        "session_audit_events": after["session_audit"] - before["session_audit"],
        "audit_events_per_s": round((after["audit_events"] - before["audit_events"]) / elapsed_s, 1),
        "mean_latency_ms": round(statistics.fmean(all_latencies) * 1000, 1) if all_latencies else float("nan"),
    }
    result["rows_consistent"] = (tally.sessions_written == stored_sessions == result["session_audit_events"]
                                 and tally.measurements_written == stored_measurements)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="closed-loop users (no think time)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--write-share", type=float, default=0.3)
    parser.add_argument("--therapists", type=int, default=10)
    parser.add_argument("--clients-per-therapist", type=int, default=5)
    parser.add_argument("--clinic", type=int, default=0, metavar="CLIENTS",
                        help="use bench/clinic_data.py's clinic with this many clients (100 therapists)")
    parser.add_argument("--clinic-url", metavar="URL",
                        help="a PostgreSQL database bench/clinic_data.py already filled (kept afterwards), instead "
                             "of generating one; e.g. to run the same clinic against two versions of the server")
    parser.add_argument("--workers", default="1", help="comma-separated worker counts to run in turn, e.g. 1,2")
    parser.add_argument("--think-users", type=int, default=0, help="also run this many users with think time")
    parser.add_argument("--think-s", type=float, default=5.0, help="mean think time of --think-users (s)")
    parser.add_argument("--single-user", type=int, default=0, metavar="N",
                        help="also time N client-page and dashboard requests of one user alone")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql",
                        help="sqlite: a temporary file with WAL, as `scripts/serve` uses by default")
    parser.add_argument("--client", choices=sorted(CLIENTS), default=None,
                        help="the virtual users' HTTP client (default: aiohttp when installed, else httpx); both "
                             "time a request from its start to its whole answer read")
    parser.add_argument("--no-lock-sampling", action="store_true",
                        help="do not sample PostgreSQL's locks while the clock runs (the sampler costs a few "
                             "statements every 50 ms, in this process and in PostgreSQL)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    args.client = args.client or default_client()
    base = os.environ.get("CADENZA_TEST_POSTGRES_URL")
    if args.backend == "postgresql" and not base:
        print("web_load: CADENZA_TEST_POSTGRES_URL is unset; run under scripts/with-postgres", file=sys.stderr)
        return 2
    try:
        worker_counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        worker_counts = []
    if not worker_counts or min(worker_counts) < 1 or (args.backend == "sqlite" and max(worker_counts) > 1):
        print(f"web_load: --workers {args.workers!r} must list counts >= 1 (1 only on sqlite)", file=sys.stderr)
        return 2
    if not (args.users >= 1 and args.seconds > 0 and 0 <= args.write_share <= 1 and args.think_s > 0):
        print("web_load: need --users >= 1, --seconds > 0, 0 <= --write-share <= 1, --think-s > 0", file=sys.stderr)
        return 2

    import tempfile

    scratch = tempfile.TemporaryDirectory(prefix="cadenza-load-")
    if args.clinic_url:
        url = args.clinic_url
    else:
        url = create_database(base) if args.backend == "postgresql" else f"sqlite:///{scratch.name}/load.sqlite3"
    server = None
    runs: list[dict] = []
    single: dict[int, dict] = {}
    try:
        if args.clinic or args.clinic_url:
            people = clinic_people(url, clients=args.clinic, generated=bool(args.clinic_url))
        else:
            people = seed(url, therapists=args.therapists, clients_per_therapist=args.clients_per_therapist)
        sys.path.insert(0, str(ROOT / "bench"))
        from proc_cpu import CpuSplit

        database_pid = postmaster_pid(url) if args.backend == "postgresql" else None
        for workers in worker_counts:
            port = _free_port()
            server = start_server(url, port, workers=workers)
            base_url = f"http://127.0.0.1:{port}"
            loads = [("closed loop", args.users, 0.0)]
            if args.think_users:
                loads.append((f"think {args.think_s:g} s", args.think_users, args.think_s))
            for label, users, think in loads:
                before = count_rows(url)
                pool = [dict(p) for p in people] * (1 + users // max(1, len(people)))
                sampler = (WaitSampler(url) if args.backend == "postgresql" and not args.no_lock_sampling
                           else None)
                roots = {"workers": server.pid, "load generator": os.getpid()}
                if database_pid is not None:
                    roots["postgres"] = database_pid
                cpu_split = CpuSplit(roots, alone=("load generator",))
                load_start = os.getloadavg()[0]
                counters_before = database_counters(url) if args.backend == "postgresql" else {}
                tally, elapsed_s = asyncio.run(run_load(base_url, pool, users=users, seconds=args.seconds,
                                                        write_share=args.write_share, seed_value=args.seed,
                                                        think_s=think, sampler=sampler, cpu_split=cpu_split,
                                                        client=args.client))
                waits = sampler.stop() if sampler is not None else {}
                drained_s = seconds_until_sealed(url) if args.backend == "postgresql" else 0.0
                time.sleep(1.0 if counters_before else 0.0)  # let the backends' statistics reach the view
                counters_after = database_counters(url) if counters_before else {}
                result = _summary(f"{workers} worker(s), {users} users, {label}", tally, elapsed_s, before,
                                  count_rows(url))
                result.update(workers=workers, users=users, think_s=think, waits=waits,
                              load_average_start_end=[round(load_start, 2), round(os.getloadavg()[0], 2)],
                              seconds_until_sealed=drained_s, cpu_s=tally.cpu_s,
                              database_per_request={
                                  name: round((counters_after[name] - counters_before[name])
                                              / max(1, result["requests"]), 2) for name in counters_before},
                              cpu_ms_per_request={name: round(1000 * spent / max(1, result["requests"]), 2)
                                                  for name, spent in tally.cpu_s.items()})
                if waits and result["audit_events_per_s"]:
                    # Little's law again: events awaiting their seal / events committed per second = mean wait.
                    result["mean_seal_wait_ms"] = round(
                        1000 * waits["pending_seals_mean"] / result["audit_events_per_s"], 1)
                if waits and result["requests_per_s"]:
                    # Little's law: mean backends waiting on an advisory lock / requests per second.
                    result["advisory_wait_ms_per_request"] = round(
                        1000 * waits["advisory_waiters_mean"] / result["requests_per_s"], 1)
                runs.append(result)
            if args.single_user:
                busiest = max(people, key=lambda p: len(p["clients"]))
                single[workers] = asyncio.run(single_user(base_url, busiest, requests=args.single_user))
            server.terminate()
            server.wait(timeout=30)
            server = None
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.backend == "postgresql" and not args.clinic_url:
            drop_database(base, url)
        scratch.cleanup()

    ok = all(r["rows_consistent"] and r["errors"] == 0 for r in runs)
    if args.json:
        print(json.dumps({"backend": args.backend, "clinic_clients": args.clinic, "client": args.client, "runs": runs,
                          "single_user": single, "ok": ok}))
        return 0 if ok else 1
    backend = "PostgreSQL" if args.backend == "postgresql" else "SQLite (WAL)"
    record = (f"generated clinic of {args.clinic} clients" if args.clinic
              else "the clinic at --clinic-url" if args.clinic_url else "small seed")
    print(f"Web load on {backend}, {record}, {int(args.write_share * 100)}% writes, {args.seconds:g} s per run, "
          f"virtual users on {args.client}")
    print(f"| run | requests | req/s | p50 ms | p95 ms | read p95 ms | write p95 ms | errors | sessions written / stored |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in runs:
        print(f"| {r['run']} | {r['requests']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{r['read_p95_ms']} | {r['write_p95_ms']} | {r['errors']} | "
              f"{r['sessions_written']} / {r['sessions_stored']}{'' if r['rows_consistent'] else ' MISMATCH'} |")
    for r in runs:
        if r.get("waits"):
            w = r["waits"]
            print(f"{r['run']}: advisory-lock waiters {w['advisory_waiters_mean']} on average "
                  f"(~{r.get('advisory_wait_ms_per_request', 0)} ms per request), chain lock held "
                  f"{100 * w['chain_lock_held_share']:.0f} % of samples, active backends {w['active_backends_mean']}, "
                  f"pending seals mean {w['pending_seals_mean']} / max {w['pending_seals_max']}, all sealed "
                  f"{r['seconds_until_sealed']} s after the run (mean wait for a seal {r.get('mean_seal_wait_ms', 0)} ms); "
                  f"load average {r['load_average_start_end']}")
    for r in runs:
        per = r["cpu_ms_per_request"]
        print(f"{r['run']}: CPU ms per request: " + ", ".join(f"{name} {ms}" for name, ms in per.items())
              + " (the generator's figure includes the lock sampler unless --no-lock-sampling)")
        if r["database_per_request"]:
            print(f"{r['run']}: PostgreSQL per request: " + ", ".join(
                f"{name} {n}" for name, n in r["database_per_request"].items()))
    for workers, timings in single.items():
        for name, t in timings.items():
            print(f"one user alone, {workers} worker(s), {name}: p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
