import pytest

from cadenza.io.speech import load_lexicon
from cadenza.songwriting.lyrics import build_rhyme_index


@pytest.fixture(scope="session")
def lexicon():
    return load_lexicon()  # cached per process: MIT's tests share the parse


@pytest.fixture(scope="session")
def rhyme_index(lexicon):
    return build_rhyme_index(lexicon)
