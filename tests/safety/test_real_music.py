"""Real music (the shared tempo corpus, 22.05 kHz): level estimates against an independent loudness
meter (ITU-R BS.1770 via pyloudnorm), and NICU limits holding on material with drums and reverb."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from cadenza.io.audio import load_audio
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration
from cadenza.safety.dose import estimate_listening_level_dba
from cadenza.safety.enforce import apply_audio_policy
from cadenza.safety.flags import audio_policy


@pytest.fixture(scope="module")
def excerpts(shared_data):
    folder = shared_data("music")
    with (folder / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    # every arrangement family once, drums and degraded ones included
    chosen, seen = [], set()
    for row in rows:
        key = (row["arrangement"], row["degradation"])
        if key not in seen:
            seen.add(key)
            chosen.append(folder / row["audio"])
    return chosen[:12]


def test_lufs_estimate_is_close_and_errs_loud(excerpts):
    import pyloudnorm

    cal = Calibration.from_measurement(75.0)
    diffs = []
    for path in excerpts:
        audio = load_audio(path, mono=True)
        lufs = pyloudnorm.Meter(audio.sampling_rate_hz).integrated_loudness(audio.samples.astype(float))
        from_lufs = estimate_listening_level_dba(lufs, cal)
        from_samples = estimate_listening_level_dba(audio.samples, cal, sampling_rate_hz=audio.sampling_rate_hz)
        diffs.append(from_lufs - from_samples)
    diffs = np.array(diffs)
    # K-weighting and gating read music a little louder than A-weighted Leq: the LUFS shortcut is conservative
    assert np.all(diffs > -1.0), diffs
    assert np.all(diffs < 8.0), diffs  # 1.6-6.1 dB on these excerpts


def test_nicu_policy_holds_on_real_music(excerpts):
    cal = Calibration.from_measurement(78.0, device="incubator speaker")
    for path in excerpts:
        audio = load_audio(path, mono=True)
        out = apply_audio_policy(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                                 policy=audio_policy(["nicu_infant"]), calibration=cal)
        report = measure_levels(out.samples, sampling_rate_hz=out.sampling_rate_hz,
                                level_offset_db=cal.level_offset_db, floor_dba=NICU_LIMITS.floor_dba)
        assert check_limits(report) == (), (path.name, report)
        assert report.leq_dba > NICU_LIMITS.leq_dba - 6, (path.name, report)  # still audible
