"""Fixtures shared by every test module. Domain-specific fixtures live next to their tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


def shared_data(*parts: str) -> Path:
    """Path to a folder of ../shared/data, or skip the test with the reason it is missing."""
    path = SHARED_DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real-data folder {path} is absent (see ../shared/data/README)")
    return path
