"""Public-domain tunes: their own words fit, parody keeps syllable counts, blanks take the right count."""

import pytest

from cadenza.errors import ParameterError
from cadenza.songwriting.scaffolds import TUNES, blank_lines, fill_blanks, get_tune, tune_song
from cadenza.songwriting.song import check_fit


@pytest.mark.parametrize("name", sorted(TUNES))
def test_each_tune_fits_its_own_words(name, lexicon):
    tune = TUNES[name]
    song = tune_song(tune, lexicon=lexicon)
    assert check_fit(song) == ()
    assert len(song.notes) == sum(len(line.notes) for line in tune.lines)
    last = max(o + d for line in tune.lines for _, o, d in line.notes)
    assert last <= tune.n_bars * tune.beats_per_bar
    assert "Public domain" in tune.credit


def test_parody_keeps_syllable_counts(lexicon):
    tune = TUNES["twinkle"]
    lines = ["Walking slowly to the sea", "Listen to the waves and me", "Up above the birds can fly",
             "Like a kite up in the sky", "Walking slowly to the sea", "Listen to the waves and me"]
    song = tune_song(tune, lexicon=lexicon, lines=lines)
    assert [n.lyric for n in song.notes][:3] == ["walk", "ing", "slow"]
    assert [n.pitch_midi for n in song.notes] == [p for line in tune.lines for p, _, _ in line.notes]
    assert check_fit(song) == ()
    with pytest.raises(ParameterError, match=r"line 2 must have 7 syllables like 'How I wonder what you are', got 5"):
        tune_song(tune, lexicon=lexicon, lines=[lines[0], "Listen to the waves", *lines[2:]])
    with pytest.raises(ParameterError, match="lines must be 6 lines"):
        tune_song(tune, lexicon=lexicon, lines=lines[:2])


def test_parody_against_the_metre_is_reported(lexicon):
    # "Today" has its stress on the second syllable; in "Twinkle" its first syllable takes the downbeat
    lines = ["Today I am feeling great", *[line.text for line in TUNES["twinkle"].lines[1:]]]
    problems = check_fit(tune_song(TUNES["twinkle"], lexicon=lexicon, lines=lines))
    assert [p.kind for p in problems] == ["word_stress"] and "today" in problems[0].message


def test_fill_in_the_blank(lexicon):
    tune = TUNES["twinkle"]
    assert blank_lines(tune)[0] == "Twinkle, twinkle, little ____"
    song = fill_blanks(tune, ["dog", "true", "bright", "night"], lexicon=lexicon)
    assert song.lines[0].text == "Twinkle, twinkle, little dog" and check_fit(song) == ()
    with pytest.raises(ParameterError, match=r"fill for line 2 must have 1 syllable\(s\) like 'are', got 2"):
        fill_blanks(tune, ["dog", "happy", "bright", "night"], lexicon=lexicon)
    with pytest.raises(ParameterError, match="fills must be 4"):
        fill_blanks(tune, ["dog"], lexicon=lexicon)
    with pytest.raises(ParameterError, match="tune must be one of"):
        get_tune("you_are_my_sunshine")
