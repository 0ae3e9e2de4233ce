import datetime as dt

import numpy as np
import pytest

from cadenza.errors import NotFoundError, ParameterError
from cadenza.gait import analyze_gait


@pytest.fixture
def therapy_session(db_session, therapist, client_record):
    from cadenza.clinic import service

    return service.record_session(
        db_session,
        actor=therapist,
        client_id=client_record.id,
        session_date=dt.date(2026, 11, 25),
        minutes=30,
        intervention_code="ras_gait_training",
    )


def test_cadence_and_speed_stored_as_measurements_and_m5_step_time_asymmetry_too(
    db_session, therapist, client_record, therapy_session, rng, make_lower_back, make_walk
):
    from cadenza.clinic import service
    from cadenza.tools.gait.records import store_gait_cadence, store_timed_walk

    ic = np.concatenate([make_walk(start_s=2.0, n_steps=20, step_s=0.6, rng=rng),
                         make_walk(start_s=20.0, n_steps=5, step_s=0.4, rng=rng)])
    analysis = analyze_gait(make_lower_back(ic, duration_s=25, sampling_rate_hz=100, rng=rng), sampling_rate_hz=100)
    cadence = store_gait_cadence(db_session, actor=therapist, session_id=therapy_session.id, analysis=analysis)
    # The 5-step bout (low confidence, 150 spm) is left out: the stored figure is the long bout's.
    assert cadence.instrument_code == "cadence" and cadence.value == pytest.approx(100, abs=1)
    speed = store_timed_walk(db_session, actor=therapist, session_id=therapy_session.id, distance_m=10, duration_s=8)
    assert speed.value == 1.25 and speed.unit == "m/s" and speed.timed_distance_m == 10
    stored = service.list_measurements(db_session, actor=therapist, client_id=client_record.id)
    assert {m.instrument_code for m in stored} == {"cadence", "gait_speed"}
    _check_m5_asymmetry(db_session, therapist, client_record, therapy_session)


def test_nothing_stored_without_a_confident_bout(db_session, therapist, therapy_session, rng, make_lower_back, make_walk):
    from cadenza.tools.gait.records import store_gait_cadence

    ic = make_walk(start_s=2.0, n_steps=5, step_s=0.6, rng=rng)
    analysis = analyze_gait(make_lower_back(ic, duration_s=8, sampling_rate_hz=100, rng=rng), sampling_rate_hz=100)
    with pytest.raises(ParameterError, match="fewer than 8 steps"):
        store_gait_cadence(db_session, actor=therapist, session_id=therapy_session.id, analysis=analysis)
    stored = store_gait_cadence(
        db_session, actor=therapist, session_id=therapy_session.id, analysis=analysis, include_low_confidence=True
    )
    assert stored.value == pytest.approx(100, abs=1.5)


def test_other_therapists_session_is_not_found(db_session, make_therapist, therapy_session):
    from cadenza.tools.gait.records import store_timed_walk

    other = make_therapist("other")
    with pytest.raises(NotFoundError):
        store_timed_walk(db_session, actor=other, session_id=therapy_session.id, distance_m=10, duration_s=9)


def test_bad_walk_time(db_session, therapist, therapy_session):
    from cadenza.tools.gait.records import store_timed_walk

    with pytest.raises(ParameterError, match="duration_s"):
        store_timed_walk(db_session, actor=therapist, session_id=therapy_session.id, distance_m=10, duration_s=-1)


def test_h2_timed_walk_stores_the_middle_six_metres_by_default(db_session, therapist, therapy_session):
    from cadenza.tools.gait.records import store_timed_walk

    speed = store_timed_walk(db_session, actor=therapist, session_id=therapy_session.id, duration_s=7)
    assert (speed.value, speed.timed_distance_m) == (0.857, 6.0)


def test_insole_walk_stores_stride_time_cv_and_swing_asymmetry_with_goals(
    db_session, therapist, client_record, therapy_session, rng, make_insole_walk
):
    from cadenza.clinic import service
    from cadenza.gait.insole import analyze_insoles
    from cadenza.tools.gait.records import store_insole_measures

    hs_l = np.arange(1.0, 30.0, 1.1)
    left, right = make_insole_walk(hs_l, hs_l + 0.5, stance_s=(0.7, 0.62), duration_s=31, rng=rng)
    gait = analyze_insoles(left, right, sampling_rate_hz=100)
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id,
                               instrument_code="swing_asymmetry", baseline=20, target=8)
    stored = store_insole_measures(db_session, actor=therapist, session_id=therapy_session.id, gait=gait,
                                   goal_ids={"swing_asymmetry": goal.id})
    by_code = {m.instrument_code: m for m in stored}
    assert set(by_code) == {"stride_time_cv", "swing_asymmetry"}
    assert by_code["swing_asymmetry"].goal_id == goal.id and by_code["swing_asymmetry"].unit == "%"
    assert by_code["swing_asymmetry"].value == pytest.approx(100 * np.log(0.48 / 0.40), abs=2.5)
    assert by_code["stride_time_cv"].value < 1.0
    few = analyze_insoles(left[:300], right[:300], sampling_rate_hz=100)
    with pytest.raises(ParameterError, match="steady strides"):
        store_insole_measures(db_session, actor=therapist, session_id=therapy_session.id, gait=few)
    with pytest.raises(ParameterError, match="goal_ids"):
        store_insole_measures(db_session, actor=therapist, session_id=therapy_session.id, gait=gait, goal_ids={"cadence": 1})


# ---- clinical review M5: step-time asymmetry, recordable with goals, stored by the gait analysis ----

def _bout(asymmetry, n_steps, flags=()):
    from cadenza.gait.analysis import GaitBout

    return GaitBout(start_s=0.0, end_s=n_steps * 0.6, ic_times_s=np.arange(n_steps + 1) * 0.6, n_steps=n_steps,
                    cadence_spm=100.0, step_time_cv=0.02, asymmetry=asymmetry, flags=flags)


def _check_m5_asymmetry(db_session, therapist, client_record, therapy_session):
    """Clinical review M5: step-time asymmetry (%) is recordable, stored by the analysis, and can be a goal."""
    from cadenza.clinic import service
    from cadenza.clinic.instruments import get_instrument, list_instruments
    from cadenza.gait.analysis import FLAG_LOW_CONFIDENCE, GaitAnalysis
    from cadenza.tools.gait.records import store_gait_asymmetry

    instrument = get_instrument("step_time_asymmetry")
    assert instrument.unit == "%" and instrument.better == "decrease"
    assert "step_time_asymmetry" in {i.code for i in list_instruments()}
    # Known answer: steps-weighted over the confident bouts with sides, (0.10*10 + 0.40*30) / 40 = 0.325;
    # the 5-step bout and the bout without sides are left out.
    analysis = GaitAnalysis(placement="foot", sampling_rate_hz=100.0, duration_s=60.0, ic_times_s=np.empty(0),
                            bouts=(_bout(0.10, 10), _bout(0.40, 30), _bout(0.90, 5, (FLAG_LOW_CONFIDENCE,)),
                                   _bout(float("nan"), 20)))
    assert analysis.overall_step_time_asymmetry() == pytest.approx(0.325)
    stored = store_gait_asymmetry(db_session, actor=therapist, session_id=therapy_session.id, analysis=analysis)
    assert stored.instrument_code == "step_time_asymmetry" and stored.value == 32.5 and stored.unit == "%"
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id,
                               instrument_code="step_time_asymmetry", baseline=32.5, target=10)
    assert goal.direction == "decrease"
    with pytest.raises(ParameterError, match="step_time_asymmetry"):
        service.create_goal(db_session, actor=therapist, client_id=client_record.id,
                            instrument_code="step_time_asymmetry", baseline=32.5, target=140)
    no_sides = GaitAnalysis(placement="lower-back", sampling_rate_hz=100.0, duration_s=20.0, ic_times_s=np.empty(0),
                            bouts=(_bout(float("nan"), 20),))
    assert store_gait_asymmetry(db_session, actor=therapist, session_id=therapy_session.id, analysis=no_sides) is None
