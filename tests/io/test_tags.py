"""Tag reading on real files of every library format (written by the fixtures in conftest.py), plus
broken and mis-encoded tags."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.tags import TrackTags, parse_year, read_tags

SR = 22050


@pytest.mark.parametrize("ext", [".flac", ".mp3", ".ogg", ".opus", ".wav"])
def test_each_format_round_trips_tags(tmp_path, ext, write_tagged, audio_formats):
    path = write_tagged(tmp_path / f"song{ext}", title="Café Song", artist="Ärtist")
    tags = read_tags(path)
    assert isinstance(tags, TrackTags)
    assert (tags.title, tags.artist, tags.album, tags.year, tags.genre) == ("Café Song", "Ärtist", "Breakfast", 1961, "Film")
    assert tags.duration_s == pytest.approx(2.0, abs=0.1)
    assert tags.sampling_rate_hz == audio_formats[ext][2]
    assert tags.display_name(path) == "Ärtist - Café Song"


def test_m4a_tags(tmp_path, write_m4a_tags_only):
    tags = read_tags(write_m4a_tags_only(tmp_path / "moon.m4a"))
    assert (tags.title, tags.artist, tags.year, tags.duration_s) == ("Moon River", "Audrey", 1961, 157.0)


def test_id3_latin1_declared_utf8_is_repaired(tmp_path, write_tagged):
    # libsndfile writes UTF-8 bytes into ID3 frames declared Latin-1: a real-world mojibake case.
    tags = read_tags(write_tagged(tmp_path / "a.mp3", title="Café Song"))
    assert tags.title == "Café Song"
    assert any("repaired" in w for w in tags.warnings)


@pytest.mark.parametrize("ext", [".flac", ".ogg", ".wav"])
def test_invalid_utf8_bytes_are_replaced_with_a_warning(tmp_path, ext, write_tagged):
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
