"""Docstring examples in the clinic, evidence and record-CLI modules run."""

import doctest
import importlib

import pytest

MODULES = ["cadenza.evidence.query", "cadenza.clinic.instruments", "cadenza.clinic.db", "cadenza.clinic.progress",
           "cadenza.cli.records"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
