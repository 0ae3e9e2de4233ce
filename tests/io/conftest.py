"""Real audio files with tags, written with libsndfile (and a hand-built MP4 for M4A), for the tag and
library-scan tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 22050
AUDIO_FORMATS = {  # extension -> (libsndfile format, subtype, rate)
    ".wav": ("WAV", "PCM_16", SR),
    ".flac": ("FLAC", "PCM_16", SR),
    ".ogg": ("OGG", "VORBIS", SR),
    ".opus": ("OGG", "OPUS", 48000),
    ".mp3": ("MP3", "MPEG_LAYER_III", SR),
}


def write_tagged(path: Path, samples: np.ndarray | None = None, *, sr: int | None = None, duration_s: float = 2.0,
                 title: str = "Moon River", artist: str = "Audrey", album: str = "Breakfast",
                 date: str = "1961", genre: str = "Film") -> Path:
    """A real audio file with tags, in the format its extension names (not M4A)."""
    fmt, subtype, rate = AUDIO_FORMATS[path.suffix.lower()]
    rate = sr or rate
    if samples is None:
        t = np.arange(int(duration_s * rate)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t) * (np.mod(t, 0.5) < 0.15)).astype(np.float32)
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=1, format=fmt, subtype=subtype) as fh:
        fh.title, fh.artist, fh.album, fh.date, fh.genre = title, artist, album, date, genre
        fh.write(samples)
    return path


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def write_m4a_tags_only(path: Path, *, title="Moon River", artist="Audrey", year="1961", duration_s=157.0) -> Path:
    """A minimal MP4 container (ftyp, moov/mvhd, iTunes ilst tags, empty mdat): what tinytag reads
    of an M4A. It holds no AAC stream; libsndfile cannot decode AAC in any case."""
    ftyp = _box(b"ftyp", b"M4A " + struct.pack(">I", 0) + b"M4A mp42isom")
    mvhd = _box(b"mvhd", struct.pack(">B3xIIII", 0, 0, 0, 1000, int(duration_s * 1000))
                + struct.pack(">IH10x", 0x00010000, 0x0100) + b"\0" * 60 + struct.pack(">I", 2))

    def item(kind: bytes, text: str) -> bytes:
        return _box(kind, _box(b"data", struct.pack(">II", 1, 0) + text.encode()))

    ilst = _box(b"ilst", item(b"\xa9nam", title) + item(b"\xa9ART", artist) + item(b"\xa9day", year))
    meta = _box(b"meta", b"\0" * 4 + _box(b"hdlr", b"\0" * 8 + b"mdirappl" + b"\0" * 9) + ilst)
    path.write_bytes(ftyp + _box(b"moov", mvhd + _box(b"udta", meta)) + _box(b"mdat", b"\0" * 64))
    return path


@pytest.fixture
def audio_formats() -> dict:
    """Extension -> (libsndfile format, subtype, sampling rate) that ``write_tagged`` writes."""
    return AUDIO_FORMATS


@pytest.fixture(name="write_tagged")
def write_tagged_fixture():
    return write_tagged


@pytest.fixture(name="write_m4a_tags_only")
def write_m4a_tags_only_fixture():
    return write_m4a_tags_only
