import doctest

import numpy as np
import pytest

import cadenza.nicu.lullaby as lullaby
from cadenza.errors import ParameterError
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.nicu.lullaby import LULLABIES, prepare_parent_recording, render_lullaby, tune_notes
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration

SR = 16_000
CALIBRATIONS = [None, Calibration.from_measurement(60.0, device="incubator"),
                Calibration.from_measurement(90.0, device="loud speaker")]


def independent_check(render, calibration, limits=NICU_LIMITS):
    offset = (calibration or lullaby.enforce_nicu_limits.__globals__["DEFAULT_CALIBRATION"]).level_offset_db
    r = measure_levels(render.samples, sampling_rate_hz=render.sampling_rate_hz, level_offset_db=offset,
                       floor_dba=limits.floor_dba)
    assert check_limits(r, limits) == (), check_limits(r, limits)
    assert r.leq_dba <= limits.leq_dba and r.l10_dba <= limits.l10_dba and r.lmax_dba <= limits.lmax_dba
    assert r.max_rise_db_per_s <= limits.max_rise_db_per_s
    return r


def test_doctests():
    assert doctest.testmod(lullaby).failed == 0


@pytest.mark.parametrize("tune", sorted(LULLABIES))
@pytest.mark.parametrize("cal_idx", range(len(CALIBRATIONS)))
def test_every_lullaby_render_is_within_nicu_caps(tune, cal_idx):
    cal = CALIBRATIONS[cal_idx]
    out = render_lullaby(tune=tune, minutes=1.0, sampling_rate_hz=SR, calibration=cal)
    r = independent_check(out.render, cal)
    assert r.leq_dba > NICU_LIMITS.leq_dba - 4  # audible, not silenced into uselessness
    assert out.render.duration_s == pytest.approx(60.0)


def test_stricter_configured_cap_is_respected():
    strict = NICU_LIMITS.with_target(leq_dba=38.0)
    out = render_lullaby(tune="brahms", minutes=0.5, sampling_rate_hz=SR, limits=strict)
    independent_check(out.render, None, strict)
    assert out.render.report.leq_dba <= 38.0


@pytest.mark.parametrize("tune", sorted(LULLABIES))
def test_tunes_are_narrow_and_steady(tune):
    pitches, onsets, durs, length_s = tune_notes(tune, tempo_bpm=60)
    assert np.ptp(pitches) <= 12
    # onsets on a half-beat grid at one tempo: no tempo change inside the tune
    assert np.allclose(onsets * 2, np.round(onsets * 2))
    assert np.all(np.diff(onsets) > 0) and onsets[-1] < length_s
    faster = tune_notes(tune, tempo_bpm=75)[1]
    np.testing.assert_allclose(faster, onsets * 60 / 75)


def test_repeats_keep_key_and_level_steady():
    out = render_lullaby(tune="twinkle", minutes=2.0, sampling_rate_hz=SR)
    assert out.repeats >= 2
    # middle of the render (past the fades) has steady level: L10 - L50 small
    r = out.render.report
    assert r.l10_dba - r.l50_dba < 4.0


def test_transpose_keeps_intervals():
    base = tune_notes("au_clair")[0]
    up = tune_notes("au_clair", transpose_semitones=5)[0]
    np.testing.assert_array_equal(up - base, 5)


def synthetic_singing(rng, seconds=8.0):
    t = np.arange(int(seconds * SR)) / SR
    f0 = 330 * 2 ** (np.floor(t) % 3 * 2 / 12)
    voice = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / SR) * (np.sin(np.pi * (t % 1.0)) ** 2)
    voice[(t % 4) > 3.2] = 0.0  # breath pauses
    rumble = 0.3 * np.sin(2 * np.pi * 30 * t)
    return voice + rumble + 0.003 * rng.standard_normal(t.size) + 0.05, t


def test_parent_recording_cleaned_and_within_limits(rng):
    x, t = synthetic_singing(rng)
    cal = Calibration.from_measurement(70.0)
    out = prepare_parent_recording(x, sampling_rate_hz=SR, calibration=cal)
    independent_check(out, cal)
    y = out.samples.astype(float)
    assert abs(y.mean()) < 1e-3 * np.abs(y).max()  # DC gone
    spec = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(y.size, 1 / SR)
    assert spec[np.abs(freqs - 30) < 2].max() < 0.01 * spec[np.abs(freqs - 330) < 3].max()  # rumble gone
    pauses = (t % 4 > 3.4) & (t % 4 < 3.9) & (t > 2) & (t < 7)
    singing = (t % 1 > 0.4) & (t % 1 < 0.6) & (t % 4 < 3) & (t > 2) & (t < 7)
    assert np.std(y[pauses]) < 0.3 * np.std(y[singing])  # breaths and room noise lowered


def test_bad_input():
    with pytest.raises(ParameterError, match="tune"):
        render_lullaby(tune="wonderwall")
    with pytest.raises(ParameterError, match="tempo_bpm"):
        tune_notes("twinkle", tempo_bpm=120)
    with pytest.raises(ParameterError, match="minutes"):
        render_lullaby(minutes=0)
    with pytest.raises(ParameterError, match="at least 2 s"):
        prepare_parent_recording(np.ones(100), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="transpose_semitones"):
        tune_notes("twinkle", transpose_semitones=1.5)
