"""Syllables, counts and rhymes against the CMU Pronouncing Dictionary, on public-domain hymn texts."""

import pytest

from cadenza.errors import ParameterError
from cadenza.mit.syllables import tokenize_phrase
from cadenza.songwriting.lyrics import count_word_syllables, find_rhymes, rhyme_key, rhymes, syllabify_line

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


@pytest.mark.parametrize("bad", [None, 3, "two words", "x" * 300, "nul\x00"])
def test_bad_words_are_refused_by_name(lexicon, rhyme_index, bad):
    with pytest.raises(ParameterError, match="word"):
        find_rhymes(bad, index=rhyme_index, lexicon=lexicon)


def test_hostile_line_is_refused_by_name(lexicon):
    with pytest.raises(ParameterError, match="line 3"):
        syllabify_line("a" * 500, lexicon=lexicon, name="line 3")
