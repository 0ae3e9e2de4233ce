"""Docstring examples of the music modules and the library I/O run as tests."""

import doctest
import importlib

import pytest

MODULES = [
    "cadenza.music.onset",
    "cadenza.music.tempo",
    "cadenza.music.beats",
    "cadenza.music.features",
    "cadenza.music.analysis",
    "cadenza.music.playlists",
    "cadenza.music.reminiscence",
    "cadenza.music.playlist_formats",
    "cadenza.io.tags",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no runnable examples"
