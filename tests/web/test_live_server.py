"""A real ``cadenza serve`` process under parallel clients, on SQLite and PostgreSQL (security probe C1, H1, H2).

TestClient runs requests one at a time on its own loop and hides event-loop blocking, so these
tests start the server the way a clinic does (uvicorn in a child process) and drive it from many
threads: a double or triple tap on Save, ten tabs editing one note, a validation error while others
read, a long recording upload. Throughout, a watcher asks ``/health`` every 100 ms and each answer
must come within 1 s; at the end the server must stop on SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import Goal, TherapySession
from cadenza.tools.mit import records as mit_records

pytestmark = pytest.mark.slow

PASSWORD = "violin-harbour-sunrise-7"
HEALTH_BUDGET_S = 1.0
START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, base_url: str, database_url: str, process: subprocess.Popen, log: Path) -> None:
        self.base_url, self.database_url, self.process, self.log = base_url, database_url, process, log
        self.engine = make_engine(database_url)
        self.factory = make_session_factory(self.engine)

    def browser(self, username: str) -> httpx.Client:
        """An httpx client logged in as ``username`` (its cookies can be copied to more clients)."""
        browser = httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=60.0)
        token = _csrf(browser.get("/login").text)
        answer = browser.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                              "next": "/"})
        assert answer.status_code == 303, answer.text
        return browser

    def clone(self, browser: httpx.Client) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=60.0, cookies=browser.cookies)

    def count(self, model, *where) -> int:
        with session_scope(self.factory) as db:
            return db.scalar(select(func.count()).select_from(model).where(*where))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


class HealthWatcher:
    """Asks /health every 100 ms in a thread; records each answer's latency (or failure)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.latencies_s: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30.0) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = http.get("/health").status_code
                    if status != 200:
                        self.failures.append(f"status {status}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.latencies_s.append(time.perf_counter() - started)
                self._stop.wait(0.1)

    def __enter__(self) -> HealthWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        deadline = time.monotonic() + 10.0
        while len(self.latencies_s) < 3 and time.monotonic() < deadline:  # a few answers after the burst too
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(60)

    def assert_responsive(self) -> None:
        assert self.failures == []
        assert len(self.latencies_s) >= 3, "the watcher did not get to ask /health"
        assert max(self.latencies_s) < HEALTH_BUDGET_S, f"/health took up to {max(self.latencies_s):.2f} s"


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    engine = make_engine(database_url)
    with session_scope(make_session_factory(engine)) as db:
        for name in ("alice", "bob"):
            service.create_therapist(db, actor=None, username=name, password=PASSWORD)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "CADENZA_DATABASE_URL": database_url, "CADENZA_DATA_DIR": str(folder / "data"),
           "CADENZA_DECODE_CPU_S": "60", "CADENZA_DECODE_TIMEOUT_S": "120"}
    env.pop("CADENZA_USER", None)
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cadenza.cli.main", "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"cadenza serve did not answer /health:\n{log.read_text(errors='replace')}")
        time.sleep(0.25)
    server = LiveServer(base_url, database_url, process, log)
    try:
        yield server
    finally:
        server.engine.dispose()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("cadenza serve ignored SIGTERM for 20 s (its event loop is blocked)")
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


@pytest.fixture(scope="module")
def alice(live: LiveServer) -> httpx.Client:
    return live.browser("alice")


@pytest.fixture(scope="module")
def alice_client_id(live: LiveServer) -> int:
    with session_scope(live.factory) as db:
        return service.create_client(db, actor=_therapist(db, "alice"), code="LIVE1").id


def _therapist(db, username: str):
    from cadenza.clinic.models import Therapist

    return db.scalar(select(Therapist).where(Therapist.username == username))


def _new_session(live: LiveServer, client_id: int) -> int:
    with session_scope(live.factory) as db:
        return service.record_session(db, actor=_therapist(db, "alice"), client_id=client_id,
                                      session_date=dt.date(2026, 12, 1), minutes=45,
                                      intervention_code="receptive_listening", subjective="first").id


def _parallel(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def _go(i: int) -> httpx.Response:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(_go, range(n)))


def test_ten_parallel_edits_of_one_note_have_one_winner(live, alice, alice_client_id):
    session_id = _new_session(live, alice_client_id)
    path = f"/clients/{alice_client_id}/sessions/{session_id}/edit"
    token = _csrf(alice.get(path).text)
    browsers = [live.clone(alice) for _ in range(10)]
    with HealthWatcher(live.base_url) as watcher:
        answers = _parallel(10, lambda i: browsers[i].post(path, data={
            "csrf_token": token, "version": "1", "minutes": "45", "subjective": f"tab {i}", "setting": "",
            "objective": "", "assessment": "", "plan": ""}))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {303: 1, 409: 9}, statuses
    watcher.assert_responsive()
    winner = next(i for i, a in enumerate(answers) if a.status_code == 303)
    with session_scope(live.factory) as db:
        stored = db.get(TherapySession, session_id)
        assert (stored.version, stored.soap_subjective) == (2, f"tab {winner}")


def test_triple_tap_on_save_stores_one_session_each_time(live, alice, alice_client_id):
    path = f"/clients/{alice_client_id}/sessions/new"
    browsers = [live.clone(alice) for _ in range(3)]
    before = live.count(TherapySession, TherapySession.client_id == alice_client_id)
    with HealthWatcher(live.base_url) as watcher:
        for round_no in range(5):
            page = alice.get(path).text
            data = {"csrf_token": _csrf(page), "form_id": _field(page, "form_id"), "session_date": "2026-12-02",
                    "minutes": "30", "intervention_code": "receptive_listening", "plan": f"round {round_no}"}
            answers = _parallel(3, lambda i: browsers[i].post(path, data=data))
            assert [a.status_code for a in answers] == [303, 303, 303], [a.text[:300] for a in answers]
            assert len({a.headers["location"] for a in answers}) == 1
    assert live.count(TherapySession, TherapySession.client_id == alice_client_id) == before + 5
    watcher.assert_responsive()


def test_validation_errors_while_others_read_never_500(live, alice, alice_client_id):
    goals_before = live.count(Goal, Goal.client_id == alice_client_id)
    page = f"/clients/{alice_client_id}"
    form_path = f"/clients/{alice_client_id}/goals/new"
    token = _csrf(alice.get(form_path).text)
    writer, readers = live.clone(alice), [live.clone(alice) for _ in range(3)]
    statuses: Counter = Counter()
    stop_at = time.monotonic() + 6.0

    def invalid_goals() -> None:
        while time.monotonic() < stop_at:
            statuses[writer.post(form_path, data={"csrf_token": token, "instrument_code": "vas_anxiety",
                                                  "baseline": "50", "target": "1000"}).status_code] += 1

    def read(browser: httpx.Client) -> None:
        while time.monotonic() < stop_at:
            statuses[browser.get(page).status_code] += 1

    with HealthWatcher(live.base_url) as watcher:
        threads = [threading.Thread(target=invalid_goals)] + [threading.Thread(target=read, args=(b,))
                                                              for b in readers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert set(statuses) <= {200, 422}, statuses
    assert statuses[422] >= 3 and statuses[200] >= 10, statuses
    assert live.count(Goal, Goal.client_id == alice_client_id) == goals_before
    watcher.assert_responsive()


def _wav_bytes(seconds: float, rate_hz: int = 8_000) -> bytes:
    """A gated tone of ``seconds`` (for the length refusal: never analysed)."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    tone = 0.3 * np.sin(2 * np.pi * 220.0 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    buffer = io.BytesIO()
    sf.write(buffer, tone.astype(np.float32), rate_hz, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _attempt_wav_bytes(text: str, seconds: float) -> bytes:
    """The phrase intoned (rendered speech), then silence up to ``seconds``: a real attempt to analyse."""
    from cadenza.io.speech import encode_wav_bytes, prepare_cue_material
    from cadenza.mit.cues import render_model
    from cadenza.mit.levels import Model

    material = prepare_cue_material(text, question=None)
    rate = material.sampling_rate_hz
    voice, _, _ = render_model(material, Model.INTONED, level=1)
    padded = np.zeros(int(seconds * rate), dtype=np.float32)
    padded[rate // 2: rate // 2 + voice.size] = voice[: padded.size - rate // 2]
    return encode_wav_bytes(padded, sampling_rate_hz=rate)


@pytest.fixture(scope="module")
def phrase_id(live: LiveServer, alice_client_id: int) -> int:
    with session_scope(live.factory) as db:
        return mit_records.add_phrase(db, actor=_therapist(db, "alice"), client_id=alice_client_id,
                                      text="I want water").id


def test_long_mit_upload_does_not_stall_other_users(live, alice, alice_client_id, phrase_id):
    path = f"/clients/{alice_client_id}/mit/attempts"
    token = _csrf(alice.get(f"/clients/{alice_client_id}/mit").text)
    bob = live.browser("bob")
    bob_reads: list[float] = []
    done = threading.Event()

    def bob_reads_his_dashboard() -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert bob.get("/").status_code == 200
            bob_reads.append(time.perf_counter() - started)
            done.wait(0.2)

    reader = threading.Thread(target=bob_reads_his_dashboard)
    with HealthWatcher(live.base_url) as watcher:
        reader.start()
        started = time.perf_counter()
        answer = live.clone(alice).post(path, data={"csrf_token": token, "phrase_id": str(phrase_id), "level": "1"},
                                        files={"attempt": ("attempt.wav", _attempt_wav_bytes("I want water", 20.0),
                                                                  "audio/wav")})
        took_s = time.perf_counter() - started
        done.set()
        reader.join(60)
    assert answer.status_code == 200, answer.text[-2000:]
    assert "Timing match" in answer.text
    # The analysis did real work while the others were answered: bob read his dashboard at least three times
    # while the upload ran (asserted below). Its length alone is no guard: a quiet machine analyses the
    # 20-s attempt in about 0.9 s.
    assert took_s > 0.5
    watcher.assert_responsive()
    assert len(bob_reads) >= 3 and max(bob_reads) < HEALTH_BUDGET_S, bob_reads


def test_an_over_long_mit_upload_is_refused_at_once(live, alice, alice_client_id, phrase_id):
    token = _csrf(alice.get(f"/clients/{alice_client_id}/mit").text)
    started = time.perf_counter()
    answer = alice.post(f"/clients/{alice_client_id}/mit/attempts",
                        data={"csrf_token": token, "phrase_id": str(phrase_id), "level": "1"},
                        files={"attempt": ("session.wav", _wav_bytes(20 * 60.0), "audio/wav")})
    assert answer.status_code == 422
    assert "at most 60 s" in answer.text
    assert time.perf_counter() - started < 5.0
