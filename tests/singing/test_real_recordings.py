"""Regression against the hand-made F0 of the real solo singing in ../shared/data/singing (vocadito 1).

The fast test scores the first 8 s; the whole track is in the slow test (and in bench/singing.py,
which reports the development and held-out parts apart).
"""

import mir_eval
import numpy as np
import pytest

from cadenza.singing import segment_notes, track_pitch


@pytest.fixture(scope="module")
def vocadito(shared_data):
    from cadenza.io.annotated_datasets import load_vocadito

    (track,) = load_vocadito(shared_data("singing", "vocadito"))
    return track


def _scores(reference, track, end_s):
    keep = reference.f0_times_s < end_s
    ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(
        reference.f0_times_s[keep], reference.f0_hz[keep], track.times_s, np.nan_to_num(track.f0_hz))
    both = (ref_v > 0) & (est_c > 0)
    diff = est_c[both] - ref_c[both]
    octave = np.sum((np.abs(diff) > 50) & (np.abs((diff + 600) % 1200 - 600) <= 50)) / np.sum(ref_v > 0)
    return (mir_eval.melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c), octave,
            mir_eval.melody.voicing_measures(ref_v, est_v)[0])


def test_the_first_phrases(vocadito):
    end_s = 8.0
    track = track_pitch(vocadito.samples[: int(end_s * vocadito.sampling_rate_hz)],
                        sampling_rate_hz=vocadito.sampling_rate_hz)
    raw_pitch, octave, recall = _scores(vocadito, track, end_s)
    assert raw_pitch >= 0.95 and octave <= 0.01 and recall >= 0.95


@pytest.mark.slow
def test_the_whole_track_and_its_notes(vocadito):
    track = track_pitch(vocadito.samples, sampling_rate_hz=vocadito.sampling_rate_hz)
    raw_pitch, octave, recall = _scores(vocadito, track, 1e9)
    assert raw_pitch >= 0.95 and octave <= 0.01 and recall >= 0.95
    notes = segment_notes(track.times_s, track.f0_hz)
    reference = vocadito.notes["A1"]
    intervals = np.stack([reference[:, 0], reference[:, 0] + reference[:, 2]], axis=1)
    found = np.array([[n.onset_s, n.offset_s] for n in notes])
    f_measure = mir_eval.transcription.precision_recall_f1_overlap(
        intervals, reference[:, 1], found, np.array([n.pitch_hz for n in notes]), onset_tolerance=0.1,
        offset_ratio=None)[2]
    assert f_measure >= 0.75
