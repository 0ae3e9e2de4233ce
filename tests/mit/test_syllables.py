"""Syllables and stress: known answers on functional phrases, missing words, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.io.speech import espeak_available, load_lexicon
from cadenza.mit.syllables import Lexicon, syllabify_phrase, tokenize_phrase

# (phrase, display with stressed syllables in capitals, pattern H = high / stressed)
FUNCTIONAL_PHRASES = [
    ("How are you", "HOW are you", "HLL"),
    ("I need help", "I NEED HELP", "LHH"),
    ("Thank you very much", "THANK you VE-ry MUCH", "HLHLH"),
    ("I want water", "I WANT WA-ter", "LHHL"),
    ("Good morning", "GOOD MORN-ing", "HHL"),
    ("Good night", "GOOD NIGHT", "HH"),
    ("I love you", "I LOVE you", "LHL"),
    ("See you later", "SEE you LAT-er", "HLHL"),
    ("Yes please", "YES PLEASE", "HH"),
    ("No thank you", "NO THANK you", "HHL"),
    ("I am hungry", "I am HUN-gry", "LLHL"),
    ("I am thirsty", "I am THIR-sty", "LLHL"),
    ("Where is the bathroom", "WHERE is the BATH-room", "HLLHL"),
    ("Call my daughter", "CALL my DAUGH-ter", "HLHL"),
    ("Turn on the light", "TURN on the LIGHT", "HLLH"),
    ("I feel sick", "I FEEL SICK", "LHH"),
    ("Open the door", "O-pen the DOOR", "HLLH"),
    ("Help me please", "HELP me PLEASE", "HLH"),
    ("What time is it", "WHAT TIME is it", "HHLL"),
    ("I want to go home", "I WANT to GO HOME", "LHLHH"),
    ("Let me sleep", "LET me SLEEP", "HLH"),
    ("Happy birthday", "HAP-py BIRTH-day", "HLHL"),
    ("Pass the salt", "PASS the SALT", "HLH"),
    ("I need a doctor", "I NEED a DOC-tor", "LHLHL"),
    ("My name is Anna", "my NAME is AN-na", "LHLHL"),
    ("Good afternoon", "GOOD af-ter-NOON", "HLLH"),
    ("Can I have coffee", "can I have COF-fee", "LLLHL"),
    ("Leave me alone", "LEAVE me a-LONE", "HLLH"),
    ("I want a glass of water", "I WANT a GLASS of WA-ter", "LHLHLHL"),
    ("Take my Brexit", "TAKE my BREX-it", "HLHL"),  # "brexit" is not in the dictionary
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.mark.parametrize(("text", "display", "pattern"), FUNCTIONAL_PHRASES)
def test_functional_phrases(lexicon, text, display, pattern):
    phrase = syllabify_phrase(text, lexicon=lexicon)
    assert phrase.display() == display
    assert phrase.stress_pattern == pattern
    assert phrase.n_syllables == len(pattern)


def test_thirty_phrases_listed():
    assert len(FUNCTIONAL_PHRASES) == 30


def test_missing_word_is_guessed_and_noted(lexicon):
    phrase = syllabify_phrase("Take my Brexit", lexicon=lexicon)
    assert phrase.guessed_words == ("brexit",)
    assert [s.guessed for s in phrase.syllables] == [False, False, True, True]
    assert "brexit" in phrase.notes[0] and "guessed" in phrase.notes[0]
    known = syllabify_phrase("Take my coffee", lexicon=lexicon)
    assert known.guessed_words == () and known.notes == ()


def test_unknown_long_word_split_by_vowel_groups_stress_guessed(lexicon):
    phrase = syllabify_phrase("glorptastic", lexicon=lexicon)
    assert [s.text for s in phrase.syllables] == ["glorp", "tas", "tic"]
    bare = Lexicon(pronunciations={})
    assert syllabify_phrase("glorptastic", lexicon=bare).stress_pattern == "HLL"  # no guess: first syllable
    counted = Lexicon(pronunciations={}, stress_from_end=lambda word: 2)
    assert syllabify_phrase("glorptastic", lexicon=counted).stress_pattern == "LHL"
    too_far = Lexicon(pronunciations={}, stress_from_end=lambda word: 7)
    assert syllabify_phrase("glorptastic", lexicon=too_far).stress_pattern == "HLL"


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
@pytest.mark.parametrize(("text", "display"), [
    ("glorptastic", "glorp-TAS-tic"), ("mcdonaldization", "mcdo-nal-di-ZA-tion"),
    ("vaxxination", "vax-xi-NA-tion"), ("Call Okonkwo", "CALL o-KON-kwo"),
])
def test_unknown_words_stressed_by_the_synthesiser(lexicon, text, display):
    phrase = syllabify_phrase(text, lexicon=lexicon)
    assert phrase.guessed_words and phrase.display() == display


def test_fewest_syllable_variant_is_chosen(lexicon):
    # CMUdict lists EH1 V ER0 IY0 and EH1 V R IY0; speech (and espeak) says two syllables
    assert syllabify_phrase("every day", lexicon=lexicon).stress_pattern == "HLH"


def test_function_words_only_gets_a_peak(lexicon):
    assert syllabify_phrase("I am", lexicon=lexicon).stress_pattern == "LH"


def test_empty_and_punctuation_only_give_no_syllables(lexicon):
    assert syllabify_phrase("", lexicon=lexicon).n_syllables == 0
    assert syllabify_phrase("?!,", lexicon=lexicon).syllables == ()


def test_bad_input(lexicon):
    with pytest.raises(ParameterError, match="text"):
        syllabify_phrase(None, lexicon=lexicon)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="text"):
        syllabify_phrase("word " * 41, lexicon=lexicon)


def test_tokenize_keeps_apostrophes():
    assert tokenize_phrase("Don't go, it\u2019s late!") == ("don't", "go", "it's", "late")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", min_size=1, max_size=12), min_size=1, max_size=6))
def test_every_word_gets_syllables_in_order(words):
    lexicon = load_lexicon()
    text = " ".join(words)
    phrase = syllabify_phrase(text, lexicon=lexicon)
    tokens = tokenize_phrase(text)
    assert phrase.words == tokens
    assert {s.word_index for s in phrase.syllables} == set(range(len(tokens)))
    assert [s.word_index for s in phrase.syllables] == sorted(s.word_index for s in phrase.syllables)
    if tokens:
        assert "H" in phrase.stress_pattern


def test_spelling_pieces_rebuild_the_word(lexicon):
    for word in ("rhythm", "prism", "water", "afternoon", "usually", "o'clock", "brexit", "glorptastic"):
        phrase = syllabify_phrase(word, lexicon=lexicon)
        assert "".join(s.text for s in phrase.syllables).lower().replace("'", "") == word.replace("'", "")
    assert syllabify_phrase("rhythm", lexicon=lexicon).display() == "RHY-thm"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=14))
def test_spelling_pieces_rebuild_any_word(word):
    lexicon = load_lexicon()
    phrase = syllabify_phrase(word, lexicon=lexicon)
    assert "".join(s.text for s in phrase.syllables).lower().replace("_", "") == word
