"""Isolated decoding: header lies refused fast, limits turn into clear errors, nothing left behind."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io import isolated
from cadenza.io.audio import load_audio
from cadenza.io.isolated import (
    DecodeLimits,
    check_audio_header,
    decode_audio_bytes_isolated,
    decode_audio_isolated,
    read_tags_isolated,
    run_isolated,
)
from cadenza.settings import Settings

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs the resource module (POSIX)")


# -- hostile files, built by hand ---------------------------------------------------------------------

def wav_header(*, channels: int = 1, rate_hz: int = 44_100, data_bytes: int = 0xFFFF_FFF0, payload: bytes = b"") -> bytes:
    """A PCM-16 WAV whose header says whatever it is told, followed by ``payload``."""
    block_align = channels * 2
    fmt = struct.pack("<HHIIHH", 1, channels, rate_hz, (rate_hz * block_align) & 0xFFFF_FFFF,
                      block_align & 0xFFFF, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_bytes) + payload
    return b"RIFF" + struct.pack("<I", 0xFFFF_FFF0) + body


def au_header(*, channels: int) -> bytes:
    """Sun AU: its channel count is 32 bits wide, so it can claim 10^6 channels (WAV tops out at 65535)."""
    return b".snd" + struct.pack(">IIIII", 24, 0xFFFF_FFFF, 3, 44_100, channels) + bytes(36)


def flac_claiming(total_frames: int) -> bytes:
    """A real, tiny FLAC whose STREAMINFO total-samples field (36 bits) is overwritten."""
    buf = io.BytesIO()
    sf.write(buf, np.zeros(4410, dtype="float32"), 44_100, format="FLAC")
    data = bytearray(buf.getvalue())
    # STREAMINFO starts at byte 8; rate/channels/bits/total share the 8 bytes from offset 18.
    packed = int.from_bytes(data[18:26], "big")
    packed = (packed & ~((1 << 36) - 1)) | total_frames
    data[18:26] = packed.to_bytes(8, "big")
    return bytes(data)


HOSTILE = {
    "wav_claims_4_gib": wav_header(payload=bytes(16)),
    "wav_0_channels": wav_header(channels=0, payload=bytes(16)),
    "wav_65535_channels": wav_header(channels=65_535, payload=bytes(16)),
    "au_10e6_channels": au_header(channels=10**6),
    "wav_rate_0": wav_header(rate_hz=0, payload=bytes(16)),
    "wav_rate_1_mhz": wav_header(rate_hz=1_000_000, payload=bytes(16)),
    "flac_2e36_frames": flac_claiming((1 << 36) - 1),
    "not_audio": b"<html><script>alert(1)</script></html>",
}


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


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The module's temporary folders go here, so the test can see that none is left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_60_byte_wav_claiming_4_gib_is_refused_in_milliseconds(private_tmp):
    data = HOSTILE["wav_claims_4_gib"]
    assert len(data) == 60
    started = time.perf_counter()
    with pytest.raises(DataQualityError, match="declares 4294967280 bytes of audio, the file holds 16"):
        decode_audio_bytes_isolated(data, name="lie.wav")
    assert time.perf_counter() - started < 2.0


def test_wav_data_chunk_is_found_after_other_chunks(tmp_path):
    path = tmp_path / "listed.wav"
    with sf.SoundFile(path, "w", samplerate=8_000, channels=1, format="WAV", subtype="PCM_16") as fh:
        fh.title = "odd"  # libsndfile writes a LIST chunk before the data chunk
        fh.write(np.zeros(801, dtype="float32"))
    assert isolated._wav_data_chunk(path) == (1602, 1602)
    check_audio_header(path)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(path.read_bytes()[:-400])
    with pytest.raises(DataQualityError, match="declares 1602 bytes of audio, the file holds 1202"):
        check_audio_header(truncated)


def test_odd_sized_chunks_are_padded_to_an_even_length(tmp_path):
    fmt = struct.pack("<HHIIHH", 1, 1, 8_000, 16_000, 2, 16)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"junk" + struct.pack("<I", 3) + b"abc\0"
            + b"data" + struct.pack("<I", 16) + np.arange(8, dtype="<i2").tobytes())
    path = tmp_path / "padded.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert isolated._wav_data_chunk(path) == (16, 16)
    samples, rate = decode_audio_isolated(path)
    assert rate == 8_000 and np.allclose(samples * 32768, np.arange(8))


@pytest.mark.parametrize("label", ["wav_claims_4_gib", "wav_0_channels", "wav_65535_channels", "au_10e6_channels", "wav_rate_0",
                                   "wav_rate_1_mhz", "flac_2e36_frames", "not_audio"])
@pytest.mark.parametrize("isolate", [True, False])
def test_header_lies_are_refused_fast_with_the_upload_name(label, isolate, private_tmp):
    limits = DecodeLimits(isolate=isolate)
    started = time.perf_counter()
    with pytest.raises(DataQualityError, match="'upload.wav'") as info:
        decode_audio_bytes_isolated(HOSTILE[label], name="upload.wav", limits=limits)
    assert time.perf_counter() - started < 2.0
    assert "cadenza-upload" not in str(info.value)  # the private temp path never reaches the user
    assert not any(p.name.startswith("cadenza-") for p in private_tmp.iterdir())


def test_header_check_messages_name_the_value(tmp_path):
    cases = {"flac_2e36_frames": "68719476735 frames.*more than 2 GiB to decode",
             "wav_rate_1_mhz": "1000000 Hz; expected 8000 to 192000 Hz",
             "wav_0_channels": "Channel count is zero"}
    for label, pattern in cases.items():
        path = tmp_path / f"{label}.bin"
        path.write_bytes(HOSTILE[label])
        with pytest.raises(DataQualityError, match=pattern):
            check_audio_header(path)


def test_header_check_applies_the_memory_budget(tmp_path):
    path = tmp_path / "ten_s.wav"
    sf.write(path, np.zeros((441_000, 2), dtype="float32"), 44_100)  # decodes to 3.5 MB
    check_audio_header(path, memory_bytes=64 * 1024**2)
    with pytest.raises(DataQualityError, match="more than 3 MiB"):
        check_audio_header(path, memory_bytes=3 * 1024**2)


def test_twenty_hostile_uploads_in_a_row_leave_no_children_no_files_and_little_rss(private_tmp):
    with pytest.raises(DataQualityError):  # warm up: the fork server is a lasting child
        decode_audio_bytes_isolated(HOSTILE["not_audio"])
    # the warm-up may have started the fork server, whose socket lives in a lasting pymp-* folder
    children_before, rss_before, files_before = child_pids(), rss_bytes(), set(private_tmp.iterdir())
    labels = list(HOSTILE)
    for i in range(20):
        with pytest.raises(DataQualityError):
            decode_audio_bytes_isolated(HOSTILE[labels[i % len(labels)]], name=f"u{i}.wav")
    assert multiprocessing.active_children() == []
    assert child_pids() <= children_before
    assert set(private_tmp.iterdir()) == files_before
    assert not any(p.name.startswith("cadenza-") for p in files_before)
    assert rss_bytes() - rss_before < 200 * 1024**2


def test_memory_limit_hit_is_a_clean_error():
    limits = DecodeLimits(memory_bytes=512 * 1024**2)
    assert run_isolated(isolated._probe_allocate, 16 * 1024**2, limits=limits) == 16 * 1024**2
    started = time.perf_counter()
    with pytest.raises(DataQualityError, match="needs more than 512 MiB to decode"):
        run_isolated(isolated._probe_allocate, 1024**3, limits=limits)
    assert time.perf_counter() - started < 5.0
    assert multiprocessing.active_children() == []


def test_endless_loop_is_killed_at_the_wall_clock_timeout():
    started = time.perf_counter()
    with pytest.raises(DataQualityError, match="took longer than 0.5 s"):
        run_isolated(isolated._probe_spin, limits=DecodeLimits(timeout_s=0.5))
    assert time.perf_counter() - started < 3.0
    assert multiprocessing.active_children() == []


def test_cpu_limit_stops_a_busy_decoder_before_the_wall_clock():
    with pytest.raises(DataQualityError, match="more than 1 s of CPU time"):
        run_isolated(isolated._probe_spin, limits=DecodeLimits(cpu_s=1, timeout_s=20))


def test_decoder_crash_reports_the_signal():
    with pytest.raises(DataQualityError, match="decoder crashed: signal 11 \\(SIGSEGV\\)"):
        run_isolated(isolated._probe_signal, int(signal.SIGSEGV))


def test_child_errors_keep_their_message_and_isolation_off_runs_in_process():
    with pytest.raises(DataQualityError, match="needs more than"):
        run_isolated(isolated._probe_allocate, 1024**3, limits=DecodeLimits(memory_bytes=256 * 1024**2))
    # isolate=False: the target runs here, so no limit applies (and no child is started)
    assert run_isolated(isolated._probe_allocate, 1024, limits=DecodeLimits(isolate=False)) == 1024


def test_real_excerpt_decodes_identically_to_the_in_process_path(shared_data):
    path = shared_data("music", "audio", "dev001.flac")
    samples, rate = decode_audio_isolated(path)
    reference = load_audio(path)
    assert rate == reference.sampling_rate_hz == 22_050
    assert samples.dtype == np.float32 and np.array_equal(samples, reference.samples)
    raw = Path(path).read_bytes()
    mono, rate_b = decode_audio_bytes_isolated(raw, name="dev001.flac")
    assert rate_b == rate and np.array_equal(mono, reference.mono)


@settings(max_examples=5, deadline=None)
@given(channels=st.integers(1, 3), n_frames=st.integers(1, 4000), rate_hz=st.sampled_from([8_000, 22_050, 48_000]),
       seed=st.integers(0, 2**16))
def test_generated_wavs_round_trip_like_load_audio(channels, n_frames, rate_hz, seed):
    samples = np.random.default_rng(seed).uniform(-1, 1, (n_frames, channels)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gen.wav"
        sf.write(path, samples, rate_hz, subtype="FLOAT")
        got, rate = decode_audio_isolated(path)
        ref = load_audio(path)
    assert rate == rate_hz and got.shape == ref.samples.shape and np.array_equal(got, ref.samples)


def test_tags_are_read_in_the_child(tmp_path):
    path = tmp_path / "tagged.flac"
    with sf.SoundFile(path, "w", samplerate=22_050, channels=1, format="FLAC") as fh:
        fh.title = "Moon River"
        fh.write(np.zeros(22_050, dtype="float32"))
    tags = read_tags_isolated(path)
    assert tags.title == "Moon River"


def test_limits_validate_and_come_from_settings(tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match="memory_bytes"):
        DecodeLimits(memory_bytes=2048)  # MiB given where bytes are expected
    with pytest.raises(ParameterError, match="timeout_s"):
        DecodeLimits(timeout_s=0)
    monkeypatch.setenv("CADENZA_ISOLATE_DECODING", "0")
    monkeypatch.setenv("CADENZA_DECODE_MEMORY_BYTES", str(1024**3))
    monkeypatch.setenv("CADENZA_DECODE_TIMEOUT_S", "12.5")
    limits = DecodeLimits.from_settings(Settings.from_env())
    assert limits == DecodeLimits(memory_bytes=1024**3, cpu_s=30, timeout_s=12.5, isolate=False)
    assert DecodeLimits.from_settings(Settings(database_url="sqlite://", data_dir=tmp_path)) == DecodeLimits()


def test_missing_and_empty_files_are_refused_before_any_child_starts(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        decode_audio_isolated(tmp_path / "missing.wav")
    with pytest.raises(DataQualityError, match="empty"):
        decode_audio_bytes_isolated(b"", name="blank.wav")


# -- IMU CSV: small text, unbounded regridding -------------------------------------------------------

def imu_csv_with_jump(jump_s: float) -> str:
    rows = "".join(f"{i * 0.01:.2f},0,0,1\n" for i in range(4))
    return "time_s,acc_x,acc_y,acc_z\n" + rows + f"{jump_s},0,0,1\n"


def test_imu_csv_with_a_time_jump_is_refused_not_regridded_in_the_server():
    # 100 Hz, then 10^4 s: 10^6 grid points from 80 characters. The loader (run in the child) refuses
    # the mostly-empty grid before building it; the child's result cap stays as a second line.
    text = imu_csv_with_jump(10_000)
    with pytest.raises(DataQualityError, match="1000001 samples, mostly empty; check the time unit"):
        isolated.parse_imu_csv_isolated(text, source="walk.csv", limits=DecodeLimits())


def test_imu_csv_grid_beyond_the_memory_limit_is_a_clean_error():
    text = imu_csv_with_jump(1_000_000)  # 10^8 grid points: 800 MB per axis if it were built
    started = time.perf_counter()
    with pytest.raises(DataQualityError, match="100000001 samples, mostly empty"):
        isolated.parse_imu_csv_isolated(text, source="walk.csv", limits=DecodeLimits(memory_bytes=256 * 1024**2))
    assert time.perf_counter() - started < 5.0


def test_imu_csv_parses_like_the_in_process_loader_and_keeps_the_error_type(rng):
    from cadenza.io.imu import parse_imu_csv

    acc = rng.normal(0, 1, (600, 3)) + [0, 0, 9.81]  # at rest, 1 g on z
    text = "time_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2\n" + "".join(
        f"{i / 100:.2f},{x:.5f},{y:.5f},{z:.5f}\n" for i, (x, y, z) in enumerate(acc))
    got = isolated.parse_imu_csv_isolated(text, source="walk.csv")
    ref = parse_imu_csv(text, source="walk.csv")
    assert got.sampling_rate_hz == ref.sampling_rate_hz == 100
    assert np.array_equal(got.acc_m_s2, ref.acc_m_s2) and got.notes == ref.notes
    no_time = "acc_x,acc_y,acc_z\n0,0,1\n0,0,1\n"
    with pytest.raises(ParameterError, match="sampling_rate_hz") as info:
        isolated.parse_imu_csv_isolated(no_time, source="walk.csv")
    assert type(info.value) is ParameterError  # the child's error type survives the trip
