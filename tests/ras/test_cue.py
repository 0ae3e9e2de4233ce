"""Cue tracks: click mode exact at every rate, loudness caps, music mode verified by the beat tracker."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.audio import load_audio
from cadenza.ras.cue import parse_ramp, render_click_cue, render_music_cue
from cadenza.render.clicks import find_cue_onsets_idx
from cadenza.render.loudness import measure_loudness_lufs


@pytest.mark.parametrize("rate_hz", [22_050, 44_100, 48_000])
@pytest.mark.parametrize("tempo", [{"tempo_bpm": 104.0}, {"ramp_bpm": (96.0, 104.0)}])
def test_click_cue_is_exact_to_the_sample(rate_hz, tempo):
    cue = render_click_cue(duration_s=180, sampling_rate_hz=rate_hz, accent_every=4, **tempo)
    assert cue.verification.max_error_samples == 0 and cue.verification.n_beats_checked == cue.beat_times_s.size
    found = find_cue_onsets_idx(cue.samples, sampling_rate_hz=rate_hz)
    np.testing.assert_array_equal(found, np.rint(cue.beat_times_s * rate_hz).astype(np.int64))
    assert cue.samples.size == 180 * rate_hz


def test_click_cue_loudness_hits_target_and_respects_hearing_loss_cap():
    cue = render_click_cue(duration_s=60, sampling_rate_hz=44_100, tempo_bpm=100, target_lufs=-33)
    assert not cue.peak_limited
    assert measure_loudness_lufs(cue.samples, sampling_rate_hz=44_100) == pytest.approx(-33, abs=0.5)
    # Sparse clicks cannot reach -14 LUFS under a -1 dBFS peak: the peak wins, and the cue says so.
    loud = render_click_cue(duration_s=60, sampling_rate_hz=44_100, tempo_bpm=100, target_lufs=-14)
    assert loud.peak_limited
    assert np.max(np.abs(loud.samples)) == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    assert loud.loudness_lufs == pytest.approx(measure_loudness_lufs(loud.samples, sampling_rate_hz=44_100), abs=0.5)
    capped = render_click_cue(duration_s=60, sampling_rate_hz=44_100, tempo_bpm=100, target_lufs=-14,
                              safety_flags=["hearing_loss"])
    assert measure_loudness_lufs(capped.samples, sampling_rate_hz=44_100) <= -19 + 0.5
    assert any("Hearing loss" in w for w in capped.warnings)
    assert np.max(np.abs(capped.samples)) <= 10 ** (-1 / 20) + 1e-6


def test_plan_knots_render_stepped_tempo():
    cue = render_click_cue(duration_s=90, sampling_rate_hz=22_050, knot_times_s=np.array([0, 45, 45, 90.0]),
                           knot_tempi_bpm=np.array([100, 100, 105, 105.0]))
    ibi = np.diff(cue.beat_times_s)
    np.testing.assert_allclose(ibi[cue.beat_times_s[1:] < 44], 0.6, atol=1e-9)
    np.testing.assert_allclose(ibi[cue.beat_times_s[:-1] > 46], 60 / 105, atol=1e-9)


def test_music_cue_verified_by_re_detected_beats(shared_data):
    audio = load_audio(shared_data("music") / "audio" / "dev030.flac", mono=True)  # band, rubato
    cue = render_music_cue(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, tempo_bpm=100.0,
                           duration_s=40.0, click_overlay=True, verify_s=40.0)
    v = cue.verification
    assert v.method == "beat tracker"
    assert v.matched_fraction > 0.8
    assert v.median_error_ms <= 20
    assert cue.samples.shape[-1] == 40 * audio.sampling_rate_hz
    np.testing.assert_allclose(np.diff(cue.beat_times_s), 0.6, rtol=1e-9)


def test_parse_ramp_and_bad_input():
    assert parse_ramp("96:104") == (96.0, 104.0)
    with pytest.raises(ParameterError, match="ramp"):
        parse_ramp("96-104")
    with pytest.raises(ParameterError, match="duration_s"):
        render_click_cue(duration_s=0, tempo_bpm=100)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        render_click_cue(duration_s=10, tempo_bpm=100, sampling_rate_hz=44)
    with pytest.raises(ParameterError, match="tempo_bpm or ramp_bpm"):
        render_click_cue(duration_s=10)
    with pytest.raises(ParameterError, match="unknown safety flag"):
        render_click_cue(duration_s=10, tempo_bpm=100, safety_flags=["vertigo"])


def test_ear_level_cap_and_dose_follow_the_safety_policy():
    from cadenza.safety.calibration import Calibration
    from cadenza.safety.dose import estimate_listening_level_dba
    from cadenza.safety.flags import audio_policy

    default_cap = audio_policy([]).max_level_dba
    hearing_cap = audio_policy(["hearing_loss"]).max_level_dba
    assert hearing_cap < default_cap
    quiet_device = Calibration.from_measurement(60.0)
    quiet = render_click_cue(duration_s=60, sampling_rate_hz=22_050, tempo_bpm=100, calibration=quiet_device)
    assert quiet.level_dba < hearing_cap and not quiet.level_capped
    loud_device = Calibration.from_measurement(110.0)  # the calibration tone reads 110 dB(A) at the ear
    plain = render_click_cue(duration_s=60, sampling_rate_hz=22_050, tempo_bpm=100, calibration=loud_device)
    capped = render_click_cue(duration_s=60, sampling_rate_hz=22_050, tempo_bpm=100, calibration=loud_device,
                              safety_flags=["hearing_loss"])
    assert plain.level_capped and plain.level_dba == pytest.approx(default_cap, abs=0.1)
    assert capped.level_capped and capped.level_dba == pytest.approx(hearing_cap, abs=0.1)
    measured = estimate_listening_level_dba(capped.samples, loud_device, sampling_rate_hz=22_050)
    assert measured == pytest.approx(hearing_cap, abs=0.5)
    assert 0 < quiet.dose_percent < capped.dose_percent < plain.dose_percent
    # The cap turns the whole cue down; beat placement is untouched.
    np.testing.assert_array_equal(find_cue_onsets_idx(capped.samples, sampling_rate_hz=22_050),
                                  np.rint(capped.beat_times_s * 22_050).astype(np.int64))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(start=st.floats(20, 300, allow_nan=False), end=st.floats(20, 300, allow_nan=False))
def test_parse_ramp_round_trip(start, end):
    assert parse_ramp(f"{start!r}:{end!r}") == (start, end)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=20))
def test_parse_ramp_rejects_junk_with_a_named_error(text):
    try:
        parse_ramp(text)
    except ParameterError as exc:
        assert "ramp" in str(exc)
