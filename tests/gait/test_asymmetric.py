"""Asymmetric gait: contacts that follow alternating short and long steps, and step-time asymmetry
with its confidence, on generated walks and on real asymmetric walking (gaitpdb insole contacts)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait import analyze_gait, step_asymmetry_with_confidence
from cadenza.gait.scoring import score_stretch, timed_stretches


def _asymmetry(steps_a, steps_b):
    return abs(steps_a.mean() - steps_b.mean()) / ((steps_a.mean() + steps_b.mean()) / 2)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # asymmetric walkers are slow: the MS walker of issue 21 takes 1.11 s. Above 1.25 s with equal loading the
    # synthetic trunk signal draws a second bump inside each long step (test_known_limit_very_long_steps)
    stride_s=st.floats(1.0, 1.25),
    short_fraction=st.floats(0.3, 0.5),
    weak_side=st.floats(0.4, 1.0),
    sampling_rate_hz=st.sampled_from([100.0, 50.0]),
    seed=st.integers(0, 2**16),
)
def test_contacts_follow_alternating_steps(
    make_lower_back, stride_s, short_fraction, weak_side, sampling_rate_hz, seed
):
    rng = np.random.default_rng(seed)
    steps = np.tile([short_fraction * stride_s, (1 - short_fraction) * stride_s], 8)
    steps *= 1 + 0.02 * rng.standard_normal(steps.size)
    ic = 2.0 + np.concatenate([[0.0], np.cumsum(steps)])
    # The short steps land on the weaker side, which loads the trunk less (down to 40 %).
    amplitude = np.where(np.arange(ic.size) % 2 == 1, 3.0 * weak_side, 3.0)
    acc = make_lower_back(ic, duration_s=ic[-1] + 2, sampling_rate_hz=sampling_rate_hz, rng=rng,
                          amplitude_m_s2=amplitude)
    result = analyze_gait(acc, sampling_rate_hz=sampling_rate_hz)
    got, want, match = score_stretch(result.ic_times_s, ic)
    assert match.f1 >= 0.95
    assert abs(got - want) / want <= 0.02
    (bout,) = result.bouts
    truth = _asymmetry(steps[0::2], steps[1::2])
    assert bout.step_asymmetry.asymmetry == pytest.approx(truth, abs=0.03)
    if truth > 0.1:
        assert bout.step_asymmetry.confident and bout.step_asymmetry.groups == ("odd steps", "even steps")


@pytest.mark.xfail(reason="known limit: 0.42 s / 0.98 s steps with equal loading; the synthetic signal has a second "
                   "bump inside the last long step and one extra contact is found there (F1 0.97, cadence +6 %)",
                   strict=False)
def test_known_limit_very_long_steps(make_lower_back):
    rng = np.random.default_rng(9)
    steps = np.tile([0.3 * 1.4, 0.7 * 1.4], 8) * (1 + 0.02 * rng.standard_normal(16))
    ic = 2.0 + np.concatenate([[0.0], np.cumsum(steps)])
    acc = make_lower_back(ic, duration_s=ic[-1] + 2, sampling_rate_hz=100.0, rng=rng, amplitude_m_s2=3.0)
    got, want, match = score_stretch(analyze_gait(acc, sampling_rate_hz=100.0).ic_times_s, ic)
    assert match.f1 == 1.0 and abs(got - want) / want <= 0.02


def test_confidence_separates_asymmetry_from_noise(rng):
    even = np.cumsum(np.r_[0.0, 0.55 * (1 + 0.03 * rng.standard_normal(30))])
    noisy = step_asymmetry_with_confidence(even)
    assert noisy.ci_low < 0 < noisy.ci_high and not noisy.confident
    limp = np.cumsum(np.r_[0.0, np.tile([0.45, 0.65], 15) * (1 + 0.03 * rng.standard_normal(30))])
    sides = np.array(["left", "right"] * 15 + ["left"])
    a = step_asymmetry_with_confidence(limp, sides)
    # The first step ends on "right" (0.45 s): right steps are the short ones, so left - right > 0.
    assert a.confident and a.groups == ("left", "right") and 0 < a.ci_low < a.ci_high
    assert np.isnan(step_asymmetry_with_confidence(limp[:3]).asymmetry)
    with pytest.raises(ParameterError, match="confidence"):
        step_asymmetry_with_confidence(limp, confidence=1.5)
    with pytest.raises(ParameterError, match="sides"):
        step_asymmetry_with_confidence(limp, sides[:4])


# GaPt07 (H&Y 3, 83 steps/min) gets 4 extra contacts inside its slowest steps, so every-other-step
# asymmetry is not checked there: an extra contact swaps the two groups.
@pytest.mark.parametrize(("record", "check_asymmetry"), [("JuPt06_01.txt", True), ("GaPt07_01.txt", False)])
def test_real_asymmetric_walkers_timing_rendered_at_the_trunk(shared_data, make_lower_back, record, check_asymmetry):
    """Real step timing of two Parkinson's walkers with asymmetric steps (insole heel strikes, 12-17 %
    left/right step-time asymmetry), rendered as lower-back acceleration at 100 and 50 Hz."""
    from cadenza.gait.insole import analyze_insoles
    from cadenza.io.insole import load_insole

    rec = load_insole(shared_data("gait", "gaitpdb") / record)
    g = analyze_insoles(rec.left_force_n, rec.right_force_n, sampling_rate_hz=rec.sampling_rate_hz)
    times = np.r_[g.left.heel_strike_times_s, g.right.heel_strike_times_s]
    sides = np.array(["left"] * g.left.heel_strike_times_s.size + ["right"] * g.right.heel_strike_times_s.size)
    order = np.argsort(times)
    times, sides = times[order], sides[order]
    keep = times < 60.0
    times, sides = times[keep], sides[keep]
    stretches = timed_stretches(times, sides)
    assert stretches
    longest = max(stretches, key=len)
    measured = step_asymmetry_with_confidence(longest, sides[np.isin(times, longest)])
    assert measured.confident and measured.asymmetry > 0.1
    for rate in (100.0, 50.0):
        acc = make_lower_back(times, duration_s=times[-1] + 2, sampling_rate_hz=rate, rng=np.random.default_rng(3))
        det = analyze_gait(acc, sampling_rate_hz=rate).ic_times_s
        scores = [score_stretch(det, s) for s in stretches]
        errors = [abs(got - want) / want for got, want, _ in scores]
        tp = sum(m.n_true_positive for _, _, m in scores)
        n = sum(2 * m.n_true_positive + m.n_false_positive + m.n_false_negative for _, _, m in scores)
        assert 2 * tp / n >= 0.95
        assert np.mean(errors) <= 0.025 and np.median(errors) <= 0.02
        if not check_asymmetry:
            continue
        # Every other detected step: the asymmetry shows without knowing which foot is which.
        inside = det[(det >= longest[0] - 0.1) & (det <= longest[-1] + 0.1)]
        assert inside.size == longest.size
        from_trunk = step_asymmetry_with_confidence(inside)
        assert from_trunk.confident and from_trunk.asymmetry == pytest.approx(measured.asymmetry, abs=0.03)
