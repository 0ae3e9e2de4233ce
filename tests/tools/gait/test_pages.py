import datetime as dt

import numpy as np

from cadenza.io.imu import save_imu_csv


def _setup(db_session, gait_web):
    from cadenza.clinic import service

    client, make_user, log_in, csrf = gait_web
    ana = make_user("ana")
    record = service.create_client(db_session, actor=ana, code="G1")
    session = service.record_session(db_session, actor=ana, client_id=record.id, session_date=dt.date(2026, 11, 25),
                                     minutes=30, intervention_code="ras_gait_training")
    db_session.commit()
    log_in(client, "ana")
    return client, make_user, log_in, csrf, ana, record, session


def _csv_bytes(tmp_path, rng, make_lower_back, make_walk) -> bytes:
    ic = make_walk(start_s=2.0, n_steps=24, step_s=0.6, rng=rng)
    acc = make_lower_back(ic, duration_s=19.0, sampling_rate_hz=100, rng=rng)
    return save_imu_csv(tmp_path / "walk.csv", acc, sampling_rate_hz=100).read_bytes()


def test_upload_analyse_and_store(db_session, gait_web, tmp_path, rng, make_lower_back, make_walk):
    from cadenza.clinic import service

    client, _, _, csrf, ana, record, session = _setup(db_session, gait_web)
    page = client.get(f"/clients/{record.id}/gait")
    assert page.status_code == 200 and "Analyse a recording" in page.text
    token = csrf(client, f"/clients/{record.id}/gait")
    response = client.post(
        f"/clients/{record.id}/gait",
        data={"csrf_token": token, "placement": "lower-back", "session_id": str(session.id)},
        files={"recording": ("walk.csv", _csv_bytes(tmp_path, rng, make_lower_back, make_walk), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert "1 walking bout(s)" in response.text and "100.0" in response.text
    stored = service.list_measurements(db_session, actor=ana, client_id=record.id, instrument_code="cadence")
    assert len(stored) == 1 and abs(stored[0].value - 100) < 1


def test_bad_upload_is_a_form_error(db_session, gait_web):
    client, _, _, csrf, _, record, _ = _setup(db_session, gait_web)
    token = csrf(client, f"/clients/{record.id}/gait")
    response = client.post(
        f"/clients/{record.id}/gait",
        data={"csrf_token": token, "placement": "lower-back"},
        files={"recording": ("x.csv", b"a,b,c\n1,2,3\n4,5,6\n", "text/csv")},
    )
    assert response.status_code == 422 and "no acceleration" in response.text


def test_other_therapists_client_is_not_found(db_session, gait_web, tmp_path, rng, make_lower_back, make_walk):
    client, make_user, log_in, csrf, _, record, _ = _setup(db_session, gait_web)
    make_user("bo")
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    log_in(client, "bo")
    assert client.get(f"/clients/{record.id}/gait").status_code == 404


def test_insole_upload_stores_stride_time_cv_and_swing_asymmetry(db_session, gait_web, rng, make_insole_walk):
    from cadenza.clinic import service

    client, _, _, csrf, ana, record, session = _setup(db_session, gait_web)
    hs_l = np.arange(1.0, 30.0, 1.1)
    left, right = make_insole_walk(hs_l, hs_l + 0.5, stance_s=(0.7, 0.62), duration_s=31, rng=rng)
    rows = "\n".join(f"{i / 100:.2f},{a:.1f},{b:.1f}" for i, (a, b) in enumerate(zip(left, right, strict=True)))
    token = csrf(client, f"/clients/{record.id}/gait")
    response = client.post(
        f"/clients/{record.id}/gait",
        data={"csrf_token": token, "placement": "insole", "session_id": str(session.id)},
        files={"recording": ("insoles.csv", ("time_s,left_force_n,right_force_n\n" + rows).encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert "Swing asymmetry" in response.text and "Yogev" in response.text
    stored = {m.instrument_code: m.value for m in service.list_measurements(db_session, actor=ana, client_id=record.id)}
    assert set(stored) == {"stride_time_cv", "swing_asymmetry"} and abs(stored["swing_asymmetry"] - 18.2) < 2.5
    bad = client.post(f"/clients/{record.id}/gait", data={"csrf_token": token, "placement": "insole"},
                      files={"recording": ("x.csv", b"time_s,left_force_n\n0,1\n0.01,2\n", "text/csv")})
    assert bad.status_code == 422 and "no right force column" in bad.text
