import pytest

from cadenza.io.speech import load_lexicon


@pytest.fixture(scope="session")
def lexicon():
    return load_lexicon()  # cached per process: MIT's tests share the parse


@pytest.fixture(scope="session")
def rhyme_index(lexicon):
    from cadenza.tools.songs.actions import rhyme_index

    return rhyme_index()  # built once per process, shared with the tool's tests
