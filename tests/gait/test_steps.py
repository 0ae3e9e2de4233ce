import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait import FootStepDetector, LowerBackStepDetector, match_contacts

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_known_steps_at_100hz(rng, make_lower_back, make_walk):
    ic = make_walk(start_s=3.0, n_steps=30, step_s=0.55, rng=rng)
    acc = make_lower_back(ic, duration_s=25.0, sampling_rate_hz=100, rng=rng)
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=100)
    assert det.ic_times_s_.size == 30
    np.testing.assert_allclose(det.ic_times_s_, ic, atol=0.02)


def test_tpcp_contract():
    det = LowerBackStepDetector(min_step_s=0.3)
    assert det.get_params()["min_step_s"] == 0.3
    clone = det.set_params(min_step_s=0.35).clone()
    assert clone.min_step_s == 0.35 and not hasattr(clone, "ic_times_s_")
    with pytest.raises(TypeError, match="no parameter"):
        det.set_params(bogus=1)


@given(
    rate_hz=st.sampled_from([30.0, 40.0, 50.0, 60.0, 100.0, 128.0, 200.0]),
    step_s=st.floats(0.4, 1.0),
    jitter=st.floats(0.0, 0.06),
)
@SETTINGS
def test_rates_and_jitter(rate_hz, step_s, jitter, rng, make_lower_back, make_walk):
    ic = make_walk(start_s=2.0, n_steps=24, step_s=step_s, rng=rng, jitter=jitter)
    acc = make_lower_back(ic, duration_s=ic[-1] + 3.0, sampling_rate_hz=rate_hz, rng=rng)
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate_hz).ic_times_s_
    m = match_contacts(det, ic, tolerance_s=0.1)
    assert m.n_false_positive == 0 and m.n_false_negative == 0, (det, ic)
    assert np.max(np.abs(m.timing_errors_s)) < 0.04


@given(shift_s=st.floats(0.5, 20.0))
@SETTINGS
def test_time_shift_invariance(shift_s, rng, make_lower_back, make_walk):
    rate = 100.0
    ic = make_walk(start_s=2.0, n_steps=16, step_s=0.6, rng=rng)
    acc = make_lower_back(ic, duration_s=13.0, sampling_rate_hz=rate, rng=rng)
    pad = int(round(shift_s * rate))
    standing = np.zeros((3, pad))
    standing[0] = 9.81
    shifted = np.concatenate([standing + rng.normal(0, 0.05, standing.shape), acc], axis=1)
    a = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate).ic_times_s_
    b = LowerBackStepDetector().detect(shifted, sampling_rate_hz=rate).ic_times_s_
    assert a.size == b.size
    np.testing.assert_allclose(b - pad / rate, a, atol=0.011)


@given(nan_start_s=st.floats(4.0, 12.0), nan_len_s=st.floats(0.05, 3.0))
@SETTINGS
def test_nan_run_gives_no_contacts_inside_it(nan_start_s, nan_len_s, rng, make_lower_back, make_walk):
    rate = 100.0
    ic = make_walk(start_s=1.0, n_steps=30, step_s=0.6, rng=rng)
    acc = make_lower_back(ic, duration_s=20.0, sampling_rate_hz=rate, rng=rng)
    lo, hi = int(nan_start_s * rate), int((nan_start_s + nan_len_s) * rate)
    acc[:, lo:hi] = np.nan
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate).ic_times_s_
    assert not np.any((det > lo / rate) & (det < hi / rate))  # samples lo..hi-1 are NaN
    far = ic[(ic < nan_start_s - 1.5) | (ic > nan_start_s + nan_len_s + 1.5)]
    far = far[(far > 2.0) & (far < 18.0)]
    m = match_contacts(det, far, tolerance_s=0.1)
    assert m.n_false_negative <= 1  # contacts away from the gap are still found


def test_standing_still_gives_no_steps(rng):
    acc = np.zeros((3, 3000))
    acc[0] = 9.81
    acc += rng.normal(0, 0.03, acc.shape)
    assert LowerBackStepDetector().detect(acc, sampling_rate_hz=100).ic_times_s_.size == 0


def test_all_nan_is_empty():
    acc = np.full((3, 500), np.nan)
    assert LowerBackStepDetector().detect(acc, sampling_rate_hz=100).ic_times_s_.size == 0


@pytest.mark.parametrize(
    "acc, rate, match",
    [
        (np.zeros((500, 3)), 100, "transposed"),
        (np.zeros((3, 500)), 5, "sampling_rate_hz"),
        (np.ones((3, 500)) / np.sqrt(3), 100, "in g"),
        (np.ones((3, 500)) * 600, 100, "milli-g"),
    ],
)
def test_bad_input(acc, rate, match):
    with pytest.raises(ParameterError, match=match):
        LowerBackStepDetector().detect(acc, sampling_rate_hz=rate)


def test_foot_needs_gyroscope():
    acc = np.zeros((3, 500))
    acc[2] = 9.81
    with pytest.raises(ParameterError, match="gyr_deg_s"):
        FootStepDetector().detect(acc, sampling_rate_hz=100)


def _foot_gyro(ic_s: np.ndarray, rate: float, n: int, sign: float) -> np.ndarray:
    """Sagittal angular rate: a broad negative swing lobe ending at each contact, then a rebound."""
    t = np.arange(n) / rate
    g = np.zeros(n)
    for ic in ic_s:
        g += -300 * np.exp(-0.5 * ((t - (ic - 0.2)) / 0.09) ** 2) + 150 * np.exp(-0.5 * ((t - (ic + 0.05)) / 0.04) ** 2)
    gyr = np.zeros((3, n))
    gyr[1] = sign * g
    return gyr


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_foot_known_contacts_either_mounting(sign, rng):
    rate = 102.4
    ic = 1.0 + 1.1 * np.arange(15)
    n = int(18 * rate)
    acc = np.zeros((3, n))
    acc[2] = 9.81
    gyr = _foot_gyro(ic, rate, n, sign) + rng.normal(0, 2, (3, n))
    det = FootStepDetector().detect(acc, sampling_rate_hz=rate, gyr_deg_s=gyr).ic_times_s_
    m = match_contacts(det, ic, tolerance_s=0.1)
    assert (m.n_false_positive, m.n_false_negative) == (0, 0)
    # The synthetic zero crossing sits a little before the nominal contact; it must be within 40 ms.
    assert np.max(np.abs(m.timing_errors_s)) < 0.04


@given(first_step_s=st.floats(0.5, 0.8), ratio=st.floats(0.75, 0.9))
@SETTINGS
def test_cadence_change_mid_walk(first_step_s, ratio, rng, make_lower_back):
    # A cue-driven speed-up: 14 steps at one cadence, then 14 quicker ones, without stopping.
    slow = 2.0 + first_step_s * np.arange(14)
    fast = slow[-1] + first_step_s * ratio * np.arange(1, 15)
    ic = np.concatenate([slow, fast])
    acc = make_lower_back(ic, duration_s=ic[-1] + 3.0, sampling_rate_hz=100, rng=rng)
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=100).ic_times_s_
    m = match_contacts(det, ic, tolerance_s=0.1)
    assert m.n_false_positive == 0 and m.n_false_negative == 0


@given(step_s=st.floats(0.7, 0.88), bump=st.floats(0.1, 0.25))
@SETTINGS
def test_slow_walking_with_a_mid_stance_bump_is_not_double_counted(step_s, bump, rng, make_lower_back, make_walk):
    # Slow gait (68-86 steps/min) shows a second, smaller rise in mid-stance; it is not a step.
    # (Limit, documented in docs/gait.md and pinned below: near 60 steps/min a sharp rise of 20 %
    # of the heel strike's 0.4 step after it makes the second harmonic the dominant frequency, and
    # it reads as fast walking with alternating strong and weak steps.)
    ic = make_walk(start_s=2.0, n_steps=20, step_s=step_s, rng=rng)
    acc = make_lower_back(ic, duration_s=ic[-1] + 3.0, sampling_rate_hz=100, rng=rng)
    acc += make_lower_back(ic + 0.4 * step_s, duration_s=ic[-1] + 3.0, sampling_rate_hz=100, rng=rng,
                           amplitude_m_s2=3.0 * bump, noise_m_s2=0.0) - np.array([[9.81], [0], [0]])
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=100).ic_times_s_
    m = match_contacts(det, ic, tolerance_s=0.15)
    assert m.n_false_positive <= 1 and m.n_false_negative <= 1, (det, ic)


def test_mid_stance_bump_near_60_steps_per_min_is_counted(rng, make_lower_back, make_walk):
    # The documented limit, pinned: if this starts passing, update docs/gait.md ("Known limits").
    ic = make_walk(start_s=2.0, n_steps=20, step_s=1.0, rng=rng)
    acc = make_lower_back(ic, duration_s=ic[-1] + 3.0, sampling_rate_hz=100, rng=rng)
    acc += make_lower_back(ic + 0.4, duration_s=ic[-1] + 3.0, sampling_rate_hz=100, rng=rng,
                           amplitude_m_s2=3.0 * 0.25, noise_m_s2=0.0) - np.array([[9.81], [0], [0]])
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=100).ic_times_s_
    assert match_contacts(det, ic, tolerance_s=0.15).n_false_positive >= 15


def _short_bouts(step_s: float, pause_s: float, *, n_bouts: int = 4, n_steps: int = 5) -> tuple[np.ndarray, list]:
    starts = 2.0 + np.arange(n_bouts) * ((n_steps - 1) * step_s + pause_s)
    bouts = [s + step_s * np.arange(n_steps) for s in starts]
    return np.concatenate(bouts), bouts


@given(
    rate_hz=st.sampled_from([30.0, 50.0, 100.0, 200.0]),
    step_s=st.floats(0.5, 1.0),
    pause_steps=st.floats(3.0, 5.0),
)
@SETTINGS
def test_short_slow_bouts_between_standing_spells(rate_hz, step_s, pause_steps, rng, make_lower_back):
    # Slow walkers in short bouts (4-6 steps) with standing in between: the filter's response to a
    # bout's last and next first step must not show up as a step in the pause, and no step is lost.
    ic, bouts = _short_bouts(step_s, pause_steps * step_s)
    acc = make_lower_back(ic, duration_s=ic[-1] + 3.0, sampling_rate_hz=rate_hz, rng=rng)
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate_hz).ic_times_s_
    m = match_contacts(det, ic, tolerance_s=0.1)
    assert m.n_false_positive == 0 and m.n_false_negative == 0, (det, ic)


@given(
    rate_hz=st.sampled_from([30.0, 50.0, 100.0, 200.0]),
    step_s=st.floats(0.45, 1.0),
    weak=st.floats(0.4, 1.0),
)
@SETTINGS
def test_asymmetric_gait_keeps_the_weak_steps(rate_hz, step_s, weak, rng, make_lower_back, make_walk):
    # One leg loading less (hemiparesis, MS): every other step is weaker. Counting only the strong
    # ones would halve the cadence and the RAS tempo with it.
    ic = make_walk(start_s=2.0, n_steps=30, step_s=step_s, rng=rng, jitter=0.03)
    duration_s = ic[-1] + 3.0
    acc = make_lower_back(ic[::2], duration_s=duration_s, sampling_rate_hz=rate_hz, rng=rng)
    weak_steps = make_lower_back(ic[1::2], duration_s=duration_s, sampling_rate_hz=rate_hz, rng=rng, noise_m_s2=0.0)
    acc[0] += weak * (weak_steps[0] - 9.81)
    det = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate_hz).ic_times_s_
    m = match_contacts(det, ic, tolerance_s=0.1)
    assert m.n_false_positive == 0 and m.n_false_negative <= 1, (det, ic)


def test_quiet_peaks_known_answer():
    from cadenza.gait.steps import quiet_peaks

    activity = np.array([0.8, 0.9, 0.7, 0.05, 0.8, 0.85, 0.3, 0.9])
    np.testing.assert_array_equal(quiet_peaks(activity, min_ratio=0.2), [0, 0, 0, 1, 0, 0, 0, 0])
    assert quiet_peaks(np.array([0.01, 1.0]), min_ratio=0.2).tolist() == [False, False]  # too few to judge
