"""Docstring examples of the RAS and render modules run as tests."""

import doctest
import importlib

import pytest

MODULES = [
    "cadenza.render.clicks",
    "cadenza.render.stretch",
    "cadenza.render.loudness",
    "cadenza.render.mix",
    "cadenza.ras.plan",
    "cadenza.ras.cue",
    "cadenza.ras.music_mode",
    "cadenza.ras.sync",
    "cadenza.ras.controller",
    "cadenza.ras.walkers",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no runnable examples"
