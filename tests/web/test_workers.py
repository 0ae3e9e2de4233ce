"""``cadenza serve --workers 2`` on PostgreSQL (issue 23): nothing that matters lives in one process.

One real server with two uvicorn workers. Requests on fresh connections land on both (their pids are on the
JSON log lines). Login lockout counts failures made on either worker; an Idempotency-Key claimed on one
worker is honoured on the other; Prometheus figures are the sum of both workers; a live walk whose phone
reconnects to the other worker, and then back, comes out as one process would have made it; and a worker killed while
clients are writing loses no record and leaves no half-written one: every client a retry saw created exists
once, with its audit event, every audit event is sealed within a second (batched sealing), and the chain verifies.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.audit_chain import AuditSeal, verify_chain
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import AuditEvent, Client

# PostgreSQL only (the SQLite refusal is tests/web/test_operations.py's): the shared fixture, one parameter.
pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True, scope="module")]

PASSWORD = "violin-harbour-sunrise-7"
START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TwoWorkers:
    def __init__(self, base_url: str, process: subprocess.Popen, log: Path) -> None:
        self.base_url, self.process, self.log = base_url, process, log

    def access_lines(self) -> list[dict]:
        lines = []
        for raw in self.log.read_text(errors="replace").splitlines():
            if raw.startswith("{") and '"cadenza.access"' in raw:
                lines.append(json.loads(raw))
        return lines

    def pids_of(self, request_ids: set[str]) -> set[int]:
        return {line["pid"] for line in self.access_lines() if line.get("request_id") in request_ids}

    def fresh(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One request on its own connection (so the kernel may hand it to either worker)."""
        with httpx.Client(base_url=self.base_url, timeout=30.0) as one:
            return one.request(method, path, **kwargs)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.fresh("GET", "/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        pytest.fail(f"two workers did not become ready:\n{self.log.read_text(errors='replace')[-4000:]}")


def _serve(tmp_path: Path, database_url: str, *args: str) -> tuple[subprocess.Popen, int, Path]:
    port = _free_port()
    env = {**os.environ, "CADENZA_DATABASE_URL": database_url, "CADENZA_DATA_DIR": str(tmp_path / "data")}
    env.pop("CADENZA_USER", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cadenza.cli.main", "serve", "--port", str(port), *args],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    return process, port, log


@pytest.fixture(scope="module")
def two_workers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWorkers]:
    folder = tmp_path_factory.mktemp("workers")
    engine = make_engine(database_url)
    with session_scope(make_session_factory(engine)) as db:
        for name in ("wanda", "walt"):
            service.create_therapist(db, actor=None, username=name, password=PASSWORD)
    engine.dispose()
    process, port, log = _serve(folder, database_url, "--workers", "2")
    server = TwoWorkers(f"http://127.0.0.1:{port}", process, log)
    try:
        server.wait_ready()
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _parallel(n: int, call) -> list:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


def _token(server: TwoWorkers, username: str) -> dict[str, str]:
    answer = server.fresh("POST", "/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _spread(two_workers, label: str, call, n: int = 24, rounds: int = 5) -> list:
    """``call(i, request_id)`` n at a time until both workers served some (the kernel hands connections out
    as each worker accepts, so one busy round may all land on one); returns every answer."""
    answers, ids = [], set()
    for r in range(rounds):
        batch = [f"{label}-{r}-{i}" for i in range(n)]
        answers += _parallel(n, lambda i, batch=batch: call(i, batch[i]))
        ids |= set(batch)
        time.sleep(0.3)  # the log lines are written as the responses finish
        if len(two_workers.pids_of(ids)) == 2:
            break
    return answers, two_workers.pids_of(ids)


def test_fresh_connections_are_served_by_both_workers(two_workers):
    answers, pids = _spread(two_workers, "spread",
                            lambda i, rid: two_workers.fresh("GET", "/health", headers={"X-Request-ID": rid}))
    assert all(a.status_code == 200 for a in answers)
    assert len(pids) == 2


def test_login_lockout_counts_failures_made_on_either_worker(two_workers):
    wrong = _parallel(5, lambda i: two_workers.fresh(
        "POST", "/api/v1/auth/token", json={"username": "walt", "password": f"not-it-{i}-xxxxxxx"}))
    assert [a.status_code for a in wrong] == [401] * 5
    # The right password, from then on, is refused by both workers (whichever saw the failures).
    right, pids = _spread(two_workers, "right", lambda i, rid: two_workers.fresh(
        "POST", "/api/v1/auth/token", json={"username": "walt", "password": PASSWORD}, headers={"X-Request-ID": rid}),
        n=4)
    assert {a.status_code for a in right} == {401}, "the account must be locked on every worker"
    assert len(pids) == 2


def test_an_idempotency_key_claimed_on_one_worker_holds_on_the_other(two_workers):
    headers = {**_token(two_workers, "wanda"), "Idempotency-Key": "same-tap-1"}
    answers, pids = _spread(two_workers, "idem", lambda i, rid: two_workers.fresh(
        "POST", "/api/v1/clients", json={"code": "W-IDEM"}, headers={**headers, "X-Request-ID": rid}), n=6)
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1, "every 201 must be the same stored client"
    assert len(pids) == 2


def _count(text: str, route: str) -> float:
    pattern = (r'cadenza_http_request_duration_seconds_count\{method="GET",route="' + re.escape(route)
               + r'",status="2xx"\} ([0-9.e+]+)')
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_metrics_add_up_every_worker(two_workers):
    before = _count(two_workers.fresh("GET", "/metrics").text, "/health")
    _parallel(20, lambda i: two_workers.fresh("GET", "/health"))
    scraped = two_workers.fresh("GET", "/metrics")
    assert scraped.status_code == 200
    assert _count(scraped.text, "/health") - before == 20


def _socket_on_other_worker(two_workers: TwoWorkers, walk_id: int, token: str, avoid: int | None):
    """A live socket for the walk on a worker other than ``avoid``; returns (socket, the worker's pid). Sockets
    opened one after another all go to the worker that is waiting, so eight are opened at once and the rest
    closed. The accept line on the log names the client's port and the worker's pid."""
    from websockets.sync.client import connect

    host = two_workers.base_url.removeprefix("http://")

    def one(_: int):
        ws = connect(f"ws://{host}/live/ws/{walk_id}", open_timeout=30,
                     additional_headers={"Origin": f"http://{host}", "Cookie": f"cadenza_session={token}"})
        return ws, f'127.0.0.1:{ws.socket.getsockname()[1]} - "WebSocket /live/ws/{walk_id}" [accepted]'

    for _ in range(5):
        opened = _parallel(8, one)
        pids: dict[int, int] = {}
        deadline = time.monotonic() + 5
        while len(pids) < len(opened) and time.monotonic() < deadline:
            messages = {}
            for raw in two_workers.log.read_text(errors="replace").splitlines():
                if raw.startswith("{") and "WebSocket" in raw:
                    line = json.loads(raw)
                    messages[line["message"]] = line["pid"]
            pids = {i: messages[accepted] for i, (_, accepted) in enumerate(opened) if accepted in messages}
            time.sleep(0.05)
        chosen = next((i for i, pid in pids.items() if pid != avoid), None)
        for i, (ws, _) in enumerate(opened):
            if i != chosen:
                ws.close()
        if chosen is not None:
            return opened[chosen][0], pids[chosen]
    lines = [raw for raw in two_workers.log.read_text(errors="replace").splitlines() if "WebSocket" in raw]
    pytest.fail(f"no live socket reached a worker other than {avoid}: {pids} {lines[-6:]}")


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_a_live_walk_moves_between_workers_and_comes_out_as_one(two_workers, database_url, rng, make_lower_back,
                                                                make_walk):
    from cadenza.clinic import auth
    from cadenza.ras.live import LiveCueSession
    from cadenza.tools.live import records

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            grant = auth.login(db, username="wanda", password=PASSWORD)
            token, nurse = grant.token, grant.therapist
            client = service.create_client(db, actor=nurse, code="W-LIVE")
            walk_id = records.start_walk_for_therapist(db, actor=nurse, client_id=client.id, preferred_cadence_spm=110,
                                                       increase_percent=7, placement="lower-back").id
        rate_hz = 60.0
        ic = make_walk(start_s=1.0, n_steps=32, step_s=0.545, rng=rng)
        acc = make_lower_back(ic, duration_s=19.0, sampling_rate_hz=rate_hz, rng=rng)
        times_ms = 5000.0 + np.arange(acc.shape[-1]) / rate_hz * 1000.0
        batches = [{"seq": j, "t_ms": times_ms[i:i + 15].tolist(), "acc": acc[:, i:i + 15].tolist()}
                   for j, i in enumerate(range(0, times_ms.size, 15))]
        legs = np.array_split(np.arange(len(batches)), 3)
        replies, pids, pid = [], [], None
        for n, leg in enumerate(legs):
            ws, pid = _socket_on_other_worker(two_workers, walk_id, token, avoid=pid)
            pids.append(pid)
            with ws:
                for j in leg:
                    ws.send(json.dumps(batches[j]))
                    replies.append(json.loads(ws.recv(timeout=20)))
                if n == len(legs) - 1:
                    ws.send(json.dumps({"type": "end"}))
                    closed = json.loads(ws.recv(timeout=20))
            if n < len(legs) - 1:  # a phone would re-send what was not saved; this one waits for the save
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    with session_scope(factory) as db:
                        if db.get(records.LiveCueWalk, walk_id).last_seq == int(leg[-1]):
                            break
                    time.sleep(0.05)
                else:
                    pytest.fail("the closed socket's save never reached the row")
        assert pids[0] != pids[1] != pids[2]  # there and back: the first worker's own copy was older than the row
        assert [r["ack"] for r in replies] == list(range(len(batches)))
        assert not any(r.get("duplicate") or r.get("error") for r in replies)
        one = LiveCueSession(preferred_cadence_spm=110, goal_cadence_spm=110 * 1.07, placement="lower-back")
        steps_ms, beats_ms = [], []
        for b in batches:
            update = one.push(np.asarray(b["t_ms"]) / 1000.0, np.asarray(b["acc"]))
            steps_ms += [round(t * 1000.0, 3) for t in update.step_times_s]
            beats_ms += [round(t * 1000.0, 3) for t in update.beat_times_s]
        assert [s for r in replies for s in r["steps_ms"]] == steps_ms and len(steps_ms) >= 20
        assert [b for r in replies for b in r["beats_ms"]] == beats_ms and len(beats_ms) >= 20
        one.close()
        assert closed["closed"] and closed["summary"]["n_steps"] == one.summary()["n_steps"]
        with session_scope(factory) as db:
            row = db.get(records.LiveCueWalk, walk_id)
            assert row.ended_at is not None and row.live_state is None
            assert len(row.step_times_s) == one.summary()["n_steps"]
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_the_newest_socket_of_a_walk_wins_across_workers(two_workers, database_url, rng, make_lower_back, make_walk):
    """A phone reconnects to the other worker while its old socket is still open there: the new socket owns
    the walk, and the old one is closed with the superseded code (the page then cues on alone) and saves nothing."""
    from websockets.exceptions import ConnectionClosed

    from cadenza.clinic import auth
    from cadenza.tools.live import actions, records

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            grant = auth.login(db, username="wanda", password=PASSWORD)
            client = service.create_client(db, actor=grant.therapist, code="W-LEASE")
            walk_id = records.start_walk_for_therapist(db, actor=grant.therapist, client_id=client.id,
                                                       preferred_cadence_spm=110, increase_percent=7).id
        ic = make_walk(start_s=1.0, n_steps=24, step_s=0.545, rng=rng)
        acc = make_lower_back(ic, duration_s=14.0, sampling_rate_hz=60.0, rng=rng)
        times_ms = 5000.0 + np.arange(acc.shape[-1]) / 60.0 * 1000.0
        batches = [{"seq": j, "t_ms": times_ms[i:i + 15].tolist(), "acc": acc[:, i:i + 15].tolist()}
                   for j, i in enumerate(range(0, times_ms.size, 15))]
        old, old_pid = _socket_on_other_worker(two_workers, walk_id, grant.token, avoid=None)
        for batch in batches[:20]:
            old.send(json.dumps(batch))
            assert json.loads(old.recv(timeout=20))["ack"] == batch["seq"]
        new, new_pid = _socket_on_other_worker(two_workers, walk_id, grant.token, avoid=old_pid)
        assert new_pid != old_pid
        with new:
            for batch in batches[20:40]:
                new.send(json.dumps(batch))
                reply = json.loads(new.recv(timeout=20))
                assert reply["ack"] == batch["seq"] and not reply.get("duplicate") and not reply.get("error")
            time.sleep(actions.LEASE_CHECK_S + 0.1)  # the old worker re-reads the lease at the next batch after this
            with old, pytest.raises(ConnectionClosed) as closed:
                for batch in batches[20:40]:  # the old page goes on streaming: none of it is taken
                    old.send(json.dumps(batch))
                    assert "ack" not in json.loads(old.recv(timeout=20)), "a superseded socket took a batch"
            assert closed.value.rcvd.code == actions.SUPERSEDED_CLOSE_CODE
            assert "newer connection" in closed.value.rcvd.reason
            for batch in batches[40:]:  # the new socket was never disturbed
                new.send(json.dumps(batch))
                assert json.loads(new.recv(timeout=20))["ack"] == batch["seq"]
            new.send(json.dumps({"type": "end"}))
            ended = json.loads(new.recv(timeout=20))
        assert ended["closed"] and ended["summary"]["n_steps"] >= 15
        with session_scope(factory) as db:
            row = db.get(records.LiveCueWalk, walk_id)
            assert row.ended_at is not None and row.last_seq == len(batches) - 1 and row.socket_lease == 2
    finally:
        engine.dispose()


def test_a_worker_killed_mid_write_loses_and_half_writes_nothing(two_workers, database_url):
    headers = _token(two_workers, "wanda")
    seen: dict[str, int] = {}  # code -> client id, from the answer that finally came back
    stop = threading.Event()
    errors: list[str] = []

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            code = f"KILL-{n}-{i}"
            for _ in range(40):  # a dropped connection is retried with the same key, as a phone would
                try:
                    answer = two_workers.fresh("POST", "/api/v1/clients", json={"code": code},
                                               headers={**headers, "Idempotency-Key": code})
                except httpx.HTTPError:
                    time.sleep(0.1)
                    continue
                if answer.status_code in (409, 503):  # the claim of a killed request is still fresh
                    time.sleep(0.25)
                    continue
                if answer.status_code != 201:
                    errors.append(f"{code}: {answer.status_code} {answer.text[:200]}")
                else:
                    seen[code] = answer.json()["id"]
                break
            i += 1

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(writer, n) for n in range(4)]
        time.sleep(1.5)
        pids = {line["pid"] for line in two_workers.access_lines() if line["route"] == "/api/v1/clients"}
        assert pids, "no writes reached the workers"
        victim = sorted(pids)[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(2.5)
        stop.set()
        for future in futures:
            future.result()
    assert not errors, errors
    assert len(seen) >= 10
    engine = make_engine(database_url)
    try:
        # Batched sealing: what the killed worker committed but did not seal, the survivor's sealer seals,
        # and every event is sealed within the window docs/clinic.md states (1 s).
        stopped = time.monotonic()
        while True:
            with engine.connect() as connection:
                unsealed = connection.scalar(select(func.count()).select_from(AuditEvent).where(
                    ~select(AuditSeal.seq).where(AuditSeal.event_id == AuditEvent.id).exists()))
            if not unsealed:
                break
            assert time.monotonic() - stopped < 1.0, f"{unsealed} audit events unsealed 1 s after the last write"
            time.sleep(0.02)
        with session_scope(make_session_factory(engine)) as db:
            stored = dict(db.execute(select(Client.code, Client.id).where(Client.code.like("KILL-%"))).all())
            for code, client_id in seen.items():
                assert stored.get(code) == client_id, f"{code} answered 201 but is not stored as {client_id}"
            for code, client_id in stored.items():
                audited = db.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.client_id == client_id))
                assert audited >= 1, f"client {code} was stored without its audit event"
            report = verify_chain(db)
            assert report.ok and report.pending_count == 0, report
    finally:
        engine.dispose()
    assert two_workers.fresh("GET", "/ready").status_code == 200  # the supervisor started a new worker
