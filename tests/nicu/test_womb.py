import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.nicu.womb import render_womb_sound
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration

SR = 16_000


@pytest.mark.parametrize("heart_rate_bpm,breaths_per_min,mix_db", [(72, 12, 0), (60, 8, 6), (100, 20, -10)])
def test_womb_render_within_caps(heart_rate_bpm, breaths_per_min, mix_db):
    cal = Calibration.from_measurement(75.0)
    out = render_womb_sound(minutes=0.75, heart_rate_bpm=heart_rate_bpm, breaths_per_min=breaths_per_min,
                            heartbeat_to_ocean_db=mix_db, sampling_rate_hz=SR, calibration=cal)
    r = measure_levels(out.render.samples, sampling_rate_hz=SR, level_offset_db=cal.level_offset_db,
                       floor_dba=NICU_LIMITS.floor_dba)
    assert check_limits(r) == ()
    assert r.leq_dba > NICU_LIMITS.leq_dba - 5


def _dominant_period_s(envelope, rate_hz, lo_s, hi_s):
    env = envelope - envelope.mean()
    ac = np.correlate(env, env, mode="full")[env.size - 1:]
    lags = np.arange(ac.size) / rate_hz
    ok = (lags >= lo_s) & (lags <= hi_s)
    return lags[ok][ac[ok].argmax()]


def test_heartbeat_and_breath_rates_are_in_the_sound():
    out = render_womb_sound(minutes=1.0, heart_rate_bpm=80, breaths_per_min=10, sampling_rate_hz=SR,
                            heartbeat_to_ocean_db=6)
    y = out.render.samples.astype(float)
    frame = SR // 100
    # heartbeat: envelope of the band below 200 Hz
    from scipy import signal
    low = signal.sosfiltfilt(signal.butter(4, 200, fs=SR, output="sos"), y)
    env_low = np.sqrt(np.mean(low[: low.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    assert _dominant_period_s(env_low[1000:5000], 100, 0.5, 1.2) == pytest.approx(60 / 80, abs=0.02)
    assert np.diff(out.beat_times_s) == pytest.approx(np.full(out.beat_times_s.size - 1, 0.75))
    # ocean: A-weighted level above 300 Hz swells once per breath (6 s)
    high = signal.sosfiltfilt(signal.butter(4, 300, btype="high", fs=SR, output="sos"), y)
    env_high = np.sqrt(np.mean(high[: high.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    assert _dominant_period_s(env_high[1000:5500], 100, 3.0, 10.0) == pytest.approx(6.0, abs=0.3)


def test_default_calibration_is_used_when_none():
    out = render_womb_sound(minutes=0.25, sampling_rate_hz=SR)
    assert out.render.calibration == DEFAULT_CALIBRATION
    assert out.as_dict()["calibration"]["is_default"] is True


def test_bad_input():
    with pytest.raises(ParameterError, match="heart_rate_bpm"):
        render_womb_sound(heart_rate_bpm=140)
    with pytest.raises(ParameterError, match="breaths_per_min"):
        render_womb_sound(breaths_per_min=0.2)
    with pytest.raises(ParameterError, match="minutes"):
        render_womb_sound(minutes=-1)
