"""Fixtures shared by every test module. Domain-specific fixtures live next to their tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def shared_data() -> Callable[..., Path]:
    """``shared_data("gait", "mobgap_lab")``: a path under ../shared/data, or skip with the reason."""

    def _path(*parts: str) -> Path:
        path = SHARED_DATA_DIR.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"real-data folder {path} is absent; these tests read ../shared/data")
        return path

    return _path
