import numpy as np
import pytest

from cadenza.singing import measure_voice

HOP_S = 0.0058


def test_a_range_exercise():
    """A slide from G3 to D5 and held notes at the ends: the held notes are the range."""
    times = HOP_S * np.arange(int(6 / HOP_S))
    midi = np.interp(times, [0, 1, 4, 6], [55, 55, 74, 74])
    midi[(times > 1.0) & (times < 4.0)] += 0.0
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    voice = measure_voice(times, f0)
    assert voice.lowest_midi == pytest.approx(55, abs=0.05)
    assert voice.highest_midi == pytest.approx(74, abs=0.05)
    assert voice.range_semitones == pytest.approx(19, abs=0.1)
    assert voice.comfortable_low_midi < voice.comfortable_high_midi
    assert voice.max_phonation_s == pytest.approx(6.0, abs=2 * HOP_S)


def test_phonation_bridges_short_dropouts_only():
    times = HOP_S * np.arange(int(12 / HOP_S))
    f0 = np.full(times.size, 180.0)
    f0[(times > 3.0) & (times < 3.05)] = np.nan  # a 50-ms dropout: bridged
    f0[(times > 8.0) & (times < 8.5)] = np.nan  # a breath: ends the phonation
    voice = measure_voice(times, f0)
    assert voice.max_phonation_s == pytest.approx(8.0, abs=3 * HOP_S)
    assert voice.voiced_s == pytest.approx(12 - 0.55, abs=3 * HOP_S)


def test_nothing_sung():
    voice = measure_voice(HOP_S * np.arange(100), np.full(100, np.nan))
    assert voice.max_phonation_s == 0.0 and np.isnan(voice.lowest_midi)
    d = voice.to_dict()
    assert d["lowest_hz"] is None and d["max_phonation_s"] == 0.0
