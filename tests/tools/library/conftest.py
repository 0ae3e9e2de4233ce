"""Fixtures of the library tool's tests: a made-up analysed library (records, actions, pages); the ``cli``
runner comes from tests/conftest.py."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.io.library_files import ScannedTrack, ScanReport
from cadenza.io.tags import TrackTags
from cadenza.music.analysis import TrackAnalysis

def fake_track(i: int, *, tempo: float, energy: float, year: int | None = None, duration_s: float = 200.0,
               status: str = "new") -> ScannedTrack:
    analysis = TrackAnalysis(duration_s=duration_s, tempo_bpm=tempo, tempo_confidence=0.8,
                             beat_times_s=np.arange(0, 10, 60 / tempo), integrated_loudness_lufs=-20.0,
                             loudness_range_lu=4.0, brightness_hz=800.0, onset_rate_hz=2.0, energy=energy,
                             key="C", mode="major", mode_confidence=0.5)
    tags = TrackTags(title=f"Song {i}", artist="Band", year=year, duration_s=duration_s)
    return ScannedTrack(f"/music/song{i:02d}.flac", 1000 + i, 10**18 + i, status, content_sha256=f"{i:064x}",
                        tags=tags, analysis=analysis, decoded=True)


def fake_library(n: int = 24) -> ScanReport:
    rng = np.random.default_rng(7)
    return ScanReport(tracks=[fake_track(i, tempo=float(rng.uniform(60, 150)), energy=float(rng.uniform(0, 1)),
                                         year=1950 + 2 * i) for i in range(n)])


@pytest.fixture(name="fake_library")
def fake_library_fixture():
    """``fake_library(n=24)``: a scan report of n analysed tracks (seeded tempi, energies, years)."""
    return fake_library
