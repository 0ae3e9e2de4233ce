"""Syllables, counts and rhymes against the CMU Pronouncing Dictionary, on public-domain hymn texts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon, tokenize_phrase
from cadenza.songwriting.lyrics import (
    build_rhyme_index, count_word_syllables, family_sizes, find_near_rhymes, find_rhymes, rank_index, rhyme_key,
    rhymes, syllabify_line,
)

# Public-domain hymn texts, all published before 1900: John Newton, "Amazing Grace" (1779); Henry Francis
# Lyte, "Abide with Me" (1847); Cecil Frances Alexander, "All Things Bright and Beautiful" (1848); Augustus
# Toplady, "Rock of Ages" (1763); Isaac Watts, "Joy to the World" (1719).
HYMNS = """
Amazing grace, how sweet the sound that saved a wretch like me
I once was lost, but now am found, was blind, but now I see
'Twas grace that taught my heart to fear, and grace my fears relieved
How precious did that grace appear the hour I first believed
Through many dangers, toils and snares I have already come
'Tis grace hath brought me safe thus far, and grace will lead me home
The Lord has promised good to me, His word my hope secures
He will my shield and portion be as long as life endures
Abide with me, fast falls the eventide
The darkness deepens, Lord, with me abide
When other helpers fail and comforts flee
Help of the helpless, O abide with me
Swift to its close ebbs out life's little day
Earth's joys grow dim, its glories pass away
Change and decay in all around I see
O Thou who changest not, abide with me
All things bright and beautiful, all creatures great and small
All things wise and wonderful, the Lord God made them all
Each little flower that opens, each little bird that sings
He made their glowing colours, He made their tiny wings
The purple headed mountain, the river running by
The sunset and the morning that brightens up the sky
The cold wind in the winter, the pleasant summer sun
The ripe fruits in the garden, He made them every one
Rock of Ages, cleft for me, let me hide myself in Thee
Let the water and the blood from Thy wounded side which flowed
Be of sin the double cure, save from wrath and make me pure
Joy to the world, the Lord is come, let earth receive her King
Let every heart prepare Him room, and heaven and nature sing
He rules the world with truth and grace, and makes the nations prove
The glories of His righteousness and wonders of His love
"""


def test_hymn_syllable_counts_agree_with_the_dictionary(lexicon):
    words = [w for line in HYMNS.strip().splitlines() for w in tokenize_phrase(line)]
    assert len(words) > 300
    agree = 0
    for word in words:
        prons = lexicon.pronunciations.get(word) or lexicon.pronunciations.get(word.replace("'", ""), ())
        cmu_counts = {sum(p[-1].isdigit() for p in phones) for phones in prons}
        agree += count_word_syllables(word, lexicon=lexicon) in cmu_counts  # a word missing from CMU disagrees
    assert agree / len(words) >= 0.98, f"{agree} of {len(words)} words agree"


def test_line_counts_sum_the_words(lexicon):
    line = syllabify_line("All creatures great and small", lexicon=lexicon)
    assert line.n_syllables == 1 + 2 + 1 + 1 + 1  # crea-tures: "K R IY1 CH ER0 Z"
    assert line.stress_pattern.count("H") == 4  # "and" is a function word
    assert syllabify_line("   ", lexicon=lexicon).n_syllables == 0


def test_rhymes_by_phones(lexicon, rhyme_index):
    found = find_rhymes("grace", index=rhyme_index, lexicon=lexicon)
    assert {"place", "face", "space"} <= set(found) and "grace" not in found
    assert rhymes("sound", "found", lexicon=lexicon) and rhymes("singing", "bringing", lexicon=lexicon)
    assert not rhymes("sound", "sing", lexicon=lexicon)
    assert find_rhymes("glorptastic", index=rhyme_index, lexicon=lexicon) == ()
    assert rhyme_key(("B", "AH0", "L", "IY1", "V", "D")) == ("IY", "V", "D")


def test_common_rhymes_come_first_without_a_frequency_list(lexicon, rhyme_index):
    index = rank_index(rhyme_index, lexicon)  # the dictionary's word families stand in for frequencies
    assert "word families" in index.ranked_by
    day = find_rhymes("day", index=index, lexicon=lexicon, max_words=1000)
    assert max(day.index(w) for w in ("say", "play", "may")) < day.index("cathay")
    assert {"play", "say"} <= set(day[:10])
    assert family_sizes(lexicon, {"play", "cathay"}) == {"play": family_sizes(lexicon, {"play"})["play"], "cathay": 0}
    near = find_near_rhymes("star", index=index, lexicon=lexicon, max_words=1000)
    assert {"heart", "hard", "arm"} <= set(near) and not {"car", "far", "star", "stars"} & set(near)
    assert find_near_rhymes("glorptastic", index=index, lexicon=lexicon) == ()


WORDS = ["day", "way", "say", "play", "cathay", "bay", "made", "rain", "great", "they"]
RHYME_LEX = Lexicon({**{w: (("D", "EY1"),) for w in ("day", "way", "say", "play", "bay", "they")},
                     "cathay": (("K", "AE0", "TH", "EY1"),), "made": (("M", "EY1", "D"),),
                     "rain": (("R", "EY1", "N"),), "great": (("G", "R", "EY1", "T"),)})


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(WORDS), st.floats(0, 8), max_size=len(WORDS)))
def test_rhymes_follow_any_frequency_list(frequency):
    index = build_rhyme_index(RHYME_LEX, frequency=frequency, frequency_source="test list")
    found = find_rhymes("day", index=index, lexicon=RHYME_LEX)
    assert set(found) == {"way", "say", "play", "cathay", "bay", "they"} and index.ranked_by == "test list"
    ranks = [frequency.get(w, 0.0) for w in found]
    assert ranks == sorted(ranks, reverse=True)  # the most common first; a word not in the list last
    near = find_near_rhymes("day", index=index, lexicon=RHYME_LEX)
    assert set(near) == {"made", "rain", "great"}
    assert [frequency.get(w, 0.0) for w in near] == sorted((frequency.get(w, 0.0) for w in near), reverse=True)


def test_wordfreq_ranks_the_rhymes_when_installed(lexicon, rhyme_index):
    pytest.importorskip("wordfreq", reason="wordfreq (the optional 'words' extra) is not installed")
    from cadenza.io.word_frequency import load_word_frequencies

    freq = load_word_frequencies(["day", "cathay", "glorptastic"])
    assert freq.zipf["day"] > 5.5 > 3.5 > freq.zipf["cathay"] and "glorptastic" not in freq.zipf
    assert rhyme_index.ranked_by.startswith("wordfreq") and freq.source == rhyme_index.ranked_by  # the tool's index
    day = find_rhymes("day", index=rhyme_index, lexicon=lexicon, max_words=1000)
    assert {"way", "say"} <= set(day[:4]) and day.index("cathay") > 50
    with pytest.raises(ParameterError, match="language"):
        load_word_frequencies(["day"], language="../x")


def test_without_wordfreq_there_is_no_list(monkeypatch):
    import builtins

    from cadenza.io.word_frequency import load_word_frequencies

    real_import = builtins.__import__

    def no_wordfreq(name, *args, **kwargs):
        if name == "wordfreq":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wordfreq)
    assert load_word_frequencies(["day"]) is None
    with pytest.raises(ParameterError, match="frequency"):
        build_rhyme_index(RHYME_LEX, frequency=[("day", 1.0)])


@pytest.mark.parametrize("bad", [None, 3, "two words", "x" * 300, "nul\x00"])
def test_bad_words_are_refused_by_name(lexicon, rhyme_index, bad):
    with pytest.raises(ParameterError, match="word"):
        find_rhymes(bad, index=rhyme_index, lexicon=lexicon)
    with pytest.raises(ParameterError, match="word"):
        find_near_rhymes(bad, index=rhyme_index, lexicon=lexicon)


def test_hostile_line_is_refused_by_name(lexicon):
    with pytest.raises(ParameterError, match="line 3"):
        syllabify_line("a" * 500, lexicon=lexicon, name="line 3")
