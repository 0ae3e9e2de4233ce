"""Tag reading on real files of every library format, written here with libsndfile (and a
hand-built MP4 for M4A), plus broken and mis-encoded tags."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.tags import TrackTags, parse_year, read_tags

SR = 22050
FORMATS = {  # extension -> (libsndfile format, subtype, rate)
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
    fmt, subtype, rate = FORMATS[path.suffix.lower()]
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


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_each_format_round_trips_tags(tmp_path, ext):
    path = write_tagged(tmp_path / f"song{ext}", title="Café Song", artist="Ärtist")
    tags = read_tags(path)
    assert isinstance(tags, TrackTags)
    assert (tags.title, tags.artist, tags.album, tags.year, tags.genre) == ("Café Song", "Ärtist", "Breakfast", 1961, "Film")
    assert tags.duration_s == pytest.approx(2.0, abs=0.1)
    assert tags.sampling_rate_hz == FORMATS[ext][2]
    assert tags.display_name(path) == "Ärtist - Café Song"


def test_m4a_tags(tmp_path):
    tags = read_tags(write_m4a_tags_only(tmp_path / "moon.m4a"))
    assert (tags.title, tags.artist, tags.year, tags.duration_s) == ("Moon River", "Audrey", 1961, 157.0)


def test_id3_latin1_declared_utf8_is_repaired(tmp_path):
    # libsndfile writes UTF-8 bytes into ID3 frames declared Latin-1: a real-world mojibake case.
    tags = read_tags(write_tagged(tmp_path / "a.mp3", title="Café Song"))
    assert tags.title == "Café Song"
    assert any("repaired" in w for w in tags.warnings)


@pytest.mark.parametrize("ext", [".flac", ".ogg", ".wav"])
def test_invalid_utf8_bytes_are_replaced_with_a_warning(tmp_path, ext):
    path = write_tagged(tmp_path / f"a{ext}", title="Café Song")
    raw = path.read_bytes()
    assert raw.count("Café".encode()) == 1
    path.write_bytes(raw.replace("Café".encode(), b"Caf\xe9\xff"))  # same length: Latin-1 byte + junk
    tags = read_tags(path)
    assert tags.title.startswith("Caf") and tags.title.endswith("Song")
    assert "\ufffd" in tags.title
    assert any("not valid text" in w for w in tags.warnings)
    assert tags.artist == "Audrey"  # the other tags survive


def test_untagged_file_uses_file_name(tmp_path):
    path = tmp_path / "untitled take.wav"
    sf.write(str(path), np.zeros(SR, dtype=np.float32), SR)
    tags = read_tags(path)
    assert tags.title == "" and tags.year is None
    assert tags.display_name(path) == "untitled take"


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ParameterError, match="missing.mp3"):
        read_tags(tmp_path / "missing.mp3")
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(DataQualityError, match="empty.flac.*0 bytes"):
        read_tags(empty)
    junk = tmp_path / "notes.flac"
    junk.write_bytes(b"this is a text file, not audio\n" * 20)
    with pytest.raises(DataQualityError, match="notes.flac"):
        read_tags(junk)


@pytest.mark.parametrize(("value", "year"), [("1969", 1969), ("1969-05-01", 1969), ("(p) 2003 EMI", 2003),
                                             ("", None), ("n/a", None), (None, None), ("12", None)])
def test_parse_year(value, year):
    assert parse_year(value) == year


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cadenza.io.tags import _repair_mojibake  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_mojibake_repair_round_trips(text):
    """UTF-8 bytes mis-read as Latin-1 come back exactly; text that was never mangled is left alone
    unless its Latin-1 bytes happen to be valid multi-byte UTF-8 (then it *is* indistinguishable)."""
    mangled = text.encode("utf-8").decode("latin-1")
    assert _repair_mojibake(mangled) == text
    repaired = _repair_mojibake(text)
    if repaired != text:
        assert repaired.encode("utf-8").decode("latin-1") == text


@settings(max_examples=100, deadline=None)
@given(year=st.integers(1000, 2099), prefix=st.sampled_from(["", "(p) ", "released "]),
       suffix=st.sampled_from(["", "-05-01", " remaster", "/01"]))
def test_parse_year_finds_the_year(year, prefix, suffix):
    assert parse_year(f"{prefix}{year}{suffix}") == year
