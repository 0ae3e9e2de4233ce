"""Every docstring example in the package runs as a test.

Modules are found by their source containing ``>>>``, so a new example is tested without being listed
here, and a module whose examples all vanish is no longer collected rather than passing with none run.
"""

import doctest
import importlib
from pathlib import Path

import pytest

import cadenza

PACKAGE_DIR = Path(cadenza.__file__).parent


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if ">>>" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_examples_found():
    assert "cadenza.gait.cadence" in MODULES and "cadenza.ras.plan" in MODULES and "cadenza.music.tempo" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no runnable examples"
