"""``cadenza songs``: fit, rhyme, export (round trip through the files), and versions in the record."""

import pytest

from cadenza.songwriting.notation import parse_midi, parse_musicxml


@pytest.fixture
def client_flags():
    return {"C001": []}


def test_fit_rhyme_and_export(run, tmp_path):
    fit = run("songs", "fit", "Twinkle twinkle little star", "How I wonder what you are", "--meter", "3",
              "--key", "G")
    assert fit.exit_code == 0, fit.output
    assert "TWIN-kle TWIN-kle LIT-tle STAR" in fit.output and "not a cure" in fit.output and "!" not in fit.output
    rhyme = run("songs", "rhyme", "star")
    assert rhyme.exit_code == 0 and "car" in rhyme.output and "far" in rhyme.output
    near = rhyme.output.split("near rhymes: ")[1].split("\n")[0].split(", ")
    assert {"heart", "hard", "smart", "part", "arm"} & set(near) and "car" not in near
    assert "most common first" in rhyme.output
    mid, xml = tmp_path / "song.mid", tmp_path / "song.musicxml"
    for out in (mid, xml):
        result = run("songs", "export", str(out), "--tune", "amazing_grace")
        assert result.exit_code == 0 and "0 fit problem(s)" in result.output, result.output
    assert parse_midi(mid.read_bytes()) == parse_musicxml(xml.read_text(encoding="utf-8"))
    assert run("songs", "export", str(tmp_path / "x.doc"), "la").exit_code == 2
    bad = run("songs", "fit", "la la", "--mode", "lydian")
    assert bad.exit_code == 2 and "mode" in bad.output
    lilt = run("songs", "fit", "Rocking gently on the sea", "Rocking softly home to me", "--meter", "6/8",
               "--progression", "C G | Am F")
    assert lilt.exit_code == 0 and "6/8" in lilt.output and "C G | Am F" in lilt.output and "!" not in lilt.output
    crowded = run("songs", "fit", "la la", "--meter", "3/4", "--chords-per-bar", "4")
    assert crowded.exit_code == 2 and "chords_per_bar" in crowded.output


def test_new_list_restore(clinic, tmp_path):
    made = clinic("songs", "new", "--client", "C001", "--title", "Hope", "Good morning sun", "I see you shine")
    assert made.exit_code == 0, made.output
    key = made.output.rsplit("of song ", 1)[1].split()[0]
    again = clinic("songs", "new", "--client", "C001", "--song", key, "Good evening moon")
    assert again.exit_code == 0 and "saved version 2" in again.output
    listed = clinic("songs", "list", "--client", "C001")
    assert "version 2" in listed.output and "Good morning sun" in listed.output
    first_id = listed.output.split("version 1 (id ")[1].split(")")[0]
    restored = clinic("songs", "restore", first_id, "--client", "C001")
    assert restored.exit_code == 0 and "version 3" in restored.output
    out = tmp_path / "v.musicxml"
    assert clinic("songs", "export", str(out), "--version-id", first_id, "--client", "C001").exit_code == 0
    assert [n.lyric for n in parse_musicxml(out.read_text(encoding="utf-8"))][:3] == ["good", "morn", "ing"]
