import doctest

import numpy as np
import pytest

import cadenza.safety.enforce as enforce
from cadenza.errors import ParameterError
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration, render_calibration_tone
from cadenza.safety.enforce import apply_audio_policy
from cadenza.safety.flags import audio_policy

SR = 16_000


def test_doctests():
    assert doctest.testmod(enforce).failed == 0


@pytest.fixture
def music(rng):
    # 6 s of noise at -10 dBFS with a louder second half: default calibration puts it near 90 dB(A)
    x = 0.3 * rng.standard_normal(6 * SR)
    x[3 * SR:] *= 2
    return x


@pytest.mark.parametrize("flags,cap", [([], 85.0), (["hearing_loss"], 75.0), (["trauma_history"], 85.0),
                                       (["seizures"], 85.0)])
def test_ear_level_caps_per_flag(music, flags, cap):
    out = apply_audio_policy(music, sampling_rate_hz=SR, policy=audio_policy(flags))
    assert out.report.leq_dba == pytest.approx(cap, abs=0.05)
    assert out.nicu_limits is None and out.gain_db < 0


def test_nicu_flag_switches_to_nicu_limits_for_any_tool(music):
    cal = Calibration.from_measurement(80.0)
    out = apply_audio_policy(np.stack([music, music]), sampling_rate_hz=SR,
                             policy=audio_policy(["nicu_infant", "hearing_loss"]), calibration=cal)
    r = measure_levels(out.samples, sampling_rate_hz=SR, level_offset_db=cal.level_offset_db,
                       floor_dba=NICU_LIMITS.floor_dba)
    assert out.samples.ndim == 1 and check_limits(r) == ()
    assert out.nicu_limits is not None and out.as_dict()["nicu_limits"]["leq_dba"] == 45.0


def test_quiet_material_is_never_turned_up():
    tone = render_calibration_tone(duration_s=3, sampling_rate_hz=SR, rms_dbfs=-40.0)
    out = apply_audio_policy(tone, sampling_rate_hz=SR, policy=audio_policy([]))
    assert out.gain_db == 0.0
    np.testing.assert_allclose(out.samples, tone, atol=1e-7)


def test_bad_policy_and_samples():
    with pytest.raises(ParameterError, match="policy"):
        apply_audio_policy(np.ones(10), sampling_rate_hz=SR, policy=["seizures"])
    with pytest.raises(ParameterError, match="samples"):
        apply_audio_policy(np.empty(0), sampling_rate_hz=SR, policy=audio_policy([]))
