import doctest

import numpy as np
import pytest

import cadenza.safety.calibration as calibration
from cadenza.errors import ParameterError
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration, render_calibration_tone


def test_doctests():
    assert doctest.testmod(calibration).failed == 0


def test_tone_is_1khz_at_stated_rms():
    sr = 48_000
    tone = render_calibration_tone(duration_s=3.0, sampling_rate_hz=sr, rms_dbfs=-12.0)
    core = tone[sr // 10: -sr // 10].astype(float)
    assert 20 * np.log10(np.sqrt(np.mean(core**2))) == pytest.approx(-12.0, abs=0.01)
    spectrum = np.abs(np.fft.rfft(core))
    assert np.fft.rfftfreq(core.size, 1 / sr)[spectrum.argmax()] == pytest.approx(1000.0, abs=1.0)
    assert abs(tone[0]) < 1e-6 and abs(tone[-1]) < 1e-3  # ramps, no click


def test_measured_calibration_reads_back_through_levels():
    cal = Calibration.from_measurement(66.0, device="incubator speaker")
    tone = render_calibration_tone(duration_s=3.0, sampling_rate_hz=44_100)
    r = measure_levels(tone, sampling_rate_hz=44_100, level_offset_db=cal.level_offset_db)
    assert r.leq_dba == pytest.approx(66.0, abs=0.1)


def test_default_is_conservative_and_flagged():
    assert DEFAULT_CALIBRATION.is_default
    assert DEFAULT_CALIBRATION.level_offset_db == pytest.approx(100.0)


@pytest.mark.parametrize("bad", [float("nan"), 5.0, 150.0])
def test_implausible_measurement_rejected(bad):
    with pytest.raises(ParameterError, match="measured_level_dba"):
        Calibration.from_measurement(bad)


def test_other_bad_input():
    with pytest.raises(ParameterError, match="device"):
        Calibration.from_measurement(70.0, device=" ")
    with pytest.raises(ParameterError, match="duration_s"):
        render_calibration_tone(duration_s=0)
    with pytest.raises(ParameterError, match="rms_dbfs"):
        render_calibration_tone(rms_dbfs=0.0)
