"""MIT practice at home (issue 17): a phrase of the client's bank, intoned within the cap; the person's try is
scored on the server, and anything that is not an attempt (instrumental music) is never scored."""

from __future__ import annotations

import base64
import datetime as dt
import io
import uuid

import numpy as np
import pytest
import soundfile as sf

from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.speech import espeak_available
from cadenza.tools.home import actions, records

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")


@pytest.fixture
def practice(db_session, therapist, client_record):
    from cadenza.tools.mit import records as mit_records

    phrase = mit_records.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I want water")
    task = actions.assign_task(db_session, actor=therapist, client=client_record, kind="mit_practice",
                               title="Say: I want water", days_per_week=5, minutes=10, ratings=["mood"],
                               phrase_id=phrase.id, mit_level=1)
    device, _ = records.redeem_invite(db_session, token=actions.invite(db_session, actor=therapist,
                                                                       client=client_record).token, pin="2580")
    return task, device, phrase


def _wav_b64(samples: np.ndarray, rate: int) -> str:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def _payload(task, **extra):
    return {"client_uuid": str(uuid.uuid4()), "task_id": task.id, "completed_at": dt.datetime.now(dt.UTC).isoformat(),
            "played_s": 6, "max_gain": 1.0, "before": {"mood": 5}, "after": {"mood": 6}, **extra}


def test_the_model_is_the_phrase_intoned_within_the_cap(db_session, client_record, practice):
    from cadenza.render.levels import measure_levels

    task, device, _ = practice
    assert task.music["text"] == "I want water" and task.music["level"] == 1
    samples, rate = sf.read(io.BytesIO(actions.mit_model_wav(db_session, device, task)))
    assert samples.shape[1] == 2 and samples.shape[0] / rate > 1.5  # voice and taps
    policy, calibration = actions.listener(db_session, client_record)
    level = measure_levels(samples.T, sampling_rate_hz=rate, level_offset_db=calibration.level_offset_db)
    assert level.leq_dba <= policy.max_level_dba + 0.01


def test_the_model_is_rendered_once_and_then_read_from_the_cache(db_session, practice, tmp_path, monkeypatch):
    task, device, _ = practice
    first = actions.mit_model_wav(db_session, device, task, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again although the cache holds it")

    monkeypatch.setattr(actions, "mit_model", no_render)
    assert actions.mit_model_wav(db_session, device, task, cache_dir=tmp_path) == first
    # Another phrase (or cap, or calibration) is another key: rendered, not read.
    task.music = {**task.music, "text": "Good morning"}
    with pytest.raises(AssertionError, match="rendered again"):
        actions.mit_model_wav(db_session, device, task, cache_dir=tmp_path)
    # A cut-short entry counts as missing.
    entry = next(tmp_path.glob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:100])
    task.music = {**task.music, "text": "I want water"}
    with pytest.raises(AssertionError, match="rendered again"):
        actions.mit_model_wav(db_session, device, task, cache_dir=tmp_path)


def test_a_try_is_scored_once_and_music_is_never_scored(db_session, practice, shared_data):
    task, device, _ = practice
    (model, rate), _ = actions.mit_model(task.music["text"], level=1, policy=actions.listener(
        db_session, records.client_of_device(db_session, device))[0], calibration=actions.listener(
        db_session, records.client_of_device(db_session, device))[1])
    voice = np.concatenate([np.zeros(rate // 2), model[0]])  # the intoned phrase itself, as a perfect try
    payload = _payload(task, attempt_wav_b64=_wav_b64(voice, rate))
    row, new = actions.record_completion(db_session, device, payload)
    assert new and row.scores["attempt_found"] is True and row.scores["timing_match_pct"] >= 75
    again, repeated = actions.record_completion(db_session, device, payload)
    assert not repeated and again.scores == row.scores

    music, music_rate = sf.read(shared_data("music", "audio", "dev001.flac"))
    clip = music[: 6 * music_rate]
    other, _ = actions.record_completion(db_session, device, _payload(task, attempt_wav_b64=_wav_b64(clip, music_rate)))
    assert other.scores["attempt_found"] is False and "timing_match_pct" not in other.scores and other.scores["problem"]


def test_bad_practice_input_is_named(db_session, therapist, client_record, practice):
    task, device, phrase = practice
    with pytest.raises(ParameterError, match="attempt_wav_b64"):
        actions.record_completion(db_session, device, _payload(task, attempt_wav_b64="not base64!"))
    with pytest.raises(ParameterError, match="mit_level"):
        actions.assign_task(db_session, actor=therapist, client=client_record, kind="mit_practice", title="x",
                            days_per_week=3, minutes=5, ratings=[], phrase_id=phrase.id, mit_level=4)
    with pytest.raises(NotFoundError, match="phrase"):
        actions.assign_task(db_session, actor=therapist, client=client_record, kind="mit_practice", title="x",
                            days_per_week=3, minutes=5, ratings=[], phrase_id=999_999, mit_level=1)
