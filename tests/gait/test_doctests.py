"""Docstring examples of the gait modules and loaders run as tests."""

import doctest
import importlib

import pytest

MODULES = [
    "cadenza.gait",
    "cadenza.gait.analysis",
    "cadenza.gait.bouts",
    "cadenza.gait.cadence",
    "cadenza.gait.scoring",
    "cadenza.gait.steps",
    "cadenza.gait.laterality",
    "cadenza.io.imu",
    "cadenza.io.gait_datasets",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
