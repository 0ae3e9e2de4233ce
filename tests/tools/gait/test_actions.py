"""The gait workflow both faces call: analysis, then (with a session) the stored cadence and its audit rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent
from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.imu import ImuRecording
from cadenza.tools.gait import actions


@pytest.fixture
def walk(rng, make_lower_back, make_walk) -> ImuRecording:
    """24 steps 0.6 s apart (100 steps/min) at the lower back, with a loader's note."""
    ic = make_walk(start_s=2.0, n_steps=24, step_s=0.6, rng=rng)
    acc = make_lower_back(ic, duration_s=19.0, sampling_rate_hz=100, rng=rng)
    return ImuRecording(acc_m_s2=acc, sampling_rate_hz=100.0, source="walk.csv", notes=("loader note",))


def _session(db_session, therapist, client_id: int):
    return service.record_session(db_session, actor=therapist, client_id=client_id, session_date=dt.date(2026, 11, 25),
                                  minutes=30, intervention_code="ras_gait_training")


def _audit_rows_after(db_session, last: int) -> list[tuple]:
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id))
    return [(row.action, row.entity, row.client_id) for row in rows]


def test_analyse_walk_touches_no_record_and_keeps_the_loaders_notes_first(walk):
    report = actions.analyse_walk(walk, placement="lower-back")
    assert report.stored is None
    assert report.analysis.overall_cadence_spm() == pytest.approx(100, abs=1.5)
    assert report.notes[0] == "loader note" and report.notes[1:] == report.analysis.notes


def test_bad_placement_is_a_parameter_error(walk):
    with pytest.raises(ParameterError, match="placement"):
        actions.analyse_walk(walk, placement="wrist")


@pytest.mark.parametrize("face", ["page", "command"])
def test_record_walk_is_audited_the_same_from_both_faces(db_session, therapist, client_record, walk, face):
    """The page names the client, the command only the session: the rows are the same."""
    row = _session(db_session, therapist, client_record.id)
    db_session.commit()
    last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
    client_id = client_record.id if face == "page" else None
    report = actions.record_walk(db_session, actor=therapist, recording=walk, session_id=row.id, client_id=client_id)
    db_session.commit()
    assert report.stored.instrument_code == "cadence" and report.stored.value == pytest.approx(100, abs=1.5)
    assert report.notes[0] == "loader note"
    assert _audit_rows_after(db_session, last) == [("read", "therapy_session", client_record.id),
                                                  ("update", "therapy_session", client_record.id),
                                                  ("create", "measurement", client_record.id)]


def test_a_session_of_another_client_is_refused(db_session, therapist, client_record, walk):
    other = service.create_client(db_session, actor=therapist, code="G.OTHER")
    row = _session(db_session, therapist, other.id)
    with pytest.raises(ParameterError, match="not a session of client"):
        actions.record_walk(db_session, actor=therapist, recording=walk, session_id=row.id, client_id=client_record.id)
    assert service.list_measurements(db_session, actor=therapist, client_id=other.id) == []


def test_another_therapists_session_is_not_found(db_session, therapist, client_record, make_therapist, walk):
    row = _session(db_session, therapist, client_record.id)
    with pytest.raises(NotFoundError):
        actions.record_walk(db_session, actor=make_therapist("other"), recording=walk, session_id=row.id)


def test_a_walk_without_a_confident_bout_stores_nothing(db_session, therapist, client_record, rng, make_lower_back,
                                                       make_walk):
    ic = make_walk(start_s=2.0, n_steps=5, step_s=0.6, rng=rng)
    short = ImuRecording(acc_m_s2=make_lower_back(ic, duration_s=8, sampling_rate_hz=100, rng=rng),
                         sampling_rate_hz=100.0)
    row = _session(db_session, therapist, client_record.id)
    with pytest.raises(ParameterError, match="fewer than 8 steps"):
        actions.record_walk(db_session, actor=therapist, recording=short, session_id=row.id)
    assert np.isnan(actions.analyse_walk(short).analysis.overall_cadence_spm())


def test_analyse_freezes_touches_no_record_and_names_its_method(rng):
    from cadenza.errors import ParameterError
    from cadenza.tools.gait.actions import analyse_freezes

    fs = 64.0
    t = np.arange(int(60 * fs)) / fs
    acc = np.vstack([2 * np.sin(2 * np.pi * t), 9.81 + 3 * np.sin(2 * np.pi * 2 * t), 0 * t])
    report = analyse_freezes({"shank": acc, "thigh": acc}, sampling_rate_hz=fs, method="freeze-index")
    assert report.placements == ("shank",) and report.to_dict()["episode_count"] == 0
    assert analyse_freezes({"thigh": acc}, sampling_rate_hz=fs).placements == ("thigh",)
    with pytest.raises(ParameterError, match="method"):
        analyse_freezes({"shank": acc}, sampling_rate_hz=fs, method="magic")
