"""cadenza.singing.pyin gives librosa.pyin's contour: the same decoded states, bit for bit.

Compared with librosa itself (its dense Viterbi) on hypothesis-built signals, on the real sung
recording in ../shared/data/singing, on a rendered MIT attempt and on the instrumental excerpt the
clinic day uploaded as an attempt, with the settings of both callers (MIT response, singing pitch).
The whole 33-s song, in both settings, is compared by ``bench/mit_attempt.py --check``.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.singing.pyin import (BETA_CDF_AT_THRESHOLDS, BETA_PARAMETERS, N_THRESHOLDS, _next_fast_len,
                                  _pyin_transition, _triangle_window, track_pyin, viterbi_banded)

# (fmin_hz, fmax_hz, frame_s, resolution): the MIT response contour and the singing pitch tracker.
MIT = (60.0, 700.0, 0.046, 0.1)
SINGING = (65.0, 1100.0, 0.032, 0.2)


def _frame_hop(setting, sampling_rate_hz):
    fmin, _, frame_s, _ = setting
    if setting is MIT:  # as cadenza.mit.response: a power of two
        frame = int(2 ** np.round(np.log2(frame_s * sampling_rate_hz)))
    else:  # as cadenza.singing.pitch: two periods of the lowest pitch
        frame = max(int(round(frame_s * sampling_rate_hz)), int(np.ceil(2.05 * sampling_rate_hz / fmin)))
    return frame, max(1, int(round(0.0058 * sampling_rate_hz)))


def assert_same_as_librosa(y, sampling_rate_hz, setting):
    fmin, fmax, _, resolution = setting
    frame, hop = _frame_hop(setting, sampling_rate_hz)
    f0, voiced, probability = librosa.pyin(y, fmin=fmin, fmax=fmax, sr=sampling_rate_hz, frame_length=frame,
                                           hop_length=hop, resolution=resolution)
    track = track_pyin(y, fmin_hz=fmin, fmax_hz=fmax, sampling_rate_hz=sampling_rate_hz, frame_length=frame,
                       hop_length=hop, resolution_semitones=resolution)
    np.testing.assert_array_equal(track.voiced, voiced)
    np.testing.assert_array_equal(track.f0_hz, f0)  # NaN where unvoiced in both
    np.testing.assert_array_equal(track.voiced_probability, probability)
    return track


@pytest.mark.parametrize("n_bins, width", [(426, 21), (226, 16), (12, 5), (7, 7)])
def test_transition_matrix_is_librosas_to_the_bit(n_bins, width):
    local = librosa.sequence.transition_local(n_bins, width, window="triangle", wrap=False)
    expected = np.kron(librosa.sequence.transition_loop(2, 1 - 0.01), local)
    np.testing.assert_array_equal(_pyin_transition(n_bins, width), expected)


@pytest.mark.parametrize("width", [1, 2, 5, 16, 21])
def test_triangle_window_is_scipys(width):
    from scipy.signal import get_window

    np.testing.assert_array_equal(_triangle_window(width), get_window("triangle", width, fftbins=False))


def test_threshold_prior_and_fft_length_are_scipys():
    from scipy.fft import next_fast_len
    from scipy.stats import beta

    expected = beta.cdf(np.linspace(0, 1, N_THRESHOLDS + 1), *BETA_PARAMETERS)
    np.testing.assert_array_equal(np.array(BETA_CDF_AT_THRESHOLDS), expected)
    assert [_next_fast_len(n) for n in range(1, 3000)] == [next_fast_len(n, real=True) for n in range(1, 3000)]


def _banded_transition(n_states, half_width, weights):
    t = np.zeros((n_states, n_states))
    for i in range(n_states):
        lo, hi = max(0, i - half_width), min(n_states, i + half_width + 1)
        t[i, lo:hi] = weights[lo - i + half_width: hi - i + half_width]
    return t / t.sum(axis=1, keepdims=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.integers(0, 3), st.integers(1, 25), st.integers(0, 2**32 - 1),
       st.sampled_from([0.0, 0.3, 0.7]))
def test_banded_viterbi_matches_librosas_dense_one(n_states, half_width, n_frames, seed, zero_share):
    """Random band-limited chains, with exact zeros in the observations (the log(tiny) regime where
    the dense recursion jumps out of the band) and ties (repeated values)."""
    rng = np.random.default_rng(seed)
    transition = _banded_transition(n_states, half_width, rng.choice([0.25, 0.5, 1.0], 2 * half_width + 1))
    prob = rng.choice([0.1, 0.2, 0.5, 1.0], size=(n_states, n_frames))
    prob[rng.random(prob.shape) < zero_share] = 0.0
    np.testing.assert_array_equal(viterbi_banded(prob, transition), librosa.sequence.viterbi(prob, transition))


def test_out_of_band_jump_is_taken_when_the_dense_viterbi_takes_it():
    # Only self-transitions allowed, and the observation moves from state 0 to state 3: both
    # decoders pay log(tiny) once, for the jump, rather than for every later frame.
    prob = np.array([[1.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 1.0, 1.0, 1.0]])
    expected = librosa.sequence.viterbi(prob, np.eye(4))
    assert expected.tolist() == [0, 3, 3, 3]
    assert viterbi_banded(prob, np.eye(4)).tolist() == expected.tolist()


segments = st.lists(
    st.tuples(st.sampled_from(["silence", "noise", "tone", "glide"]), st.floats(0.03, 0.2),
              st.floats(70.0, 650.0), st.floats(0.01, 0.8)),
    min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segments, st.sampled_from([8000, 16_000, 22_050]), st.sampled_from(["mit", "singing"]),
       st.integers(0, 2**32 - 1))
def test_same_contour_as_librosa_on_built_signals(parts, sampling_rate_hz, which, seed):
    """Voiced, unvoiced, noisy and gliding stretches, at the rates uploads come in."""
    rng = np.random.default_rng(seed)
    pieces = []
    for kind, duration_s, f0_hz, amplitude in parts:
        t = np.arange(int(duration_s * sampling_rate_hz)) / sampling_rate_hz
        if kind == "silence":
            pieces.append(np.zeros(t.size))
        elif kind == "noise":
            pieces.append(amplitude * rng.standard_normal(t.size))
        else:
            f_hz = f0_hz * (1 + (0.3 * t / duration_s if kind == "glide" else 0.0))
            phase = 2 * np.pi * np.cumsum(f_hz) / sampling_rate_hz
            pieces.append(amplitude * (np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)))
    y = np.concatenate(pieces) + 1e-3 * rng.standard_normal(sum(p.size for p in pieces))
    assert_same_as_librosa(y, float(sampling_rate_hz), MIT if which == "mit" else SINGING)


@pytest.fixture(scope="module")
def vocadito(shared_data):
    from cadenza.io.annotated_datasets import load_vocadito

    (track,) = load_vocadito(shared_data("singing", "vocadito"))
    return track


@pytest.mark.parametrize("setting", [MIT, SINGING], ids=["mit", "singing"])
def test_same_contour_as_librosa_on_real_singing(vocadito, setting):
    sr = vocadito.sampling_rate_hz
    y = np.asarray(vocadito.samples[int(1.0 * sr):int(3.0 * sr)], dtype=float)
    track = assert_same_as_librosa(y, float(sr), setting)
    assert 0.3 < track.voiced.mean() < 1.0  # a sung stretch, with breaths


def test_same_contour_as_librosa_on_an_instrumental_upload(shared_data):
    from cadenza.io.audio import load_audio

    audio = load_audio(shared_data("music", "audio") / "dev010.flac", mono=True)
    sr = audio.sampling_rate_hz
    assert_same_as_librosa(np.asarray(audio.samples[:int(1.5 * sr)], dtype=float), float(sr), MIT)


def test_same_contour_as_librosa_on_a_rendered_mit_attempt():
    from cadenza.io.speech import espeak_available, prepare_cue_material

    if not espeak_available():
        pytest.skip("espeak-ng is not installed (scripts/setup installs it)")
    from cadenza.mit.cues import render_model
    from cadenza.mit.levels import Model

    material = prepare_cue_material("Hello", voice="female", question=None)
    y, _, _ = render_model(material, Model.INTONED, level=1)
    track = assert_same_as_librosa(np.asarray(y, dtype=float), float(material.sampling_rate_hz), MIT)
    assert track.voiced.any()


def test_bad_input_is_named():
    ok = dict(fmin_hz=60.0, fmax_hz=700.0, sampling_rate_hz=22_050, frame_length=1024, hop_length=128)
    with pytest.raises(ParameterError, match="y must be finite"):
        track_pyin(np.array([0.0, np.nan] * 1000), **ok)
    with pytest.raises(ParameterError, match="y must be a 1-D float"):
        track_pyin(np.zeros((2, 2000)), **ok)
    with pytest.raises(ParameterError, match="fmax_hz"):
        track_pyin(np.zeros(2000), **{**ok, "fmax_hz": 20_000.0})
    with pytest.raises(ParameterError, match="hop_length"):
        track_pyin(np.zeros(2000), **{**ok, "hop_length": 0})
    with pytest.raises(ParameterError, match="transition"):
        viterbi_banded(np.ones((2, 3)) / 2, np.ones((3, 3)) / 3)


def test_analysing_an_attempt_imports_neither_librosa_nor_scipy():
    """What the limited child process needs (start-up in milliseconds, not seconds): the MIT contour and
    the whole attempt analysis run with numpy alone."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from cadenza.mit.melody import compose_melody\n"
            "from cadenza.mit.response import analyse_response\n"
            "from cadenza.mit.syllables import Lexicon, syllabify_phrase\n"
            "lex = Lexicon({'i': (('AY1',),), 'want': (('W', 'AA1', 'N', 'T'),)})\n"
            "melody = compose_melody(syllabify_phrase('I want', lexicon=lex), level=1)\n"
            "t = np.arange(44_100) / 22_050\n"
            "analyse_response(0.3 * np.sin(2 * np.pi * 150 * t), sampling_rate_hz=22_050, melody=melody)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'librosa', 'scipy', 'numba', 'sklearn'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
