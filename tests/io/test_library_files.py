"""Library scan on real files: every format, broken files, rescans that decode nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cadenza.errors import ParameterError
from cadenza.io import library_files
from cadenza.io.library_files import (
    KnownTrack,
    content_hash,
    find_audio_files,
    scan_library,
    write_playlist_file,
)
from cadenza.music.analysis import ANALYSIS_VERSION

SR = 22050


def known_from(report) -> dict[str, KnownTrack]:
    """What the library cache would hold after storing ``report``."""
    return {t.path: KnownTrack(t.path, t.size_bytes, t.mtime_ns, t.content_sha256,
                               ANALYSIS_VERSION if t.analysis is not None else None)
            for t in report.tracks if t.content_sha256}


def pulse(duration_s: float, period_s: float = 0.5, rate: int = SR) -> np.ndarray:
    t = np.arange(int(duration_s * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-np.mod(t, period_s) / 0.05)).astype(np.float32)


@pytest.fixture
def mixed_library(tmp_path, write_tagged, write_m4a_tags_only):
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    for ext in (".wav", ".flac", ".ogg", ".opus", ".mp3"):
        rate = 48000 if ext == ".opus" else SR
        write_tagged(lib / f"good{ext}", pulse(6.0, rate=rate), sr=rate, title=f"Good {ext}")
    write_m4a_tags_only(lib / "sub" / "moon.m4a")
    (lib / "sub" / "empty.mp3").write_bytes(b"")
    (lib / "sub" / "notes.ogg").write_bytes(b"shopping list: milk, eggs\n" * 40)  # wrong extension
    flac = write_tagged(lib / "sub" / "truncated.flac", pulse(20.0))
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 3])
    sf.write(str(lib / "sub" / "flac_named.mp3"), pulse(6.0), SR, format="FLAC")  # right data, wrong name
    bad = write_tagged(lib / "sub" / "latin1.flac", pulse(6.0), title="Café Song")
    bad.write_bytes(bad.read_bytes().replace("Café".encode(), b"Caf\xe9\xff"))
    (lib / "cover.jpg").write_bytes(b"\xff\xd8 not audio")
    (lib / ".hidden.mp3").write_bytes(b"x")
    return lib


def test_scan_every_format_and_every_kind_of_broken_file(mixed_library):
    seen = []
    report = scan_library([mixed_library], processes=1, on_progress=lambda d, n, p: seen.append((d, n)))
    by_name = {Path(t.path).name: t for t in report.tracks}
    assert sorted(by_name) == sorted(["good.wav", "good.flac", "good.ogg", "good.opus", "good.mp3", "moon.m4a",
                                      "empty.mp3", "notes.ogg", "truncated.flac", "flac_named.mp3", "latin1.flac"])
    assert seen[-1] == (11, 11) and len(seen) == 11
    for ext in (".wav", ".flac", ".ogg", ".opus", ".mp3"):
        track = by_name[f"good{ext}"]
        assert track.analysis is not None, track.problems
        assert track.analysis.tempo_bpm == pytest.approx(120.0, rel=0.04)
        assert track.tags.title == f"Good {ext}"
        assert not [p for p in track.problems if p.severity == "error"]
    problems = {Path(p.path).name: p for p in report.problems}
    assert "0 bytes" in problems["empty.mp3"].reason
    assert problems["notes.ogg"].severity == "error" and "notes.ogg" in problems["notes.ogg"].reason
    # the readable part of a truncated file is analysed, with a warning saying so
    assert problems["truncated.flac"].severity == "warning" and "truncated" in problems["truncated.flac"].reason
    assert by_name["truncated.flac"].analysis is not None
    assert by_name["truncated.flac"].analysis.duration_s < 10.0
    # libsndfile reads content, not names: FLAC data in a .mp3 file is analysed
    assert by_name["flac_named.mp3"].analysis is not None
    latin1 = by_name["latin1.flac"]
    assert latin1.analysis is not None and "\ufffd" in latin1.tags.title
    assert problems["latin1.flac"].severity == "warning"
    moon = by_name["moon.m4a"]
    assert moon.tags.title == "Moon River"
    if shutil.which("ffmpeg") is None:
        assert moon.analysis is None and "ffmpeg" in problems["moon.m4a"].reason


def test_truncated_file_keeps_what_decodes_or_says_why(tmp_path, write_tagged):
    flac = write_tagged(tmp_path / "t.flac", pulse(30.0))
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    (track,) = scan_library([tmp_path], processes=1).tracks
    reasons = " ".join(p.reason for p in track.problems)
    assert "truncated" in reasons or "cannot decode" in reasons


def test_rescan_of_unchanged_200_file_library_decodes_nothing(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    base = pulse(0.4)
    for i in range(200):
        sf.write(str(lib / f"track{i:03d}.wav"), base * (1 + i / 400), SR, subtype="PCM_16")
    first = scan_library([lib], processes=1)  # the pool path is covered by test_parallel_scan_equals_serial
    assert len(first.tracks) == 200 and first.n_decoded == 200 and not first.problems

    def no_decoding(path):
        raise AssertionError(f"rescan decoded {path}")

    monkeypatch.setattr(library_files, "decode_audio", no_decoding)
    monkeypatch.setattr(library_files, "content_hash", no_decoding)  # not even hashed
    second = scan_library([lib], known=known_from(first), processes=1)
    assert second.n_decoded == 0
    assert second.count("unchanged") == 200


def test_rescan_analyses_only_new_and_changed_and_reuses_moved(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("a", "b", "c"):
        sf.write(str(lib / f"{name}.wav"), pulse(5.0), SR)
    first = scan_library([lib], processes=1)
    known = known_from(first)
    sf.write(str(lib / "b.wav"), pulse(5.0, period_s=0.4), SR)  # changed content
    os.utime(lib / "b.wav", ns=(1, 1))
    (lib / "c.wav").rename(lib / "c_moved.wav")  # moved: same bytes
    sf.write(str(lib / "d.wav"), pulse(5.0), SR)  # new... with the same bytes as c: reused too
    second = scan_library([lib], known=known, processes=1)
    status = {Path(t.path).name: t.status for t in second.tracks}
    assert status == {"a.wav": "unchanged", "b.wav": "changed", "c_moved.wav": "moved", "d.wav": "moved"}
    assert second.n_decoded == 1


def test_parallel_scan_equals_serial(tmp_path):
    for i, period_s in enumerate((0.4, 0.5, 0.6, 0.75)):
        sf.write(str(tmp_path / f"p{i}.flac"), pulse(6.0, period_s), SR)
    serial = scan_library([tmp_path], processes=1)
    parallel = scan_library([tmp_path], processes=2)
    for a, b in zip(serial.tracks, parallel.tracks, strict=True):
        assert a.path == b.path and a.content_sha256 == b.content_sha256
        assert a.analysis.tempo_bpm == pytest.approx(b.analysis.tempo_bpm)


def test_find_files_and_bad_arguments(tmp_path, mixed_library):
    names = [p.name for p in find_audio_files([mixed_library])]
    assert "cover.jpg" not in names and ".hidden.mp3" not in names
    with pytest.raises(ParameterError, match="nowhere"):
        find_audio_files([tmp_path / "nowhere"])
    with pytest.raises(ParameterError, match="processes"):
        scan_library([tmp_path], processes=0)


def test_content_hash_is_of_bytes(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"abc")
    b.write_bytes(b"abc")
    assert content_hash(a) == content_hash(b) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_real_excerpt_as_mp3(tmp_path, shared_data):
    """A corpus excerpt re-encoded to MP3 keeps its tempo through decoding and analysis."""
    from cadenza.io.audio import load_audio

    root = shared_data("music")
    audio = load_audio(root / "audio" / "dev025.flac")
    mp3 = tmp_path / "dev025.mp3"
    sf.write(str(mp3), audio.samples, audio.sampling_rate_hz, format="MP3")
    (track,) = scan_library([tmp_path], processes=1).tracks
    assert track.analysis.tempo_bpm == pytest.approx(99.9, rel=0.04)


def test_write_playlist_file(tmp_path):
    assert write_playlist_file(tmp_path / "x.m3u8", "#EXTM3U\n").read_text() == "#EXTM3U\n"
    with pytest.raises(ParameterError, match="m3u8"):
        write_playlist_file(tmp_path / "x.txt", "")
