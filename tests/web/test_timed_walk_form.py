"""Clinical review H2 on the session form: a timed walk is entered as the walk time over the timed
distance (prefilled 6 m, the middle of the 10-metre walk test) or as a speed, and the distance is stored
and shown next to the result."""

from __future__ import annotations

from sqlalchemy import select

from cadenza.clinic.models import Measurement


def _post(browser, web, path, data):
    return browser.post(path, data={"csrf_token": web.page_csrf(browser, path), **data})


def _new_client(browser, web):
    response = _post(browser, web, "/clients/new", {"code": "W001", "birth_year": "1950", "conditions": "stroke"})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


SESSION = {"session_date": "2026-11-20", "minutes": "30", "intervention_code": "ras_gait_training"}


def test_h2_session_form_times_the_middle_six_metres(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    form = ann.get(f"/clients/{client_id}/sessions/new")
    assert 'name="gait_speed.timed_distance_m" type="text" value="6"' in form.text
    assert "middle 6 m" in form.text
    response = _post(ann, web, f"/clients/{client_id}/sessions/new",
                     {**SESSION, "gait_speed.walk_time_s": "7", "gait_speed.timed_distance_m": "6"})
    assert response.status_code == 303, response.text
    session_id = int(response.headers["location"].rsplit("/", 1)[1])
    stored = db_session.scalars(select(Measurement).where(Measurement.session_id == session_id)).one()
    assert (stored.value, stored.timed_distance_m) == (0.857, 6.0)  # 6 m / 7 s, not 10 m / 7 s
    detail = ann.get(response.headers["location"])
    assert "0.86 m/s" in detail.text and "timed over 6 m" in detail.text
    assert "timed over 6 m" in ann.get(f"/clients/{client_id}").text


def test_h2_a_typed_speed_keeps_its_distance_and_both_at_once_is_refused(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    both = _post(ann, web, f"/clients/{client_id}/sessions/new",
                 {**SESSION, "gait_speed.walk_time_s": "7", "gait_speed.value": "0.9"})
    assert both.status_code == 422 and "not both" in both.text
    bad = _post(ann, web, f"/clients/{client_id}/sessions/new",
                {**SESSION, "gait_speed.value": "0.9", "gait_speed.timed_distance_m": "500"})
    assert bad.status_code == 422 and "timed_distance_m" in bad.text
    ok = _post(ann, web, f"/clients/{client_id}/sessions/new",
               {**SESSION, "gait_speed.value": "1.1", "gait_speed.timed_distance_m": "10"})
    assert ok.status_code == 303, ok.text
    session_id = int(ok.headers["location"].rsplit("/", 1)[1])
    stored = db_session.scalars(select(Measurement).where(Measurement.session_id == session_id)).one()
    assert (stored.value, stored.timed_distance_m) == (1.1, 10.0)
