"""Grouping and the choice of C in bench/tempo_level_fit.py (issue 22): pieces never on both sides of a split."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

FIT = Path(__file__).resolve().parents[2] / "bench" / "tempo_level_fit.py"


@pytest.fixture(scope="module")
def fit_module():
    sys.path.insert(0, str(FIT.parent))
    spec = importlib.util.spec_from_file_location("_cadenza_tempo_level_fit", FIT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("source", "group"), [
    ("essenFolksong/kinder#41", "essenFolksong/kinder"),
    ("essenFolksong/kinder0.abc#57", "essenFolksong/kinder"),
    ("essenFolksong/altdeu10#8", "essenFolksong/altdeu10"),
    ("essenFolksong/altdeu10.abc#93", "essenFolksong/altdeu10"),
    ("mozart/k80/movement3.mxl", "k80/movement3.mxl"),
    ("k80/movement3.mxl", "k80/movement3.mxl"),
    ("bach/bwv324.mxl", "bach/bwv324.mxl"),
    ("ryansMammoth/NorthEndReel.abc", "ryansMammoth/NorthEndReel"),
])
def test_one_piece_or_collection_is_one_group_in_every_corpus(fit_module, source, group):
    assert fit_module.group_of(source) == group


class _Level:
    def __init__(self, features):
        self.features = tuple(features)


def test_choice_accuracy_and_c_on_levels_told_apart_by_one_feature(fit_module):
    rng = np.random.default_rng(0)
    items = []
    for i in range(36):  # the right level has the larger first feature; the others are noise
        right = int(rng.integers(2))
        f = rng.normal(size=(2, len(fit_module.C_GRID) + 1))
        f[right, 0], f[1 - right, 0] = 1.0, -1.0
        items.append({"group": f"piece{i % 12}", "cands": [_Level(f[0]), _Level(f[1])], "labels": [right == 0, right == 1]})
    assert fit_module.choice_accuracy(items, 0.1, "rank", 4, seed=1) == 1.0
    assert fit_module.choose_c(items, "rank", seed=1) == min(fit_module.C_GRID)  # a tie goes to the smaller C
