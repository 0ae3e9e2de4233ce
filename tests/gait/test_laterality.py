import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait.laterality import label_sides
from cadenza.io.gait_datasets import load_mobgap_lab

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _walk(rng, *, first="left", n=16, step_s=0.55, rate=100.0):
    ic = 1.0 + step_s * np.arange(n)
    t = np.arange(int((ic[-1] + 1.5) * rate)) / rate
    # Pelvis yaw swings once per stride: negative at left contacts, positive at right ones.
    phase = 0.0 if first == "right" else np.pi
    yaw = 40 * np.cos(np.pi * (t - ic[0]) / step_s + phase)
    acc = np.zeros((3, t.size))
    acc[0] = 9.81
    gyr = np.zeros((3, t.size))
    gyr[0] = yaw
    return ic, acc + rng.normal(0, 0.05, acc.shape), gyr + rng.normal(0, 2, gyr.shape)


@pytest.mark.parametrize("first", ["left", "right"])
def test_known_sides(rng, first):
    ic, acc, gyr = _walk(rng, first=first)
    labels = label_sides(ic, acc_m_s2=acc, gyr_deg_s=gyr, sampling_rate_hz=100)
    other = "right" if first == "left" else "left"
    assert labels.tolist() == [first, other] * 8


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


@given(angle=st.floats(-np.pi, np.pi), tilt=st.floats(-0.6, 0.6))
@SETTINGS
def test_mounting_orientation_does_not_matter(rng, angle, tilt):
    ic, acc, gyr = _walk(rng)
    expected = label_sides(ic, acc_m_s2=acc, gyr_deg_s=gyr, sampling_rate_hz=100)
    rot = _rotation(np.array([0.0, 1.0, 0.0]), tilt) @ _rotation(np.array([1.0, 0.0, 0.0]), angle)
    got = label_sides(ic, acc_m_s2=rot @ acc, gyr_deg_s=rot @ gyr, sampling_rate_hz=100)
    assert got.tolist() == expected.tolist()


def test_empty_and_bad_input(rng):
    _, acc, gyr = _walk(rng)
    assert label_sides(np.array([]), acc_m_s2=acc, gyr_deg_s=gyr, sampling_rate_hz=100).size == 0
    with pytest.raises(ParameterError, match="gyr_deg_s"):
        label_sides(np.array([1.0]), acc_m_s2=acc, gyr_deg_s=gyr[:, :10], sampling_rate_hz=100)


def test_against_insole_labels(shared_data):
    agree = total = 0
    for rec in load_mobgap_lab(shared_data("gait", "mobgap_lab")):
        for bout in rec.reference_bouts:
            labels = label_sides(bout.ic_times_s, acc_m_s2=rec.acc_m_s2, gyr_deg_s=rec.gyr_deg_s, sampling_rate_hz=100)
            agree += int((labels == np.array(bout.ic_sides)).sum())
            total += labels.size
    assert total == 126 and agree / total > 0.83
