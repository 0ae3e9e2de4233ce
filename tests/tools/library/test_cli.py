"""`cadenza analyze`, `cadenza playlist` and `cadenza library ...` end to end on real files and a
temporary SQLite record."""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import soundfile as sf


PASSWORD = "a perfectly long passphrase"
SR = 22050


def pulse_file(path, period_s, duration_s=12.0, *, title=None, year=None):
    t = np.arange(int(duration_s * SR)) / SR
    x = (0.3 * np.sin(2 * np.pi * 330 * t) * np.exp(-np.mod(t, period_s) / 0.06)).astype(np.float32)
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=1, format="FLAC") as fh:
        if title:
            fh.title, fh.artist = title, "Test Band"
        if year:
            fh.date = str(year)
        fh.write(x)
    return path


@pytest.fixture
def run(cli):
    return functools.partial(cli, user="ana")


@pytest.fixture
def music(tmp_path):
    lib = tmp_path / "music"
    lib.mkdir()
    for i, bpm in enumerate((140, 120, 100, 90, 80, 70, 64)):
        pulse_file(lib / f"song{i}.flac", 60.0 / bpm, title=f"Song {bpm}", year=1950 + i * 5)
    (lib / "broken.ogg").write_bytes(b"not audio at all" * 10)
    return lib


def test_analyze_json(run, tmp_path):
    path = pulse_file(tmp_path / "a.flac", 0.5)
    result = run("analyze", path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["analysis"]["tempo_bpm"] == pytest.approx(120, rel=0.02)
    beats = np.array(data["analysis"]["beat_times_s"])
    assert np.allclose(np.diff(beats), 0.5, atol=0.03)
    assert {"integrated_loudness_lufs", "loudness_range_lu", "energy", "mode"} <= set(data["analysis"])
    table = run("analyze", path)
    assert table.exit_code == 0 and "BPM" in table.output


def test_analyze_bad_file_is_a_clear_error(run, tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"")
    result = run("analyze", bad, "--json")
    assert result.exit_code != 0
    assert "bad.mp3" in result.output and "0 bytes" in result.output


def test_scan_rate_flag_playlist_exports(run, music, tmp_path):
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert run("client", "add", "C001", "--birth-year", "1940").exit_code == 0
    first = run("library", "scan", music, "--client", "C001", "-j", "1")
    assert first.exit_code == 0, first.output
    # the broken file is listed (with its reason) as well as the 7 songs, and only the songs decode
    assert "8 new" in first.output and "broken.ogg" in first.output and "7 decoded" in first.output
    again = run("library", "scan", music, "--client", "C001", "-j", "1")
    assert "8 unchanged" in again.output and "0 decoded" in again.output
    listing = run("library", "list", "--client", "C001")
    assert "Song 140" in listing.output and "not analysed" in listing.output
    assert run("library", "rate", "Song 100", "5", "--client", "C001").exit_code == 0
    flagged = run("library", "flag", "Song 70", "--reason", "agitated", "--client", "C001")
    assert flagged.exit_code == 0 and "RED FLAG" in flagged.output
    assert run("library", "pick", "Song 90", "--note", "sung at her wedding", "--by", "son",
               "--client", "C001").exit_code == 0
    m3u, xspf, svg = tmp_path / "p.m3u8", tmp_path / "p.xspf", tmp_path / "p.svg"
    result = run("playlist", "relax", "--minutes", "1", "--client", "C001", "--arousal", "8", "--shape", "iso",
                 "--m3u8", m3u, "--xspf", xspf, "--chart", svg, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    titles = [t["title"] for t in data["tracks"]]
    assert "Song 70" not in titles and "Song 100" in titles
    tempi = [t["tempo_bpm"] for t in data["tracks"]]
    assert tempi == sorted(tempi, reverse=True)
    assert abs(data["total_s"] - 60) <= 12.5
    assert data["dose_fraction"] > 0 and data["sources"]
    assert m3u.read_text().startswith("#EXTM3U")
    assert len(ET.parse(xspf).getroot().findall(".//{http://xspf.org/ns/0/}track")) == len(titles)
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    table = run("playlist", "reminiscence", "--minutes", "1", "--client", "C001")
    assert table.exit_code == 0 and "family pick: sung at her wedding" in table.output
    short = run("library", "preprocedure", "--client", "C001", "--vas-before", "70", "--vas-after", "40")
    # The 1.4-min library cannot fill 25 min: the measured anxiety is kept, with a warning (walk-through p8).
    assert short.exit_code == 0 and "VAS 70 -> 40" in short.output and "shorter than the 20-30 min" in short.output


def test_playlist_from_a_folder_without_a_record(run, music):
    result = run("playlist", "walk", "--minutes", "1", "--dir", music, "--cadence", "95", "-j", "1")
    assert result.exit_code == 0, result.output
    # 100 and 90 BPM are within 8 % of 95 steps/min: played stretched onto the cadence
    assert "x0.950" in result.output and "x1.056" in result.output
    assert "Song 140" not in result.output and "Song 70" not in result.output
    assert run("playlist", "relax").exit_code == 2


def test_playlist_for_an_empty_library_says_what_to_do(run):
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert run("client", "add", "C002").exit_code == 0
    result = run("playlist", "relax", "--client", "C002")
    assert result.exit_code == 1
    assert "empty" in result.output and "cadenza library scan" in result.output


def test_respond_with_session_option_latest_session_and_the_old_spelling(run, tmp_path):
    """``--session ID`` names the session (default: the client's latest); ``respond SESSION_ID TRACK``, the
    old spelling, still works."""
    lib = tmp_path / "few"
    lib.mkdir()
    for bpm in (90, 70):
        pulse_file(lib / f"song{bpm}.flac", 60.0 / bpm, duration_s=6.0, title=f"Song {bpm}")
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert run("client", "add", "C003").exit_code == 0
    assert run("library", "scan", lib, "--client", "C003", "-j", "1").exit_code == 0
    none_yet = run("library", "respond", "Song 90", "--engagement", "2", "--mood", "1", "--client", "C003")
    assert none_yet.exit_code == 2 and "record a session first" in none_yet.output
    for _ in range(2):
        assert run("client", "session", "C003", "--date", "2026-11-25", "--minutes", "30",
                   "--intervention", "reminiscence_listening").exit_code == 0
    latest = run("library", "respond", "Song 90", "--engagement", "2", "--mood", "1", "--client", "C003")
    assert latest.exit_code == 0 and "response logged on session 2" in latest.output
    named = run("library", "respond", "Song 70", "--session", "1", "--engagement", "0", "--mood", "-2",
                "--agitation", "3", "--client", "C003")
    assert named.exit_code == 0 and "on session 1" in named.output and "consider `cadenza library flag`" in named.output
    old = run("library", "respond", "1", "Song 90", "--engagement", "3", "--mood", "2", "--client", "C003")
    assert old.exit_code == 0 and "on session 1" in old.output
    assert run("library", "respond", "1", "Song 90", "--session", "2", "--engagement", "3", "--mood", "2",
               "--client", "C003").exit_code == 2
    assert run("library", "respond", "Song 90", "--session", "99", "--engagement", "3", "--mood", "2",
               "--client", "C003").exit_code == 1  # not this client's session: not found
    assert "SESSION" not in run("library", "respond", "--help").output.replace("--session", "")


def one_scanned_pulse(run, folder, title, client):
    """A new record with one account, ``client`` and a 6-s pulse at 120 BPM titled ``title`` in its library."""
    folder.mkdir()
    pulse_file(folder / f"{title.lower()}.flac", 0.5, duration_s=6.0, title=title)
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert run("client", "add", client).exit_code == 0
    assert run("library", "scan", folder, "--client", client, "-j", "1").exit_code == 0


def test_tempo_halve_double_set_and_restore(run, tmp_path):
    one_scanned_pulse(run, tmp_path / "one", "Lullaby", "C004")
    shown = run("library", "tempo", "Lullaby", "--client", "C004")
    assert shown.exit_code == 0 and "120.0 BPM" in shown.output and "confidence" in shown.output
    halved = run("library", "tempo", "Lullaby", "--halve", "--reason", "felt in two", "--client", "C004")
    assert halved.exit_code == 0 and "Test Band - Lullaby: 60.0 BPM (corrected: halve" in halved.output
    assert "120.0 -> 60.0 BPM (felt in two)" in halved.output
    listing = run("library", "list", "--client", "C004")
    assert "tempo corrected (halve" in listing.output
    data = json.loads(run("playlist", "relax", "--minutes", "1", "--client", "C004", "--json").output)
    assert [t["tempo_bpm"] for t in data["tracks"]] == [pytest.approx(60.0, abs=0.1)]
    cue = run("library", "cue", "Lullaby", "--bpm", "60", "--minutes", "0.1", "-o", tmp_path / "cue.wav",
              "--client", "C004")  # the walking cue steps on the corrected (halved) beat: no stretch warning
    assert cue.exit_code == 0, cue.output
    assert "song beat 60.0 BPM (corrected)" in cue.output and "more than 25 %" not in cue.output
    assert sf.info(str(tmp_path / "cue.wav")).duration == pytest.approx(6, abs=1)
    assert "75.0 BPM" in run("library", "tempo", "Lullaby", "--set", "75", "--client", "C004").output
    both = run("library", "tempo", "Lullaby", "--halve", "--double", "--client", "C004")
    assert both.exit_code == 2 and "--halve and --double" in both.output
    bad = run("library", "tempo", "Lullaby", "--set", "0.8", "--client", "C004")
    assert bad.exit_code != 0 and "period in seconds" in bad.output
    restored = run("library", "tempo", "Lullaby", "--restore", "--client", "C004")
    assert restored.exit_code == 0 and restored.output.startswith("Test Band - Lullaby: 120.0 BPM,")


def test_an_ambiguous_level_names_the_correction_that_reaches_the_other_tempo():
    # Half or double: --halve/--double reaches it; an unrelated periodicity (the level model's independent
    # candidate, issue 22) is reached only by --set.
    from types import SimpleNamespace

    from cadenza.tools.library.cli import _tempo_line

    def row(alternative_bpm):
        return SimpleNamespace(display_name="Hymn", tempo_used_bpm=72.0, tempo_corrected_bpm=None, tempo_bpm=72.0,
                               tempo_confidence=0.5, tempo_ambiguous=True, tempo_alternative_bpm=alternative_bpm,
                               tempo_level_confidence=0.3)

    assert _tempo_line(row(144.0)).endswith("it may be 144 BPM (--level, --halve or --double)")
    assert _tempo_line(row(48.0)).endswith("it may be 48 BPM (--level)")


def test_tempo_level_takes_the_competing_level_the_analysis_heard(run, tmp_path):
    """`library tempo --level` is the terminal's one-click correction: the stored alternative, through the same
    record path (a 2:3 level that --halve/--double cannot reach), and a clear refusal when there is none."""
    import sqlite3

    one_scanned_pulse(run, tmp_path / "two", "Hymn", "C005")
    db_file = tmp_path / "data" / "cadenza.sqlite3"
    with sqlite3.connect(db_file) as con:  # the analysis heard a competing periodicity at two thirds
        con.execute("UPDATE library_track SET tempo_alternative_bpm = 80.004, tempo_level_confidence = 0.3")
    shown = run("library", "tempo", "Hymn", "--client", "C005")
    assert shown.exit_code == 0 and "it may be 80 BPM (--level)" in shown.output
    taken = run("library", "tempo", "Hymn", "--level", "--reason", "felt in three", "--client", "C005")
    assert taken.exit_code == 0, taken.output
    assert "Hymn: 80.0 BPM (corrected: level; analysed 120.0 BPM)" in taken.output
    assert "120.0 -> 80.0 BPM (felt in three)" in taken.output
    again = run("library", "tempo", "Hymn", "--level", "--client", "C005")
    assert again.exit_code == 2 and "no competing tempo to take (it is already in use)" in again.output
    both = run("library", "tempo", "Hymn", "--level", "--halve", "--client", "C005")
    assert both.exit_code == 2 and "--halve and --level" in both.output
    with sqlite3.connect(db_file) as con:
        con.execute("UPDATE library_track SET tempo_alternative_bpm = NULL")
    assert run("library", "tempo", "Hymn", "--restore", "--client", "C005").exit_code == 0
    none = run("library", "tempo", "Hymn", "--level", "--client", "C005")
    assert none.exit_code == 2 and "the analysis heard none" in none.output
