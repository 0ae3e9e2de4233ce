"""Uploaded audio is decoded in a limited child process: hostile files get a clear 422, fast, and leave
nothing behind in the server process (reliability anchors T23, T25)."""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from cadenza.clinic import passwords, service
from cadenza.clinic.db import make_session_factory
from cadenza.clinic.models import Therapist
from cadenza.settings import Settings
from cadenza.tools.mit import records as mit_records
from cadenza.web.main import create_app

PASSWORD = "violin-harbour-sunrise-7"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs the resource module (POSIX)")


def wav_header(*, channels: int = 1, rate_hz: int = 44_100, payload: bytes = bytes(16)) -> bytes:
    block_align = channels * 2
    fmt = struct.pack("<HHIIHH", 1, channels, rate_hz, (rate_hz * block_align) & 0xFFFF_FFFF,
                      block_align & 0xFFFF, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 0xFFFF_FFF0) + payload
    return b"RIFF" + struct.pack("<I", 0xFFFF_FFF0) + body


def flac_claiming(total_frames: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(4410, dtype="float32"), 44_100, format="FLAC")
    data = bytearray(buf.getvalue())
    packed = int.from_bytes(data[18:26], "big")
    data[18:26] = ((packed & ~((1 << 36) - 1)) | total_frames).to_bytes(8, "big")
    return bytes(data)


HOSTILE = [
    ("claims_4_gib.wav", wav_header()),  # libsndfile reads the 8 frames that are there: too short to analyse
    ("zero_channels.wav", wav_header(channels=0)),
    ("many_channels.wav", wav_header(channels=65_535)),
    ("rate_1_mhz.wav", wav_header(rate_hz=1_000_000)),
    ("huge.flac", flac_claiming((1 << 36) - 1)),
    ("page.wav", b"<svg onload=alert(1)></svg>"),
]


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child_pids() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except FileNotFoundError:  # the thread ended between listing and reading
            continue
    return pids


def _client(db_session, tmp_path, **limits):
    factory = make_session_factory(db_session.bind, join_transaction_mode="create_savepoint")
    app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path, **limits), session_factory=factory)
    ann = Therapist(username="ann", password_hash=passwords.hash_password(PASSWORD), role="therapist", active=True)
    db_session.add(ann)
    record = service.create_client(db_session, actor=ann, code="ISO1")
    phrase = mit_records.add_phrase(db_session, actor=ann, client_id=record.id, text="I need help")
    db_session.commit()
    return app, record.id, phrase.id


def _login(client: TestClient) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token,
                                       "next": "/"}).status_code == 303


def _upload(client: TestClient, client_id: int, phrase_id: int, name: str, data: bytes):
    path = f"/clients/{client_id}/mit"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)
    return client.post(f"{path}/attempts", data={"phrase_id": str(phrase_id), "level": "1", "csrf_token": token},
                       files={"attempt": (name, data, "audio/wav")})


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "decode-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("isolate", [True, False])
def test_hostile_uploads_get_a_clear_422_fast_and_leave_nothing_behind(db_session, tmp_path, private_tmp, isolate):
    app, client_id, phrase_id = _client(db_session, tmp_path, isolate_decoding=isolate)
    with TestClient(app, follow_redirects=False) as client:
        _login(client)
        _upload(client, client_id, phrase_id, *HOSTILE[-1])  # warm up: the fork server stays as one child
        # the warm-up may have started the fork server, whose socket lives in a lasting pymp-* folder
        children_before, rss_before, files_before = child_pids(), rss_bytes(), set(private_tmp.iterdir())
        for i in range(20):
            name, data = HOSTILE[i % len(HOSTILE)]
            started = time.perf_counter()
            response = _upload(client, client_id, phrase_id, name, data)
            assert time.perf_counter() - started < 2.0, name
            assert response.status_code == 422, (name, response.text[:300])
            assert "Traceback" not in response.text and "cadenza-upload" not in response.text
        assert rss_bytes() - rss_before < 200 * 1024**2
    assert multiprocessing.active_children() == []
    assert child_pids() <= children_before
    assert set(private_tmp.iterdir()) == files_before
    assert not any(p.name.startswith("cadenza-") for p in files_before)


def test_messages_say_what_was_wrong(db_session, tmp_path):
    app, client_id, phrase_id = _client(db_session, tmp_path)
    expected = {"zero_channels.wav": "Channel count is zero", "many_channels.wav": "Too many channels",
                "rate_1_mhz.wav": "1000000 Hz", "huge.flac": "needs more than 2 GiB to decode",
                "page.wav": "Format not recognised"}
    with TestClient(app, follow_redirects=False) as client:
        _login(client)
        for name, data in HOSTILE:
            if name in expected:
                response = _upload(client, client_id, phrase_id, name, data)
                assert response.status_code == 422 and expected[name] in response.text, name
                assert name in response.text  # the upload's own name, not a temporary path


def test_the_route_applies_the_configured_memory_budget(db_session, tmp_path):
    # 3 min of 48 kHz stereo silence: a small FLAC that decodes to 66 MiB of float32
    buf = io.BytesIO()
    sf.write(buf, np.zeros((180 * 48_000, 2), dtype="float32"), 48_000, format="FLAC")
    app, client_id, phrase_id = _client(db_session, tmp_path, decode_memory_bytes=64 * 1024**2)
    with TestClient(app, follow_redirects=False) as client:
        _login(client)
        response = _upload(client, client_id, phrase_id, "long.flac", buf.getvalue())
    assert response.status_code == 422 and "needs more than 64 MiB to decode" in response.text


def test_gait_csv_with_a_time_jump_is_a_form_error_not_a_huge_grid(db_session, tmp_path):
    # 80 bytes whose timestamps jump from 0.03 s to 10^5 s: regridded at 100 Hz that is 10^7 samples
    rows = "".join(f"{i * 0.01:.2f},0,0,9.81\n" for i in range(4))
    text = ("time_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2\n" + rows + "100000,0,0,9.81\n").encode()
    app, client_id, _ = _client(db_session, tmp_path)
    with TestClient(app, follow_redirects=False) as client:
        _login(client)
        path = f"/clients/{client_id}/gait"
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)
        started, rss_before = time.perf_counter(), rss_bytes()
        response = client.post(path, data={"csrf_token": token, "placement": "lower-back"},
                               files={"recording": ("walk.csv", text, "text/csv")})
        assert time.perf_counter() - started < 5.0 and rss_bytes() - rss_before < 200 * 1024**2
    # The loader refuses such a grid itself (io.imu: gap filling at most 10x the rows); the worker's own
    # result cap stays as a second line.
    assert response.status_code == 422 and "mostly empty" in response.text and "check the time unit" in response.text
